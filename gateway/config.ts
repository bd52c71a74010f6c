/**
 * The node's configuration: one typed loader, called once by `main`, that validates every setting
 * and reports every bad one at once. Nothing here reads the environment at import time; defaults
 * live in one exported table.
 *
 * Precedence, lowest first: {@link DEFAULT_CONFIG}, the JSON file named by `EVIDENCE_CONFIG`, the
 * environment (`EVIDENCE_*`, and plain `HOST`/`PORT` below their `EVIDENCE_` forms), `overrides`.
 */

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { MAX_ANCHOR_HEADERS } from '../core/anchor';
import { NODE_KEY_ALGORITHMS, type NodeKeyAlgorithm } from '../core/block';
import { MAX_BATCH_RECORDS } from '../core/batch';
import { ValidationError, type FieldError } from '../core/errors';
import { NAME_PATTERN } from '../core/evidence';
import { authorityCertificate } from '../core/timestamp-authority';
import { CHAIN_ID_PATTERN, parseTrustFile, type TrustedKey, type TrustFile } from '../core/trust';

export const LEDGER_KINDS = ['embedded', 'fabric'] as const;
export type LedgerKind = (typeof LEDGER_KINDS)[number];
export const LEDGER_THREADS = ['worker', 'main'] as const;
export type LedgerThread = (typeof LEDGER_THREADS)[number];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const TLS_CLIENT_AUTH = ['optional', 'require'] as const;
export type TlsClientAuth = (typeof TLS_CLIENT_AUTH)[number];

/** Kinds of anchor target this build can submit to (a Fabric target would add `fabric`). */
export const ANCHOR_TARGET_KINDS = ['http', 'rfc3161'] as const;
export type AnchorTargetKind = (typeof ANCHOR_TARGET_KINDS)[number];

/** One chain this node anchors its tip on (docs/anchors.md). */
/** Another node's gateway, whose chain records this chain's tip. */
export interface HttpTargetConfig {
  /** Unique name of the target: in status, logs and metrics. */
  readonly name: string;
  readonly kind: 'http';
  /** Base URL of the target node's gateway, without a trailing slash. */
  readonly url: string;
  /** API key with role `anchor` on the target (read from `apiKeyFile` when that was given). */
  readonly apiKey: string;
}

/**
 * A trusted time-stamp authority (RFC 3161 over HTTP) that stamps this chain's tip hash. Its name
 * is the authority's name in trust files and receipts.
 */
export interface TimestampTargetConfig {
  readonly name: string;
  readonly kind: 'rfc3161';
  /** The authority's RFC 3161 HTTP address. */
  readonly url: string;
  /** The key pinned for it, from its certificate (`certFile`, read at start). */
  readonly key: TrustedKey;
  /** Who runs the authority, for people reading reports. */
  readonly operator?: string;
}

export type AnchorTargetConfig = HttpTargetConfig | TimestampTargetConfig;

