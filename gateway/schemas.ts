/**
 * The HTTP API's schemas. Wire types defined in core (evidence item and record, annotation input,
 * receipt, trust file) are registered as they are and referenced by `$id`; this file only composes
 * the response envelopes around them and the state shapes core declares as TypeScript types
 * (EvidenceState, Annotation, HistoryEntry, ChainInfo). Response schemas are the leak guard: Fastify
 * serialises exactly the properties listed here and nothing else.
 */

import { keyRotationProofsSchema } from '../core/trust-update';
import { DIGEST_PATTERN } from '../core/digest';
import { depositorSchema, evidenceItemSchema, evidenceRecordSchema } from '../core/evidence';
import { annotationInputSchema } from '../core/evidence-state';
import { receiptSchema } from '../core/receipt';
import { trustFileSchema } from '../core/trust';
import {
  newApiKeySchema,
  newPrincipalSchema,
  principalUpdateSchema,
  KEY_ROLES,
} from './auth/api-keys';
import { httpErrorSchema } from './http-errors';

/** Primary digest as it appears in URLs: the chain's key is the sha256 digest. */
export const PRIMARY_DIGEST_PATTERN = '^sha256:[0-9a-f]{64}$';

const ref = (id: string) => ({ $ref: `${id}#` }) as const;

const TX_ID = { type: 'string' } as const;
const TIME = { type: 'string', description: 'chain time, RFC 3339 UTC' } as const;
const INDEX = { type: 'integer', minimum: 0 } as const;
const DIGEST = { type: 'string', pattern: DIGEST_PATTERN } as const;

const placementProperties = {
  txId: TX_ID,
  time: TIME,
  batchRoot: DIGEST,
  leafIndex: INDEX,
  batchSize: { type: 'integer', minimum: 1 },
} as const;
const placementRequired = ['txId', 'time', 'batchRoot', 'leafIndex', 'batchSize'] as const;

export const attestationSchema = {
  $id: 'attestation',
  type: 'object',
  additionalProperties: false,
  required: [...placementRequired, 'record'],
  properties: { ...placementProperties, record: ref('evidence-record') },
} as const;

export const annotationSchema = {
  $id: 'annotation',
  type: 'object',
  additionalProperties: false,
  required: ['kind', 'by', 'txId', 'time'],
  properties: {
    ...annotationInputSchema.properties,
    by: depositorSchema,
    txId: TX_ID,
    time: TIME,
  },
} as const;

export const evidenceStateSchema = {
  $id: 'evidence-state',
  type: 'object',
  additionalProperties: false,
  required: ['type', ...placementRequired, 'record', 'attestations', 'annotations'],
  properties: {
    type: { type: 'string', enum: ['evidence'] },
    ...placementProperties,
    record: ref('evidence-record'),
    attestations: { type: 'array', items: ref('attestation') },
    annotations: { type: 'array', items: ref('annotation') },
  },
} as const;

export const historySchema = {
  $id: 'history',
  type: 'object',
  additionalProperties: false,
  required: ['digest', 'entries'],
  properties: {
    digest: DIGEST,
    entries: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['txId', 'time', 'isDelete', 'value'],
        properties: {
          txId: TX_ID,
          time: TIME,
          isDelete: { type: 'boolean' },
          value: { anyOf: [ref('evidence-state'), { type: 'null' }] },
        },
      },
    },
  },
} as const;

export const chainInfoSchema = {
  $id: 'chain-info',
  type: 'object',
  additionalProperties: false,
  required: ['kind', 'chainId', 'height', 'tipHash', 'tipTime'],
  properties: {
    kind: { type: 'string', enum: ['embedded', 'fabric'] },
    chainId: { type: 'string' },
    height: { type: 'integer', minimum: 0 },
    tipHash: { anyOf: [DIGEST, { type: 'null' }] },
    tipTime: { anyOf: [TIME, { type: 'null' }] },
    promoted: {
      type: 'object',
      description:
        "the node's store was rebuilt from a replica's copy (`evidence-node promote-replica`): " +
        'the copy held `height` blocks with tip `tipHash`; the node signed every block after',
      additionalProperties: false,
      required: ['height', 'tipHash', 'at'],
      properties: {
        height: { type: 'integer', minimum: 1 },
        tipHash: DIGEST,
        at: { type: 'string' },
      },
    },
  },
} as const;

export const DEPOSIT_STATUSES = ['created', 'attested', 'existing'] as const;

export const depositResultSchema = {
  $id: 'deposit-result',
  type: 'object',
  additionalProperties: false,
  required: ['status', 'digest', 'receipt'],
  properties: {
    status: { type: 'string', enum: [...DEPOSIT_STATUSES] },
    digest: DIGEST,
    receipt: ref('receipt'),
  },
} as const;

/** Body of `POST /v1/evidence/batch`; `maxItems` is BATCH_MAX_ITEMS. */
export function batchRequestSchema(maxItems: number) {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['items'],
    properties: {
      items: {
        type: 'array',
        minItems: 1,
        maxItems,
        description:
          'Evidence items (see evidence-item). Each is validated on its own: a bad item yields an ' +
          'error in its result and does not stop the others. Over maxItems: 413 BATCH_TOO_LARGE.',
        // Items are checked one by one in the handler, so one bad item does not fail the request.
        items: {},
      },
    },
  } as const;
}

