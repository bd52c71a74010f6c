/**
 * The node's compliance dossier (core/dossier.ts): what it says about itself for a court examining
 * the platform, assembled from its configuration, its ledger, its anchoring status and its audit
 * log. Everything here is the node's own statement; a court cross-checks the digests and keys
 * against trust files, receipts and the public verification page.
 *
 * - node and organisations: the configured name and organisation, the chain and the keys the
 *   node's trust file pins;
 * - algorithms: core's list of algorithms and standards, each marked in use or not on this node;
 * - software: the package version, the Node.js and OpenSSL versions, and `buildCodeDigest` of the
 *   build folder the node runs from (documents/code-digest.ts; absent when run from sources);
 * - chain: height and tip from the ledger; evidence records counted by a bounded keys-only scan of
 *   world state (`RECORD_COUNT_LIMIT`; beyond it the count is marked as a lower bound); whether
 *   the node's store was rebuilt from a replica, and whether it holds proof of a fork;
 * - anchors: each anchoring target with its last anchor (empty without targets);
 * - audit: the retained span of the hash-chained audit log and its head, or `configured: false`.
 */

import { evidenceKey } from '../chaincode/evidence-contract';
import type { Digest } from '../core/digest';
import type { ForkProof } from '../core/fork';
import {
  DOSSIER_TYPE,
  KNOWN_ALGORITHMS,
  knownSignatureAlgorithm,
  type ComplianceDossier,
  type DossierAnchorTarget,
  type DossierAudit,
  type DossierAuditNotConfigured,
  type DossierBackups,
  type DossierBackupsNotConfigured,
  type DossierChain,
} from '../core/dossier';
import { LedgerError } from '../core/errors';
import { buildCodeDigest, runningDistDir } from '../documents/code-digest';
import { softwareVersion } from '../documents/software';
import type { AnchoringStatus } from './anchoring/anchoring';
import type { AuditLog } from './audit/audit-log';
import type { Config } from './config';
import type { Ledger } from './ledger/ledger';

/** Most world-state keys one dossier scans to count evidence records. */
export const RECORD_COUNT_LIMIT = 1_000_000;

/** World-state keys of evidence records start with this (chaincode/evidence-contract.ts). */
const EVIDENCE_PREFIX = evidenceKey('sha256:');

/** Algorithms every node uses, whatever its ledger: digests, Merkle trees, canonical JSON. */
const ALWAYS_IN_USE: readonly string[] = ['sha256', 'sm3', 'merkle', 'canonical-json'];

export interface DossierSources {
  readonly config: Pick<Config, 'org' | 'nodeName' | 'publicUrl'>;
  readonly ledger: Ledger;
  /** The anchoring job's status; without it the dossier lists no anchor target. */
  readonly anchoring?: () => Promise<AnchoringStatus>;
  /** The audit log; without it the dossier says it is not configured. */
  readonly audit?: AuditLog;
  /** The backup policy and the last backup (gateway/backup.ts); without it, not configured. */
  readonly backups?: () => Promise<DossierBackups | DossierBackupsNotConfigured>;
  /** The proof the node holds that its chain signed two histories (replica/forks.ts), if any. */
  readonly fork?: () => ForkProof | null;
  /** The build folder to fingerprint; default the one this code runs from, if any. */
  readonly distDir?: string;
  readonly now?: () => Date;
}

export interface DossierBuilder {
  /**
   * The dossier as of now.
   * @throws LedgerError `LEDGER_UNAVAILABLE` when the chain has no block yet, and whatever the
   *   ledger or the audit log throws.
   */
  build(): Promise<ComplianceDossier>;
}

/** The node's name as printed on certificates and in the dossier. */
export function nodeNameOf(config: Pick<Config, 'org' | 'nodeName'>): string {
  return config.nodeName ?? `${config.org} evidence node`;
}

class DossierBuilderImpl implements DossierBuilder {
  readonly #sources: DossierSources;
  /** The build does not change while the node runs: fingerprinted once. */
  #codeDigest: Promise<Digest | undefined> | undefined;

  constructor(sources: DossierSources) {
    this.#sources = sources;
  }