export interface Config {
  /** Interface to listen on. */
  readonly host: string;
  /** TCP port; 0 picks a free one. */
  readonly port: number;
  /** Directory of the ledger, the node key and the API keys (absolute after loading). */
  readonly dataDir: string;
  /** The organisation that runs this node; the gateway submits batches as this MSP. */
  readonly org: string;
  /** Chain id; the ledger picks its own default when unset. */
  readonly chainId: string | undefined;
  /** Ledger adapter. Only `embedded` is available in this build. */
  readonly ledger: 'embedded';
  /**
   * Where the embedded ledger runs: `worker`, a thread of its own beside the HTTP thread (chaincode,
   * block signing and LevelDB work off the event loop that answers requests), or `main`, the
   * HTTP thread itself.
   */
  readonly ledgerThread: LedgerThread;
  /**
   * What new node keys sign blocks with: `ed25519` (RFC 8032) or `sm2-sm3` (SM2 with SM3, GB/T
   * 32918 / GM/T 0003, for deployments that must use national cryptography). It sets the first
   * key of a new chain (Ed25519 when unset) and the incoming key of a rotation that names none
   * (the current key's algorithm when unset); a chain's existing key is never changed but by a
   * rotation.
   */
  readonly nodeKeyAlgorithm: NodeKeyAlgorithm | undefined;
  /** Largest accepted request body, in bytes. */
  readonly bodyLimit: number;
  /** Items per `POST /v1/evidence/batch` request. */
  readonly batchMaxItems: number;
  /** Records per ledger transaction (group commit). */
  readonly groupCommitMax: number;
  /** How long the first waiting record may wait for others to join its transaction. */
  readonly groupCommitDelayMs: number;
  /** Deadline of one ledger call. */
  readonly submitTimeoutMs: number;
  readonly logLevel: LogLevel;
  /** The API keys file (absolute after loading). */
  readonly keysFile: string;
  /** The node's name on certificates and in the compliance dossier; default `<org> evidence node`. */
  readonly nodeName: string | undefined;
  /**
   * The node's public base URL (`https://evidence.example-court.cn`): certificates' QR codes open
   * `<publicUrl>/verify?digest=...`; without it they carry the digest itself. Set it rather than
   * trusting a request's Host header, which the client chooses.
   */
  readonly publicUrl: string | undefined;
  /** Longest sleep of the agreement scheduler (it also wakes at each due time and end of grace). */
  readonly agreementCheckIntervalMs: number;
  /** Comment line interval on an idle `GET /v1/agreements/events` stream. */
  readonly agreementEventsHeartbeatMs: number;
  /** Agreement events held in memory for `Last-Event-ID` resumption. */
  readonly agreementEventsBuffer: number;
  /** TLS certificate chain (PEM file); with `tlsKey`, the node serves HTTPS only. */
  readonly tlsCert: string | undefined;
  /** TLS private key (PEM file). */
  readonly tlsKey: string | undefined;
  /** CA (PEM file) of client certificates: enables mutual TLS; certificates map to principals. */
  readonly tlsCa: string | undefined;
  /**
   * Where `POST /v1/admin/backups` writes backups (absolute after loading), outside the data
   * directory, best on another disk; unset, the node takes none (gateway/backup.ts).
   */
  readonly backupDir: string | undefined;
  /** The node takes a backup itself this often (0: only when asked); needs `backupDir`. */
  readonly backupIntervalMs: number;
  /** Completed backups kept in `backupDir`; older ones are deleted after each backup (0: all). */
  readonly backupKeep: number;
  /** With `tlsCa`: `optional` admits clients without a certificate (API keys, signatures). */
  readonly tlsClientAuth: TlsClientAuth;
  /** Requests per principal (per IP when anonymous) in each rate-limit window. */
  readonly rateLimitMax: number;
  readonly rateLimitWindowMs: number;
  /** Longest time to receive a whole request, headers and body (Node `server.requestTimeout`). */
  readonly requestTimeoutMs: number;
  /** Idle socket timeout (Fastify `connectionTimeout`); longer than `submitTimeoutMs`. */
  readonly connectionTimeoutMs: number;
  /** Deposits allowed to wait for the ledger; beyond, `503 OVERLOADED`. */
  readonly maxQueued: number;
  /** Mean event-loop delay above which requests are shed with `503 OVERLOADED` (0: never). */
  readonly maxEventLoopDelayMs: number;
  /** How far a signed request's timestamp may be from the node's clock, either way. */
  readonly signatureWindowMs: number;
  /** Nonces remembered at most; when full, signed requests are refused (`503 OVERLOADED`). */
  readonly nonceCacheMax: number;
  /** Audit entries older than this are pruned (the chain stays verifiable). */
  readonly auditRetentionDays: number;
  /** Chains to anchor this chain's tip on; none by default (the node is not anchored). */
  readonly anchorTargets: readonly AnchorTargetConfig[];
  /** Anchor the tip at least this often (when it moved). */
  readonly anchorIntervalMs: number;
  /** Anchor as soon as this many blocks were added since the last anchor (bounds proof size). */
  readonly anchorEveryBlocks: number;
  /** First retry delay after a failed anchoring; doubles per failure, with jitter. */
  readonly anchorBackoffMinMs: number;
  /** Longest retry delay. */
  readonly anchorBackoffMaxMs: number;
  /** Deadline of one request to a target. */
  readonly anchorTimeoutMs: number;
  /**
   * Base URL of the node whose chain this node keeps a verified copy of (docs/replicas.md); set,
   * the node is a replica: it commits only its source's blocks and refuses every write.
   */
  readonly replicaSource: string | undefined;
  /** The court's pinned trust file for the source's chain, read and checked at start. */
  readonly replicaTrust: TrustFile | undefined;
  /** File holding the API key (role court, auditor or admin) the replica reads blocks with. */
  readonly replicaApiKeyFile: string | undefined;
  /** How often the replica asks its source for new blocks once it has caught up. */
  readonly replicaIntervalMs: number;
  /**
   * Nodes this node tells when it first holds proof that its chain signed two histories
   * (docs/replicas.md): other replicas of the chain, its source's operator's other nodes.
   */
  readonly forkPeers: readonly ForkPeerConfig[];
}

/** A node told of a fork (`POST {url}/v1/forks` with an API key of role court, auditor or admin). */
export interface ForkPeerConfig {
  readonly name: string;
  /** Base URL of its gateway, without a trailing slash. */
  readonly url: string;
  readonly apiKey: string;
}

