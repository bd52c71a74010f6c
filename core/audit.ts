/**
 * The audit log's entries and their hash chain: who did what to which evidence, agreement or
 * principal, when, with which result. Pure: the store (gateway/audit/audit-log.ts) and the offline
 * checker (`evidence audit verify`) share these rules.
 *
 * Each entry carries its sequence number, the hash of the entry before it (`prev`) and its own
 * hash: `sha256:` of the canonical JSON of every other field. Editing, deleting, inserting or
 * reordering entries breaks the chain at the first changed position. Pruning old entries records
 * the last pruned entry's sequence number and hash as the new **anchor**, so what remains still
 * verifies. The log holds no personal data: routes as templates, identifiers that passed their
 * patterns, principals by id, organisation and account.
 */

import { canonicalJson } from './canonical';
import { sha256Digest, type Digest } from './digest';

/** The hash `prev` of the very first entry names. */
export const AUDIT_GENESIS: Digest = `sha256:${'0'.repeat(64)}`;

/** Directory of the audit log's store under the node's data directory. */
export const AUDIT_STORE_DIR = 'audit';
/** Sublevels of that store: entries by sequence number, and meta (`head`, `anchor`). */
export const AUDIT_ENTRIES = 'entries';
export const AUDIT_META = 'meta';

/** Key of entry `seq`: 16 hex digits, so keys sort as numbers. */
export function auditKey(seq: number): string {
  return seq.toString(16).padStart(16, '0');
}

/** Who made a request, as authenticated; `null` for anonymous requests. */
export interface AuditPrincipal {
  readonly id: string;
  readonly org: string;
  readonly account: string;
  readonly role: string;
  /** How the caller authenticated. */
  readonly via: 'api-key' | 'signature' | 'tls';
}

/** What an entry records (everything but its place in the chain). */
export interface AuditEvent {
  /**
   * `request` for an HTTP request; `gap` when entries were dropped under overload; `backup` when
   * a backup of the node finished, asked for or scheduled (a backup holds the node key): `params`
   * `{ id, state }` (`completed` or `failed`), and `code` when it failed; `node-key` when the node
   * key was rotated: `params` `{ keyId, algorithm, previousKeyId, block }` (the rotation block);
   * `promotion` when a replica's data directory became its chain's own node (`evidence-node
   * promote-replica`): `params` `{ chainId, height, tipHash, keyId }`; `fork` when the node first
   * kept proof that its chain's key signed two blocks at one height: `params` `{ chainId, block,
   * how }` (`found`, or `given` at `POST /v1/forks`).
   */
  readonly type: 'request' | 'gap' | 'backup' | 'node-key' | 'promotion' | 'fork';
  /** When the request (or backup) completed, RFC 3339 UTC. */
  readonly time: string;
  readonly requestId?: string;
  readonly method?: string;
  /** The route template, e.g. `/v1/evidence/:digest` (never the raw URL). */
  readonly route?: string;
  /** Route parameters that passed their identifier patterns (digests, ids). */
  readonly params?: Readonly<Record<string, string>>;
  /** Digests a request named in its body (deposits), when the route reported them. */
  readonly digests?: readonly string[];
  readonly principal?: AuditPrincipal | null;
  /** HTTP status of the response. */
  readonly status?: number;
  /** Error code of a refused request. */
  readonly code?: string;
  /** `gap` only: how many entries were not recorded. */
  readonly dropped?: number;
}

export interface AuditEntry extends AuditEvent {
  readonly seq: number;
  readonly prev: Digest;
  readonly hash: Digest;
}

/** Where the retained chain starts: the last pruned entry, or the genesis. */
export interface AuditAnchor {
  /** Sequence number of the last pruned entry (-1: nothing pruned). */
  readonly seq: number;
  readonly hash: Digest;
}

export const GENESIS_ANCHOR: AuditAnchor = { seq: -1, hash: AUDIT_GENESIS };

/** The hash of an entry: `sha256:` of the canonical JSON of everything but `hash`. */
export function auditEntryHash(entry: Omit<AuditEntry, 'hash'>): Digest {
  const { hash: _hash, ...rest } = entry as AuditEntry;
  return sha256Digest(canonicalJson(rest));
}

/** Chains `event` after `previous` (an entry or the anchor). */
export function chainAuditEntry(event: AuditEvent, previous: AuditAnchor): AuditEntry {
  const body = { ...event, seq: previous.seq + 1, prev: previous.hash };
  return { ...body, hash: auditEntryHash(body) };
}

export type AuditFailureReason = 'unreadable' | 'sequence' | 'link' | 'hash';

/** The outcome of checking a chain. */
export interface AuditVerification {
  readonly intact: boolean;
  /** Entries checked before the first failure (all of them when intact). */
  readonly checked: number;
  readonly anchor: AuditAnchor;
  /** Sequence number and hash of the last good entry (the anchor when there is none). */
  readonly head: AuditAnchor;
  /** The first failure: the sequence number where it was expected, and why. */
  readonly failure?: { readonly seq: number; readonly reason: AuditFailureReason };
}

/**
 * Incremental checker: feed stored entries in key order, then read the result. Reports the first
 * position where the stored chain departs from the rules: an entry that is not JSON or does not
 * carry its expected sequence number (`unreadable`, `sequence`: an entry is missing or was
 * inserted), whose `prev` is not the previous entry's hash (`link`), or whose hash does not match
 * its content (`hash`: the entry was edited).
 */
export class AuditChainChecker {
  readonly #anchor: AuditAnchor;
  #head: AuditAnchor;
  #checked = 0;
  #failure: AuditVerification['failure'];

  constructor(anchor: AuditAnchor = GENESIS_ANCHOR) {
    this.#anchor = anchor;
    this.#head = anchor;
  }

  /** Checks the entry stored under `key` with text `value`; false once the chain is broken. */
  add(key: string, value: string): boolean {
    if (this.#failure) return false;
    const expected = this.#head.seq + 1;
    const fail = (reason: AuditFailureReason) => {
      this.#failure = { seq: expected, reason };
      return false;
    };
    let entry: AuditEntry;
    try {
      entry = JSON.parse(value) as AuditEntry;
    } catch {
      return fail('unreadable');
    }
    if (typeof entry !== 'object' || entry === null) return fail('unreadable');
    if (key !== auditKey(expected) || entry.seq !== expected) return fail('sequence');
    if (entry.prev !== this.#head.hash) return fail('link');
    let hash: Digest;
    try {
      hash = auditEntryHash(entry);
    } catch {
      return fail('unreadable');
    }
    if (hash !== entry.hash) return fail('hash');
    this.#head = { seq: entry.seq, hash: entry.hash };
    this.#checked += 1;
    return true;
  }

  /**
   * The result. `recordedHead` (the store's own head record), when given, must be the last
   * entry: a log truncated at its end fails at the first missing position.
   */
  result(recordedHead?: AuditAnchor): AuditVerification {
    let failure = this.#failure;
    if (!failure && recordedHead && recordedHead.seq > this.#head.seq) {
      failure = { seq: this.#head.seq + 1, reason: 'sequence' };
    } else if (!failure && recordedHead && recordedHead.hash !== this.#head.hash) {
      failure = { seq: this.#head.seq, reason: 'hash' };
    }
    return {
      intact: failure === undefined,
      checked: this.#checked,
      anchor: this.#anchor,
      head: this.#head,
      ...(failure ? { failure } : {}),
    };
  }
}
