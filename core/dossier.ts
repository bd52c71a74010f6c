/**
 * The compliance dossier: what a node says about itself so that a court can examine the platform
 * (Online Litigation Rules art. 17 lets the platform itself be examined): who runs the node and
 * the chain, which algorithms and standards it uses and where, which software (version and code
 * digest), the state of its chain, its anchor targets and their last anchor, and a summary of its
 * audit log. The gateway produces it as JSON (`GET /v1/admin/dossier`); documents/dossier.ts
 * renders it; `evidence dossier` fetches, validates and renders or saves it.
 *
 * Pure: the schema and its types, shared by the gateway (which must not import the CLI) and the
 * renderers.
 */

import type { KnownAlgorithm } from './algorithms';
import type { PinnedKeyAlgorithm } from './signature';
import { SIGNATURE_ALGORITHMS } from './block';
import type { Digest } from './digest';
import { validateOrThrow } from './schema';
import { CHAIN_ID_PATTERN } from './trust';

export { KNOWN_ALGORITHMS, knownSignatureAlgorithm, type KnownAlgorithm } from './algorithms';

export const DOSSIER_TYPE = 'judicial-evidence-compliance-dossier';

export const ORGANISATION_ROLES = [
  'operator',
  'court',
  'notary',
  'appraisal',
  'platform',
  'anchor-operator',
  'other',
] as const;
export type OrganisationRole = (typeof ORGANISATION_ROLES)[number];

export interface DossierOrganisation {
  readonly name: string;
  readonly role: OrganisationRole;
  /** Fabric MSP id, when the organisation runs Fabric nodes. */
  readonly mspId?: string;
  /** Unified social credit code (统一社会信用代码, GB 32100-2015), 18 characters. */
  readonly creditCode?: string;
}

export interface DossierKey {
  readonly keyId: Digest;
  readonly algorithm: PinnedKeyAlgorithm;
  readonly notBefore?: string;
  readonly notAfter?: string;
}

export interface DossierNode {
  readonly name: string;
  readonly chainId: string;
  readonly ledger: 'embedded' | 'fabric';
  readonly url?: string;
  /** Keys the node signs blocks with (embedded ledger), as its trust file pins them. */
  readonly keys: readonly DossierKey[];
}

export interface DossierAlgorithm extends KnownAlgorithm {
  /** False for algorithms the software supports but this node does not use. */
  readonly inUse: boolean;
}

export interface DossierSoftware {
  readonly name: string;
  readonly version: string;
  /**
   * Fingerprint of the compiled code: the gateway gives `buildCodeDigest` of its whole build folder
   * (documents/code-digest.ts documents the recipe).
   */
  readonly codeDigest?: Digest;
  readonly node?: string;
  readonly openssl?: string;
  readonly fabric?: string;
}

export interface DossierChain {
  readonly chainId: string;
  /** Number of blocks (the next block number). */
  readonly height: number;
  readonly tipHash: Digest;
  readonly tipTime?: string;
  /** Evidence records (distinct primary digests); absent when the ledger cannot count them. */
  readonly records?: number;
  /** True when counting stopped at a bound: `records` is then a lower bound. */
  readonly recordsLowerBound?: true;
  readonly transactions?: number;
  /**
   * The node's store was rebuilt from a replica's copy holding `height` blocks (tip `tipHash`)
   * at `at`: the node signed every block after.
   */
  readonly promoted?: { readonly height: number; readonly tipHash: Digest; readonly at: string };
  /**
   * The node holds proof that the chain's key signed two different blocks at height `block`
   * (seen `detectedAt`); `GET /v1/forks` serves the proof.
   */
  readonly forked?: { readonly block: number; readonly detectedAt: string };
}

export interface DossierAnchorTarget {
  /** The target's name in the node's configuration. */
  readonly name?: string;
  /** The chain the anchors are on; unknown until the first anchor. One of the two is given. */
  readonly targetChainId?: string;
  readonly description?: string;
  readonly intervalSeconds?: number;
  /** The latest anchor, absent when none has been made yet. */
  readonly lastAnchor?: {
    readonly evidenceBlock: number;
    readonly evidenceBlockHash?: Digest;
    readonly targetBlock?: number;
    readonly txId?: string;
    readonly time: string;
  };
}