/** Defaults of every setting; `keysFile` defaults to `<dataDir>/keys.json`. */
export const DEFAULT_CONFIG = {
  host: '127.0.0.1',
  port: 8080,
  dataDir: './data',
  org: 'NodeOrg',
  chainId: undefined,
  ledger: 'embedded',
  ledgerThread: 'worker',
  nodeKeyAlgorithm: undefined,
  bodyLimit: 1_048_576,
  batchMaxItems: 1000,
  groupCommitMax: 1000,
  groupCommitDelayMs: 2,
  submitTimeoutMs: 15_000,
  logLevel: 'info',
  keysFile: undefined,
  nodeName: undefined,
  publicUrl: undefined,
  agreementCheckIntervalMs: 60_000,
  agreementEventsHeartbeatMs: 15_000,
  agreementEventsBuffer: 1000,
  tlsCert: undefined,
  tlsKey: undefined,
  tlsCa: undefined,
  backupDir: undefined,
  backupIntervalMs: 0,
  backupKeep: 0,
  tlsClientAuth: 'optional',
  rateLimitMax: 1000,
  rateLimitWindowMs: 10_000,
  requestTimeoutMs: 30_000,
  connectionTimeoutMs: 60_000,
  maxQueued: 50_000,
  maxEventLoopDelayMs: 1000,
  signatureWindowMs: 300_000,
  nonceCacheMax: 200_000,
  auditRetentionDays: 183,
  anchorTargets: [],
  anchorIntervalMs: 60_000,
  anchorEveryBlocks: 100,
  anchorBackoffMinMs: 1_000,
  anchorBackoffMaxMs: 300_000,
  anchorTimeoutMs: 10_000,
  replicaSource: undefined,
  replicaTrust: undefined,
  replicaApiKeyFile: undefined,
  replicaIntervalMs: 2_000,
  forkPeers: [],
} as const satisfies { readonly [K in keyof Config]: Config[K] | undefined };

type Key = keyof Config;

/** Environment variable of each setting (after the `EVIDENCE_` prefix). */
export const CONFIG_VARIABLES: Readonly<Record<Key, string>> = {
  host: 'HOST',
  port: 'PORT',
  dataDir: 'DATA_DIR',
  org: 'ORG',
  chainId: 'CHAIN_ID',
  ledger: 'LEDGER',
  ledgerThread: 'LEDGER_THREAD',
  nodeKeyAlgorithm: 'NODE_KEY_ALGORITHM',
  bodyLimit: 'BODY_LIMIT',
  batchMaxItems: 'BATCH_MAX_ITEMS',
  groupCommitMax: 'GROUP_COMMIT_MAX',
  groupCommitDelayMs: 'GROUP_COMMIT_DELAY_MS',
  submitTimeoutMs: 'SUBMIT_TIMEOUT_MS',
  logLevel: 'LOG_LEVEL',
  keysFile: 'KEYS_FILE',
  nodeName: 'NODE_NAME',
  publicUrl: 'PUBLIC_URL',
  agreementCheckIntervalMs: 'AGREEMENT_CHECK_INTERVAL_MS',
  agreementEventsHeartbeatMs: 'AGREEMENT_EVENTS_HEARTBEAT_MS',
  agreementEventsBuffer: 'AGREEMENT_EVENTS_BUFFER',
  tlsCert: 'TLS_CERT',
  tlsKey: 'TLS_KEY',
  tlsCa: 'TLS_CA',
  backupDir: 'BACKUP_DIR',
  backupIntervalMs: 'BACKUP_INTERVAL_MS',
  backupKeep: 'BACKUP_KEEP',
  tlsClientAuth: 'TLS_CLIENT_AUTH',
  rateLimitMax: 'RATE_LIMIT_MAX',
  rateLimitWindowMs: 'RATE_LIMIT_WINDOW_MS',
  requestTimeoutMs: 'REQUEST_TIMEOUT_MS',
  connectionTimeoutMs: 'CONNECTION_TIMEOUT_MS',
  maxQueued: 'MAX_QUEUED',
  maxEventLoopDelayMs: 'MAX_EVENT_LOOP_DELAY_MS',
  signatureWindowMs: 'SIGNATURE_WINDOW_MS',
  nonceCacheMax: 'NONCE_CACHE_MAX',
  auditRetentionDays: 'AUDIT_RETENTION_DAYS',
  anchorTargets: 'ANCHOR_TARGETS',
  anchorIntervalMs: 'ANCHOR_INTERVAL_MS',
  anchorEveryBlocks: 'ANCHOR_EVERY_BLOCKS',
  anchorBackoffMinMs: 'ANCHOR_BACKOFF_MIN_MS',
  anchorBackoffMaxMs: 'ANCHOR_BACKOFF_MAX_MS',
  anchorTimeoutMs: 'ANCHOR_TIMEOUT_MS',
  replicaSource: 'REPLICA_SOURCE',
  replicaTrust: 'REPLICA_TRUST',
  replicaApiKeyFile: 'REPLICA_API_KEY_FILE',
  replicaIntervalMs: 'REPLICA_INTERVAL_MS',
  forkPeers: 'FORK_PEERS',
};