  async build(): Promise<ComplianceDossier> {
    const { config, ledger } = this.#sources;
    const trust = ledger.trust().chains.find((chain) => chain.chainId === ledger.chainId);
    const keys = trust?.keys ?? [];
    const version = softwareVersion();
    const codeDigest = await this.#buildDigest();
    const [chain, anchoring, audit, backups] = await Promise.all([
      this.#chain(),
      this.#sources.anchoring?.(),
      this.#audit(),
      this.#sources.backups?.() ?? { configured: false as const },
    ]);
    const algorithmsInUse = new Set([
      ...ALWAYS_IN_USE,
      ...keys.map((key) => knownSignatureAlgorithm(key.algorithm)?.id ?? key.algorithm),
      ...(anchoring?.targets.some((target) => target.kind === 'rfc3161') ? ['rfc3161'] : []),
    ]);
    return {
      type: DOSSIER_TYPE,
      version: 1,
      generatedAt: (this.#sources.now?.() ?? new Date()).toISOString(),
      node: {
        name: nodeNameOf(config),
        chainId: ledger.chainId,
        ledger: ledger.kind,
        ...(config.publicUrl !== undefined ? { url: config.publicUrl } : {}),
        keys: keys.map((key) => ({
          keyId: key.keyId,
          algorithm: key.algorithm,
          ...(key.notBefore !== undefined ? { notBefore: key.notBefore } : {}),
          ...(key.notAfter !== undefined ? { notAfter: key.notAfter } : {}),
        })),
      },
      organisations: ledger.isReplica?.()
        ? [
            // A replica describes the chain it keeps: its operator is the source's, and this
            // node holds a checked copy (docs/replicas.md).
            { name: trust?.operator ?? `the source of ${ledger.chainId}`, role: 'operator' },
            {
              name: `${nodeNameOf(config)}: a replica, keeping a checked copy of the chain`,
              role: 'other',
              mspId: config.org,
            },
          ]
        : [{ name: trust?.operator ?? config.org, role: 'operator', mspId: config.org }],
      algorithms: KNOWN_ALGORITHMS.map((algorithm) => ({
        ...algorithm,
        inUse: algorithmsInUse.has(algorithm.id),
      })),
      software: {
        name: version.name,
        version: version.version,
        ...(codeDigest !== undefined ? { codeDigest } : {}),
        node: process.versions.node,
        openssl: process.versions.openssl,
      },
      chain,
      anchors: this.#anchors(anchoring),
      audit,
      backups,
    };
  }

  #buildDigest(): Promise<Digest | undefined> {
    const dist = this.#sources.distDir ?? runningDistDir();
    this.#codeDigest ??=
      dist === undefined
        ? Promise.resolve(undefined)
        : buildCodeDigest(dist).catch((error: unknown) => {
            this.#codeDigest = undefined;
            throw error;
          });
    return this.#codeDigest;
  }

  async #chain(): Promise<DossierChain> {
    const { ledger } = this.#sources;
    const info = await ledger.info();
    const fork = this.#sources.fork?.() ?? null;
    if (info.tipHash === null)
      throw new LedgerError('LEDGER_UNAVAILABLE', 'the chain has no block yet');
    const counted = await ledger.countState?.(EVIDENCE_PREFIX, RECORD_COUNT_LIMIT);
    return {
      chainId: info.chainId,
      height: info.height,
      tipHash: info.tipHash,
      ...(info.tipTime !== null ? { tipTime: info.tipTime } : {}),
      ...(counted !== undefined ? { records: counted.count } : {}),
      ...(counted !== undefined && !counted.complete ? { recordsLowerBound: true as const } : {}),
      ...(info.promoted ? { promoted: info.promoted } : {}),
      ...(fork ? { forked: { block: fork.number, detectedAt: fork.detectedAt } } : {}),
    };
  }

  #anchors(status: AnchoringStatus | undefined): DossierAnchorTarget[] {
    if (!status) return [];
    const intervalSeconds = Math.round(status.intervalMs / 1000);
    return status.targets.map((target): DossierAnchorTarget => {
      const last =
        target.lastAnchoredBlock !== null && target.lastAnchoredAt !== null
          ? { evidenceBlock: target.lastAnchoredBlock, time: target.lastAnchoredAt }
          : undefined;
      return {
        name: target.name,
        ...(target.targetChainId !== null ? { targetChainId: target.targetChainId } : {}),
        description:
          (target.kind === 'rfc3161'
            ? 'rfc3161 可信时间戳机构 trusted time-stamp authority'
            : `${target.kind} 锚定目标 anchor target`) +
          (target.trustPinned ? '' : '（未固定受信任文件 / no trust file pinned）'),
        intervalSeconds,
        ...(last ? { lastAnchor: last } : {}),
      };
    });
  }

  async #audit(): Promise<DossierAudit | DossierAuditNotConfigured> {
    const log = this.#sources.audit;
    if (!log) return { configured: false };
    const { head, anchor } = await log.status();
    const entries = head.seq - anchor.seq;
    if (entries <= 0) return { entries: 0 };
    const [first] = await log.read(anchor.seq + 1, 1);
    const [last] = await log.read(head.seq, 1);
    return {
      ...(first ? { from: first.time } : {}),
      ...(last ? { to: last.time } : {}),
      entries,
      headDigest: head.hash,
    };
  }
}

/** The dossier builder over `sources`. */
export function createDossierBuilder(sources: DossierSources): DossierBuilder {
  return new DossierBuilderImpl(sources);
}