export const batchResultSchema = {
  $id: 'batch-result',
  type: 'object',
  additionalProperties: false,
  required: ['results'],
  properties: {
    results: {
      type: 'array',
      description:
        'One entry per item, in order: status, digest and receipt (or, with `receipts=none`, the ' +
        'transaction id instead of the receipt), or error.',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['index'],
        properties: {
          index: INDEX,
          status: { type: 'string', enum: [...DEPOSIT_STATUSES] },
          digest: DIGEST,
          receipt: ref('receipt'),
          txId: TX_ID,
          error: {
            type: 'object',
            additionalProperties: false,
            required: ['code', 'message'],
            properties: {
              code: { type: 'string' },
              message: { type: 'string' },
              fields: httpErrorSchema.properties.fields,
            },
          },
        },
      },
    },
  },
} as const;

/** Non-sensitive facts for anyone: no depositor, no commitments. */
export const publicEvidenceSchema = {
  $id: 'public-evidence',
  type: 'object',
  additionalProperties: false,
  required: ['digest', 'onChain', 'time', 'txId', 'chainId', 'attestations'],
  properties: {
    digest: DIGEST,
    onChain: { type: 'boolean', enum: [true] },
    time: TIME,
    txId: TX_ID,
    chainId: { type: 'string' },
    attestations: { type: 'integer', minimum: 0 },
  },
} as const;

/** A principal as administrators see it: never the API key or its hash. */
export const principalInfoSchema = {
  $id: 'principal-info',
  type: 'object',
  additionalProperties: false,
  required: ['id', 'org', 'account', 'role', 'apiKey', 'createdAt'],
  properties: {
    id: { type: 'string' },
    org: { type: 'string' },
    account: { type: 'string' },
    role: { type: 'string', enum: [...KEY_ROLES] },
    apiKey: { type: 'boolean', description: 'whether the principal has an API key' },
    publicKey: {
      type: 'object',
      additionalProperties: false,
      required: ['algorithm', 'keyId', 'key'],
      properties: {
        algorithm: { type: 'string' },
        keyId: { type: 'string', description: 'what x-evidence-key-id names' },
        key: { type: 'string', description: 'SPKI DER, base64' },
        userId: { type: 'string', description: 'SM2 signer ID' },
      },
    },
    tlsFingerprint: { type: 'string' },
    requireSignature: { type: 'boolean' },
    createdAt: { type: 'string' },
    updatedAt: { type: 'string' },
    keyRotatedAt: { type: 'string' },
    revokedAt: { type: 'string' },
  },
} as const;

export const apiKeyInfoSchema = {
  $id: 'api-key-info',
  type: 'object',
  additionalProperties: false,
  required: ['id', 'org', 'account', 'role', 'createdAt'],
  properties: {
    id: { type: 'string' },
    org: { type: 'string' },
    account: { type: 'string' },
    role: { type: 'string', enum: [...KEY_ROLES] },
    createdAt: { type: 'string' },
    revokedAt: { type: 'string' },
  },
} as const;

export const createdApiKeySchema = {
  $id: 'created-api-key',
  type: 'object',
  additionalProperties: false,
  required: ['id', 'key', 'org', 'account', 'role'],
  properties: {
    id: { type: 'string' },
    key: { type: 'string', description: 'the API key; shown once, never stored' },
    org: { type: 'string' },
    account: { type: 'string' },
    role: { type: 'string', enum: [...KEY_ROLES] },
  },
} as const;

export const digestParamsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['digest'],
  properties: { digest: { type: 'string', pattern: PRIMARY_DIGEST_PATTERN } },
} as const;

/** Every shared schema, registered once with `addSchema` in dependency order. */
export const SHARED_SCHEMAS: readonly object[] = [
  httpErrorSchema,
  evidenceItemSchema,
  evidenceRecordSchema,
  annotationInputSchema,
  receiptSchema,
  trustFileSchema,
  keyRotationProofsSchema,
  attestationSchema,
  annotationSchema,
  evidenceStateSchema,
  historySchema,
  chainInfoSchema,
  depositResultSchema,
  batchResultSchema,
  publicEvidenceSchema,
  apiKeyInfoSchema,
  createdApiKeySchema,
  newApiKeySchema,
  principalInfoSchema,
  newPrincipalSchema,
  principalUpdateSchema,
];

/** `$ref` to a shared schema by `$id`. */
export { ref as schemaRef };

/** Error responses every route declares (documentation, and the serialiser of error bodies). */
/** A query parameter holding a position (a block number, an audit sequence): decimal, no sign. */
export const POSITION_QUERY = { type: 'string', pattern: '^(0|[1-9][0-9]{0,14})$' } as const;

export const ERROR_RESPONSES = {
  '4xx': ref('http-error'),
  '5xx': ref('http-error'),
} as const;

/**
 * Route-schema key of a route whose request body may be left out: the route reads none as `{}`.
 * @fastify/swagger lists every request body as required; `withOptionalBodies`
 * (openapi-document.ts) lists the bodies of the routes marked with this key as optional.
 */
export const OPTIONAL_BODY = 'x-optional-body';

/**
 * `preValidation` of a route marked {@link OPTIONAL_BODY}: a request without a body is read as `{}`.
 * A body that is there is validated as it is (`null` is not an object, and is refused).
 */
export async function noBodyAsEmpty(request: { body: unknown }): Promise<void> {
  if (request.body === undefined) request.body = {};
}

declare module 'fastify' {
  interface FastifySchema {
    readonly [OPTIONAL_BODY]?: true;
  }
}