const PREFIX = 'EVIDENCE_';
/** Settings also read from an unprefixed variable, as platforms that assign ports expect. */
const PLAIN_VARIABLES: readonly Key[] = ['host', 'port'];

type Parser = (value: unknown) => { value: unknown } | { problem: string; rule: string };

function integer(min: number, max: number): Parser {
  return (value) => {
    const number =
      typeof value === 'number'
        ? value
        : typeof value === 'string' && /^\d+$/.test(value.trim())
          ? Number(value)
          : NaN;
    if (!Number.isSafeInteger(number) || number < min || number > max) {
      return { rule: 'integer', problem: `must be an integer from ${min} to ${max}` };
    }
    return { value: number };
  };
}

function text(pattern?: string, hint?: string): Parser {
  const re = pattern ? new RegExp(pattern) : undefined;
  return (value) => {
    if (typeof value !== 'string' || value.trim() === '')
      return { rule: 'type', problem: 'must be a non-empty string' };
    if (re && !re.test(value))
      return { rule: 'pattern', problem: `must be ${hint ?? `like ${pattern}`}` };
    return { value };
  };
}

function oneOf(
  options: readonly string[],
  unavailable: Readonly<Record<string, string>> = {},
): Parser {
  return (value) => {
    if (typeof value === 'string' && unavailable[value])
      return { rule: 'enum', problem: unavailable[value] };
    if (typeof value !== 'string' || !options.includes(value)) {
      return { rule: 'enum', problem: `must be one of ${options.join(', ')}` };
    }
    return { value };
  };
}

/** A name people read on a certificate: one line, at most 200 characters. */
const nodeName: Parser = (value) => {
  if (
    typeof value !== 'string' ||
    value.trim() === '' ||
    value.length > 200 ||
    /[\r\n]/.test(value)
  )
    return { rule: 'nodeName', problem: 'must be one line of 1 to 200 characters' };
  return { value: value.trim() };
};

/** `value` as an http(s) URL without credentials, query or fragment; `undefined` otherwise. */
function plainHttpUrl(value: unknown): URL | undefined {
  let url: URL;
  try {
    if (typeof value !== 'string') return undefined;
    url = new URL(value);
  } catch {
    return undefined;
  }
  const plain =
    (url.protocol === 'http:' || url.protocol === 'https:') &&
    url.username === '' &&
    url.password === '' &&
    url.search === '' &&
    url.hash === '';
  return plain ? url : undefined;
}

const PLAIN_URL_PROBLEM = 'must be an http or https URL without credentials, query or fragment';

/** An http(s) base URL without credentials, query or fragment; kept without a trailing slash. */
const publicUrl: Parser = (value) => {
  const url = plainHttpUrl(value);
  if (!url) return { rule: 'url', problem: PLAIN_URL_PROBLEM };
  return { value: url.href.replace(/\/+$/, '') };
};

const TARGET_HINT =
  "a JSON list of { name, kind: 'http', url, apiKey | apiKeyFile } or { name, kind: 'rfc3161', url, certFile, operator? }";

/** The settings each kind of target takes. */
const TARGET_SETTINGS: Readonly<Record<AnchorTargetKind, readonly string[]>> = {
  http: ['name', 'kind', 'url', 'apiKey', 'apiKeyFile'],
  rfc3161: ['name', 'kind', 'url', 'certFile', 'operator'],
};

/** The key of a time-stamp authority's certificate file, or the problems with it. */
function authorityKey(
  item: Record<string, unknown>,
  at: string,
  problems: string[],
): TrustedKey | undefined {
  if (typeof item.certFile !== 'string' || item.certFile.trim() === '') {
    problems.push(`${at}.certFile must be the path of the authority's certificate (PEM)`);
    return undefined;
  }
  let pem: Buffer;
  try {
    pem = readFileSync(path.resolve(item.certFile));
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    problems.push(`${at}.certFile ${item.certFile} cannot be read (${reason})`);
    return undefined;
  }
  try {
    return authorityCertificate(pem).key;
  } catch (error) {
    problems.push(`${at}.certFile ${item.certFile}: ${(error as Error).message}`);
    return undefined;
  }
}