export interface DossierAudit {
  readonly from?: string;
  readonly to?: string;
  readonly entries: number;
  /** Entries per action, e.g. `{ deposit: 120, annotate: 3 }`. */
  readonly byAction?: Readonly<Record<string, number>>;
  /** Refused or failed requests among the entries. */
  readonly failures?: number;
  /** Digest of the last audit entry (the head of the hash-chained log), when the log is chained. */
  readonly headDigest?: Digest;
}

/** The node keeps no audit log. */
export interface DossierAuditNotConfigured {
  readonly configured: false;
}

/** How the node is backed up (gateway/backup.ts): the policy and the last backup taken. */
export interface DossierBackups {
  /** How often the node takes a backup itself; absent when only on request. */
  readonly intervalSeconds?: number;
  /** How many completed backups it keeps; absent when it keeps all. */
  readonly keep?: number;
  /** Completed backups in the backup folder now. */
  readonly completed: number;
  /**
   * The newest completed backup: when it finished and, when it holds the node's own ledger, the
   * chain in it (blocks, blocks verified in the copy, tip).
   */
  readonly last?: {
    readonly finishedAt: string;
    readonly height?: number;
    readonly verifiedBlocks?: number;
    readonly tipHash?: Digest;
  };
}

/** The node takes no backups (no backup directory). */
export interface DossierBackupsNotConfigured {
  readonly configured: false;
}

export interface ComplianceDossier {
  readonly type: typeof DOSSIER_TYPE;
  readonly version: 1;
  /** RFC 3339; also the PDF's creation date, so a dossier renders to the same bytes every time. */
  readonly generatedAt: string;
  readonly node: DossierNode;
  readonly organisations: readonly DossierOrganisation[];
  readonly algorithms: readonly DossierAlgorithm[];
  readonly software: DossierSoftware;
  readonly chain: DossierChain;
  readonly anchors: readonly DossierAnchorTarget[];
  readonly audit: DossierAudit | DossierAuditNotConfigured;
  /** Backups: added to version 1 as an optional part (dossiers of earlier nodes have none). */
  readonly backups?: DossierBackups | DossierBackupsNotConfigured;
}

const TIME = {
  type: 'string',
  pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?Z$',
} as const;
const SHA256 = { type: 'string', pattern: '^sha256:[0-9a-f]{64}$' } as const;
const COUNT = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const;
const TEXT = (max: number) => ({ type: 'string', minLength: 1, maxLength: max }) as const;
const CHAIN_ID = { type: 'string', pattern: CHAIN_ID_PATTERN } as const;
const TARGET_NAME = TEXT(128);
/** A part the node does not have (no audit log, no backups). */
const NOT_CONFIGURED = {
  type: 'object',
  additionalProperties: false,
  required: ['configured'],
  properties: { configured: { const: false } },
} as const;