/** The API key of another node's gateway, given as `apiKey` or read from `apiKeyFile`. */
function apiKeyOf(
  item: Record<string, unknown>,
  at: string,
  problems: string[],
): string | undefined {
  let apiKey: string | undefined;
  if ((item.apiKey === undefined) === (item.apiKeyFile === undefined)) {
    problems.push(`${at} needs exactly one of apiKey and apiKeyFile`);
  } else if (item.apiKeyFile !== undefined) {
    if (typeof item.apiKeyFile !== 'string' || item.apiKeyFile.trim() === '') {
      problems.push(`${at}.apiKeyFile must be a path`);
    } else {
      try {
        apiKey = readFileSync(path.resolve(item.apiKeyFile), 'utf8').trim();
      } catch (error) {
        const reason = (error as NodeJS.ErrnoException).code ?? 'unreadable';
        problems.push(`${at}.apiKeyFile ${item.apiKeyFile} cannot be read (${reason})`);
      }
    }
  } else {
    apiKey = typeof item.apiKey === 'string' ? item.apiKey.trim() : undefined;
  }
  if (apiKey !== undefined && !/^[\x21-\x7e]{1,512}$/.test(apiKey)) {
    problems.push(`${at}: the API key must be one line of printable ASCII`);
    return undefined;
  }
  return apiKey;
}

/** The problems of target `index`, each as `[index].field ...`; the target when there are none. */
function anchorTarget(
  value: unknown,
  index: number,
): { target: AnchorTargetConfig } | { problems: string[] } {
  const at = `[${index}]`;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { problems: [`${at} must be an object`] };
  }
  const item = value as Record<string, unknown>;
  const problems: string[] = [];
  const kind = (ANCHOR_TARGET_KINDS as readonly unknown[]).includes(item.kind)
    ? (item.kind as AnchorTargetKind)
    : undefined;
  const settings = kind ? TARGET_SETTINGS[kind] : Object.values(TARGET_SETTINGS).flat();
  for (const key of Object.keys(item)) {
    if (!settings.includes(key))
      problems.push(`${at}.${key} is not a setting of ${kind ?? 'a'} target`);
  }
  if (typeof item.name !== 'string' || !new RegExp(NAME_PATTERN).test(item.name))
    problems.push(`${at}.name must be an identifier (letters, digits, . _ @ -)`);
  if (!kind) problems.push(`${at}.kind must be one of ${ANCHOR_TARGET_KINDS.join(', ')}`);
  const url = plainHttpUrl(item.url);
  if (!url) problems.push(`${at}.url ${PLAIN_URL_PROBLEM}`);
  if (kind === 'rfc3161') {
    const key = authorityKey(item, at, problems);
    const operator = item.operator;
    if (
      operator !== undefined &&
      (typeof operator !== 'string' ||
        operator.length === 0 ||
        operator.length > 256 ||
        [...operator].some((c) => c <= '\u001f' || c === '\u007f'))
    )
      problems.push(`${at}.operator must be 1-256 printable characters`);
    if (problems.length > 0 || !url || !key) return { problems };
    return {
      target: {
        name: item.name as string,
        kind,
        url: url.href,
        key,
        ...(typeof operator === 'string' ? { operator } : {}),
      },
    };
  }
  const apiKey = apiKeyOf(item, at, problems);
  if (problems.length > 0 || !url || apiKey === undefined) return { problems };
  return {
    target: {
      name: item.name as string,
      kind: 'http',
      url: url.href.replace(/\/+$/, ''),
      apiKey,
    },
  };
}

/**
 * A setting that is a list of named items: JSON text (environment) or a list (config file), each
 * item read by `item` (its problems as `[index].field ...`), names unique. Every problem of every
 * item is reported at once, under `rule`.
 */
function namedList<T extends { readonly name: string }>(
  rule: string,
  hint: string,
  what: string,
  item: (value: unknown, index: number) => { value: T } | { problems: string[] },
): Parser {
  return (value) => {
    let list: unknown = value;
    if (typeof value === 'string') {
      try {
        list = JSON.parse(value) as unknown;
      } catch {
        return { rule: 'json', problem: `must be ${hint}; it is not JSON` };
      }
    }
    if (!Array.isArray(list)) return { rule: 'type', problem: `must be ${hint}` };
    const problems: string[] = [];
    const items: T[] = [];
    list.forEach((entry, index) => {
      const parsed = item(entry, index);
      if ('problems' in parsed) problems.push(...parsed.problems);
      else items.push(parsed.value);
    });
    const names = items.map((t) => t.name);
    const twice = names.filter((name, index) => names.indexOf(name) !== index);
    if (twice.length > 0) problems.push(`${what} names must be unique (${twice.join(', ')})`);
    if (problems.length > 0) return { rule, problem: problems.join('; ') };
    return { value: items };
  };
}

/** `EVIDENCE_ANCHOR_TARGETS`. */
const anchorTargets = namedList('anchorTargets', TARGET_HINT, 'target', (value, index) => {
  const parsed = anchorTarget(value, index);
  return 'problems' in parsed ? parsed : { value: parsed.target };
});

/** One of `EVIDENCE_FORK_PEERS`: `{ name, url, apiKey | apiKeyFile }`. */
function forkPeer(
  value: unknown,
  index: number,
): { value: ForkPeerConfig } | { problems: string[] } {
  const at = `[${index}]`;
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { problems: [`${at} must be an object`] };
  const item = value as Record<string, unknown>;
  const problems: string[] = [];
  for (const key of Object.keys(item)) {
    if (!['name', 'url', 'apiKey', 'apiKeyFile'].includes(key))
      problems.push(`${at}.${key} is not a setting of a fork peer`);
  }
  if (typeof item.name !== 'string' || !new RegExp(NAME_PATTERN).test(item.name))
    problems.push(`${at}.name must be an identifier (letters, digits, . _ @ -)`);
  else if (item.name === 'source')
    problems.push(`${at}.name "source" is a replica's own source; name the peer otherwise`);
  const url = plainHttpUrl(item.url);
  if (!url) problems.push(`${at}.url ${PLAIN_URL_PROBLEM}`);
  const apiKey = apiKeyOf(item, at, problems);
  if (problems.length > 0 || !url || apiKey === undefined) return { problems };
  return { value: { name: item.name as string, url: url.href.replace(/\/+$/, ''), apiKey } };
}

/** `EVIDENCE_FORK_PEERS`. */
const forkPeers = namedList(
  'forkPeers',
  'a JSON list of { name, url, apiKey | apiKeyFile }',
  'peer',
  forkPeer,
);

/** `EVIDENCE_REPLICA_TRUST`: a trust file that names at least one embedded chain. */
const replicaTrust: Parser = (value) => {
  if (typeof value !== 'string' || value.trim() === '')
    return { rule: 'type', problem: 'must be the path of a trust file' };
  let trust: TrustFile;
  try {
    trust = parseTrustFile(JSON.parse(readFileSync(path.resolve(value), 'utf8')) as unknown);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    return { rule: 'trustFile', problem: `${value} is not a readable trust file (${reason})` };
  }
  if (!trust.chains.some((chain) => chain.kind === 'embedded'))
    return { rule: 'trustFile', problem: `${value} names no embedded chain to replicate` };
  return { value: trust };
};

const PARSERS: Readonly<Record<Key, Parser>> = {
  host: text(),
  port: integer(0, 65_535),
  dataDir: text(),
  org: text(NAME_PATTERN, 'an identifier (letters, digits, . _ @ -)'),
  chainId: text(CHAIN_ID_PATTERN, 'an identifier (letters, digits, . _ @ -)'),
  ledger: oneOf(['embedded'], { fabric: 'fabric is not available in this build' }),
  ledgerThread: oneOf(LEDGER_THREADS),
  nodeKeyAlgorithm: oneOf(NODE_KEY_ALGORITHMS),
  bodyLimit: integer(1024, 100 * 1_048_576),
  batchMaxItems: integer(1, MAX_BATCH_RECORDS),
  groupCommitMax: integer(1, MAX_BATCH_RECORDS),
  groupCommitDelayMs: integer(0, 10_000),
  submitTimeoutMs: integer(100, 600_000),
  logLevel: oneOf(LOG_LEVELS),
  keysFile: text(),
  nodeName: nodeName,
  publicUrl: publicUrl,
  agreementCheckIntervalMs: integer(10, 86_400_000),
  agreementEventsHeartbeatMs: integer(10, 600_000),
  agreementEventsBuffer: integer(1, 100_000),
  tlsCert: text(),
  tlsKey: text(),
  tlsCa: text(),
  backupDir: text(),
  backupIntervalMs: integer(0, 31 * 86_400_000),
  backupKeep: integer(0, 100_000),
  tlsClientAuth: oneOf(TLS_CLIENT_AUTH),
  rateLimitMax: integer(1, 1_000_000),
  rateLimitWindowMs: integer(100, 3_600_000),
  requestTimeoutMs: integer(1000, 3_600_000),
  connectionTimeoutMs: integer(1000, 3_600_000),
  maxQueued: integer(1, 10_000_000),
  maxEventLoopDelayMs: integer(0, 60_000),
  signatureWindowMs: integer(1000, 3_600_000),
  nonceCacheMax: integer(1000, 10_000_000),
  // PRC Cybersecurity Law art. 21: network logs are kept at least six months.
  auditRetentionDays: integer(183, 36_500),
  anchorTargets,
  anchorIntervalMs: integer(100, 86_400_000),
  anchorEveryBlocks: integer(1, MAX_ANCHOR_HEADERS),
  anchorBackoffMinMs: integer(10, 3_600_000),
  anchorBackoffMaxMs: integer(10, 86_400_000),
  anchorTimeoutMs: integer(100, 600_000),
  replicaSource: publicUrl,
  replicaTrust,
  replicaApiKeyFile: text(),
  replicaIntervalMs: integer(100, 3_600_000),
  forkPeers,
};