export const complianceDossierSchema = {
  $id: 'compliance-dossier',
  type: 'object',
  additionalProperties: false,
  required: [
    'type',
    'version',
    'generatedAt',
    'node',
    'organisations',
    'algorithms',
    'software',
    'chain',
    'anchors',
    'audit',
  ],
  properties: {
    type: { const: DOSSIER_TYPE },
    version: { const: 1 },
    generatedAt: TIME,
    node: {
      type: 'object',
      additionalProperties: false,
      required: ['name', 'chainId', 'ledger', 'keys'],
      properties: {
        name: TEXT(200),
        chainId: { type: 'string', pattern: CHAIN_ID_PATTERN },
        ledger: { enum: ['embedded', 'fabric'] },
        url: TEXT(500),
        keys: {
          type: 'array',
          maxItems: 64,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['keyId', 'algorithm'],
            properties: {
              keyId: SHA256,
              algorithm: { enum: [...SIGNATURE_ALGORITHMS] },
              notBefore: TIME,
              notAfter: TIME,
            },
          },
        },
      },
    },
    organisations: {
      type: 'array',
      maxItems: 64,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'role'],
        properties: {
          name: TEXT(200),
          role: { enum: [...ORGANISATION_ROLES] },
          mspId: TEXT(128),
          creditCode: {
            type: 'string',
            pattern: '^[0-9A-HJ-NPQRTUWXY]{2}\\d{6}[0-9A-HJ-NPQRTUWXY]{10}$',
          },
        },
      },
    },
    algorithms: {
      type: 'array',
      maxItems: 32,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'name', 'standard', 'purpose', 'inUse'],
        properties: {
          id: TEXT(64),
          name: TEXT(100),
          standard: TEXT(200),
          purpose: TEXT(300),
          inUse: { type: 'boolean' },
        },
      },
    },
    software: {
      type: 'object',
      additionalProperties: false,
      required: ['name', 'version'],
      properties: {
        name: TEXT(100),
        version: TEXT(64),
        codeDigest: SHA256,
        node: TEXT(64),
        openssl: TEXT(64),
        fabric: TEXT(64),
      },
    },
    chain: {
      type: 'object',
      additionalProperties: false,
      required: ['chainId', 'height', 'tipHash'],
      properties: {
        chainId: { type: 'string', pattern: CHAIN_ID_PATTERN },
        height: COUNT,
        tipHash: SHA256,
        tipTime: TIME,
        records: COUNT,
        recordsLowerBound: { const: true },
        transactions: COUNT,
        promoted: {
          type: 'object',
          additionalProperties: false,
          required: ['height', 'tipHash', 'at'],
          properties: { height: COUNT, tipHash: SHA256, at: TIME },
        },
        forked: {
          type: 'object',
          additionalProperties: false,
          required: ['block', 'detectedAt'],
          properties: { block: COUNT, detectedAt: TIME },
        },
      },
    },
    anchors: {
      type: 'array',
      maxItems: 16,
      items: {
        type: 'object',
        additionalProperties: false,
        anyOf: [
          { required: ['targetChainId'], properties: { targetChainId: CHAIN_ID } },
          { required: ['name'], properties: { name: TARGET_NAME } },
        ],
        properties: {
          name: TARGET_NAME,
          targetChainId: CHAIN_ID,
          description: TEXT(300),
          intervalSeconds: COUNT,
          lastAnchor: {
            type: 'object',
            additionalProperties: false,
            required: ['evidenceBlock', 'time'],
            properties: {
              evidenceBlock: COUNT,
              evidenceBlockHash: SHA256,
              targetBlock: COUNT,
              txId: TEXT(128),
              time: TIME,
            },
          },
        },
      },
    },
    audit: {
      oneOf: [
        NOT_CONFIGURED,
        {
          type: 'object',
          additionalProperties: false,
          required: ['entries'],
          properties: {
            from: TIME,
            to: TIME,
            entries: COUNT,
            byAction: {
              type: 'object',
              maxProperties: 64,
              propertyNames: { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,64}$' },
              additionalProperties: COUNT,
            },
            failures: COUNT,
            headDigest: SHA256,
          },
        },
      ],
    },
    backups: {
      oneOf: [
        NOT_CONFIGURED,
        {
          type: 'object',
          additionalProperties: false,
          required: ['completed'],
          properties: {
            intervalSeconds: COUNT,
            keep: COUNT,
            completed: COUNT,
            last: {
              type: 'object',
              additionalProperties: false,
              required: ['finishedAt'],
              properties: {
                finishedAt: TIME,
                height: COUNT,
                verifiedBlocks: COUNT,
                tipHash: SHA256,
              },
            },
          },
        },
      ],
    },
  },
} as const;

/**
 * Checks a parsed compliance dossier.
 * @throws ValidationError `VALIDATION_FAILED` naming every bad field.
 */
export function parseComplianceDossier(value: unknown): ComplianceDossier {
  return validateOrThrow<ComplianceDossier>(complianceDossierSchema, value, 'compliance dossier');
}