const KEYS = Object.keys(PARSERS) as Key[];

interface Source {
  readonly value: unknown;
  /** Where the value came from, named in error messages: a variable, or a key of the file. */
  readonly from: string;
}

/**
 * Loads and validates the configuration.
 * @param env the environment to read (default `process.env`, read at call time).
 * @param overrides values that win over everything else (tests, embedding).
 * @throws ValidationError `CONFIG_INVALID` listing every bad setting, each as `/<key>`.
 */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  overrides: Partial<Config> = {},
): Config {
  const errors: FieldError[] = [];
  const sources = new Map<Key, Source>();

  const file = env[`${PREFIX}CONFIG`];
  if (file !== undefined && file !== '') readConfigFile(file, sources, errors);

  for (const key of KEYS) {
    const name = PREFIX + CONFIG_VARIABLES[key];
    const plain = PLAIN_VARIABLES.includes(key) ? CONFIG_VARIABLES[key] : undefined;
    if (env[name] !== undefined && env[name] !== '')
      sources.set(key, { value: env[name], from: name });
    else if (plain && env[plain] !== undefined && env[plain] !== '') {
      sources.set(key, { value: env[plain], from: plain });
    }
  }
  for (const key of KEYS) {
    if (key in overrides && overrides[key] !== undefined) {
      sources.set(key, { value: overrides[key], from: `override ${key}` });
    }
  }

  const values: Record<string, unknown> = { ...DEFAULT_CONFIG };
  for (const [key, source] of sources) {
    const parsed = PARSERS[key](source.value);
    if ('problem' in parsed) {
      errors.push({
        path: `/${key}`,
        rule: parsed.rule,
        message: `${source.from} ${parsed.problem}`,
      });
    } else {
      values[key] = parsed.value;
    }
  }
  if (
    !errors.some((e) => e.path === '/anchorBackoffMinMs' || e.path === '/anchorBackoffMaxMs') &&
    (values.anchorBackoffMinMs as number) > (values.anchorBackoffMaxMs as number)
  ) {
    errors.push({
      path: '/anchorBackoffMinMs',
      rule: 'maximum',
      message: `${PREFIX}${CONFIG_VARIABLES.anchorBackoffMinMs} must not exceed ${PREFIX}${CONFIG_VARIABLES.anchorBackoffMaxMs}`,
    });
  }
  errors.push(...securityProblems(values, sources));
  const backupProblem = backupDirProblem(values, sources);
  if (backupProblem) errors.push(backupProblem);
  errors.push(...replicaProblems(values, sources, errors));
  if (errors.length > 0) {
    const where = errors.map((error) => error.path).join(', ');
    throw new ValidationError(
      'CONFIG_INVALID',
      `configuration is invalid (${errors.length} problem${errors.length > 1 ? 's' : ''}: ${where})`,
      errors,
    );
  }

  const dataDir = path.resolve(values.dataDir as string);
  const keysFile =
    values.keysFile === undefined
      ? path.join(dataDir, 'keys.json')
      : path.resolve(values.keysFile as string);
  const resolved = (file: unknown) => (typeof file === 'string' ? path.resolve(file) : undefined);
  return {
    ...(values as unknown as Config),
    dataDir,
    keysFile,
    tlsCert: resolved(values.tlsCert),
    tlsKey: resolved(values.tlsKey),
    tlsCa: resolved(values.tlsCa),
    backupDir: resolved(values.backupDir),
    replicaApiKeyFile: resolved(values.replicaApiKeyFile),
  };
}

const REPLICA_SETTINGS = ['replicaSource', 'replicaTrust', 'replicaApiKeyFile'] as const;

/**
 * A replica needs its source, the trust file it checks blocks with and a readable API key; it
 * has no chain id or node key of its own. (It may anchor and time-stamp the chain it keeps.)
 */
function replicaProblems(
  values: Readonly<Record<string, unknown>>,
  sources: ReadonlyMap<Key, Source>,
  earlier: readonly FieldError[],
): FieldError[] {
  const name = (key: Key) => settingName(key, sources);
  const given = REPLICA_SETTINGS.filter((key) => sources.has(key));
  if (given.length === 0) return [];
  const problems: FieldError[] = REPLICA_SETTINGS.filter((key) => !sources.has(key)).map((key) => ({
    path: `/${key}`,
    rule: 'required',
    message: `${name(key)} is required with ${name(given[0] as Key)} (a replica)`,
  }));
  const keyFile = values.replicaApiKeyFile;
  if (typeof keyFile === 'string' && !earlier.some((e) => e.path === '/replicaApiKeyFile')) {
    try {
      const key = readFileSync(path.resolve(keyFile), 'utf8').trim();
      if (!/^[\x21-\x7e]{1,512}$/.test(key))
        throw new Error('it must hold one line of printable ASCII');
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      problems.push({
        path: '/replicaApiKeyFile',
        rule: 'file',
        message: `${name('replicaApiKeyFile')} ${keyFile} cannot be read (${reason})`,
      });
    }
  }
  for (const key of ['chainId', 'nodeKeyAlgorithm'] as const) {
    if (!sources.has(key)) continue;
    problems.push({
      path: `/${key}`,
      rule: 'replica',
      message: `${name(key)} cannot be set on a replica: it keeps another node's chain`,
    });
  }
  return problems;
}

/** How the user gave `key`: the variable or file key it came from, else its variable. */
function settingName(key: Key, sources: ReadonlyMap<Key, Source>): string {
  return sources.get(key)?.from ?? `${PREFIX}${CONFIG_VARIABLES[key]}`;
}

/**
 * Backups go outside the data directory: a backup inside it would be taken for part of the node's
 * data, and lost with the disk it protects against. Scheduled backups and their retention need a
 * backup directory.
 */
function backupDirProblem(
  values: Readonly<Record<string, unknown>>,
  sources: ReadonlyMap<Key, Source>,
): FieldError | undefined {
  const name = (key: Key) => settingName(key, sources);
  if (typeof values.backupDir !== 'string') {
    const needing = (['backupIntervalMs', 'backupKeep'] as const).find(
      (key) => typeof values[key] === 'number' && (values[key] as number) > 0,
    );
    if (!needing) return undefined;
    return {
      path: `/${needing}`,
      rule: 'required',
      message: `${name(needing)} needs ${name('backupDir')}`,
    };
  }
  const dataDir = path.resolve(values.dataDir as string);
  const backupDir = path.resolve(values.backupDir);
  const relative = path.relative(dataDir, backupDir);
  const inside = relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
  const holds = !path.relative(backupDir, dataDir).startsWith('..');
  if (!inside && !holds) return undefined;
  return {
    path: '/backupDir',
    rule: 'outsideDataDir',
    message: `${name('backupDir')} must be outside ${name('dataDir')} and must not contain it`,
  };
}

/** Settings that only make sense together: TLS files, and timeouts against each other. */
function securityProblems(
  values: Readonly<Record<string, unknown>>,
  sources: ReadonlyMap<Key, Source>,
): FieldError[] {
  const problems: FieldError[] = [];
  const name = (key: Key) => settingName(key, sources);
  if ((values.tlsCert === undefined) !== (values.tlsKey === undefined)) {
    const missing: Key = values.tlsCert === undefined ? 'tlsCert' : 'tlsKey';
    problems.push({
      path: `/${missing}`,
      rule: 'required',
      message: `${name(missing)} is required with ${name(missing === 'tlsCert' ? 'tlsKey' : 'tlsCert')}`,
    });
  }
  if (values.tlsCa !== undefined && values.tlsCert === undefined) {
    problems.push({
      path: '/tlsCa',
      rule: 'dependencies',
      message: `${name('tlsCa')} (mutual TLS) needs ${name('tlsCert')} and ${name('tlsKey')}`,
    });
  }
  // A socket is silent while its deposit waits for the ledger: it must not time out first.
  if (
    typeof values.connectionTimeoutMs === 'number' &&
    typeof values.submitTimeoutMs === 'number' &&
    values.connectionTimeoutMs <= values.submitTimeoutMs
  ) {
    problems.push({
      path: '/connectionTimeoutMs',
      rule: 'minimum',
      message: `${name('connectionTimeoutMs')} must exceed ${name('submitTimeoutMs')}`,
    });
  }
  return problems;
}

function readConfigFile(file: string, sources: Map<Key, Source>, errors: FieldError[]): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? 'not valid JSON';
    errors.push({
      path: '/config',
      rule: 'file',
      message: `${PREFIX}CONFIG ${file} cannot be read (${reason})`,
    });
    return;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    errors.push({
      path: '/config',
      rule: 'type',
      message: `${PREFIX}CONFIG ${file} must hold a JSON object`,
    });
    return;
  }
  for (const [key, value] of Object.entries(parsed)) {
    if (!(KEYS as string[]).includes(key)) {
      errors.push({
        path: `/${key}`,
        rule: 'additionalProperties',
        message: `${key} in ${file} is not a setting`,
      });
    } else if (value !== null) {
      sources.set(key as Key, { value, from: `${key} in ${file}` });
    }
  }
}
