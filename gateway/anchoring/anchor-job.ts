/**
 * The anchoring job: records this chain's tip on every target, so that receipts can be upgraded
 * with an independent chain's vouching (DESIGN.md §4 "Anchor").
 *
 * When: for each target, as soon as the tip moved and either `intervalMs` passed since its last
 * anchor or `everyBlocks` blocks were added since (the block threshold bounds the header chain a
 * receipt carries). A tip that has not moved is not anchored again.
 *
 * No gaps: each anchor names the tip at that moment, so the header chain from any block up to
 * the next anchored block is on this node's chain; every block at or below the latest anchor is
 * covered by the earliest anchor at or above it, however long a target was away.
 *
 * Failures: one target failing does not hold up the others. A failed attempt is retried after an
 * exponential backoff (`backoffMinMs`, doubling up to `backoffMaxMs`) with jitter, so nodes that
 * lost the same target do not return to it in step. Every anchor a target answers is checked
 * before it is stored: it names exactly the tip submitted, its result is the one its transaction
 * header commits to, the transaction is in the target block, and a key pinned for the target
 * chain signed that block. The target's trust file is fetched when the job starts and pinned in
 * the anchor store (keys once pinned stay, so older anchors keep verifying after a rotation).
 *
 * Stopping: `close()` clears the timer, aborts calls in flight and waits for them; no timer is
 * left behind.
 */

import {
  ANCHOR_CONTRACT,
  AnchorCheckError,
  checkTimestampToken,
  RECORD_ANCHOR_FN,
  type AnchorInput,
} from '../../core/anchor';
import { inclusionPathProblem, txLeafHash, valueDigest } from '../../core/block';
import { canonicalJson } from '../../core/canonical';
import { AnchorError, isEvidenceError, type ErrorCode } from '../../core/errors';
import { TRUST_FILE_TYPE, verifyBlockSignature, type TrustFile } from '../../core/trust';
import type { ChainInfo, Ledger } from '../ledger/ledger';
import type { AnchorStore, StoredAnchor } from './anchor-store';
import type { AnchorTarget, SubmittedAnchor, SubmittedTimestamp } from './target';

/** Where the job reports; a pino logger fits. */
export interface JobLogger {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}

export interface AnchorJobOptions {
  readonly ledger: Ledger;
  readonly store: AnchorStore;
  readonly targets: readonly AnchorTarget[];
  readonly intervalMs: number;
  readonly everyBlocks: number;
  readonly backoffMinMs: number;
  readonly backoffMaxMs: number;
  readonly logger: JobLogger;
  /** Called after every change of a target's last anchor (metrics). */
  readonly onAnchored?: (target: string, anchor: StoredAnchor) => void;
  /** No timer: passes run only through `runOnce()` (tests, tools). */
  readonly manual?: boolean;
  /** Clock and randomness, for tests. */
  readonly now?: () => number;
  readonly random?: () => number;
  /** Timer functions, for tests that check none is left behind. */
  readonly timers?: JobTimers;
}

/** The timer functions the job uses (the global ones unless injected). */
export interface JobTimers {
  setTimeout(callback: () => void, ms: number): ReturnType<typeof setTimeout>;
  clearTimeout(timer: ReturnType<typeof setTimeout>): void;
}

const GLOBAL_TIMERS: JobTimers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (timer) => clearTimeout(timer),
};

/** What the status route shows per target. */
export interface TargetStatus {
  readonly name: string;
  readonly kind: string;
  /** The chain the anchors are on; `null` until the first anchor. */
  readonly targetChainId: string | null;
  /** Whether a trust file is pinned for the target (anchors are checked against it). */
  readonly trustPinned: boolean;
  readonly lastAnchoredBlock: number | null;
  /** Chain time of the last anchor on the target chain. */
  readonly lastAnchoredAt: string | null;
  /** When this node stored the last anchor (its own clock). */
  readonly lastSuccessAt: string | null;
  /** Seconds since `lastSuccessAt`; grows while the chain is idle too (see `blocksBehind`). */
  readonly ageSeconds: number | null;
  /** Blocks added since the last anchor (`tip - lastAnchoredBlock`); `null` before the first. */
  readonly blocksBehind: number | null;
  readonly consecutiveFailures: number;
  readonly lastErrorCode: ErrorCode | null;
  readonly lastErrorAt: string | null;
  /** When a retry is due after failures; `null` when not backing off. */
  readonly nextAttemptAt: string | null;
}

export interface AnchoringStatus {
  readonly sourceChainId: string;
  /** Number of this chain's tip block. */
  readonly tipBlock: number;
  readonly intervalMs: number;
  readonly everyBlocks: number;
  readonly targets: readonly TargetStatus[];
}

export interface AnchorJob {
  /**
   * Loads each target's last anchor and pinned trust, fetches the targets' trust files, and
   * (unless `manual`) runs on its own timer. Call once.
   */
  start(): Promise<void>;
  /**
   * One pass now: waits for attempts in flight, then attempts every target that is due (by the
   * same rules as the timer) and waits for those attempts.
   */
  runOnce(): Promise<void>;
  status(): Promise<AnchoringStatus>;
  /** The trust file pinned for `target`, if any. */
  trustOf(target: string): TrustFile | undefined;
  /** Stops: no timer and no call left. Safe to call twice. */
  close(): Promise<void>;
}

interface TargetState {
  readonly target: AnchorTarget;
  last: StoredAnchor | undefined;
  trust: TrustFile | undefined;
  failures: number;
  lastErrorCode: ErrorCode | undefined;
  lastErrorAt: number | undefined;
  /** Epoch ms before which no attempt is made (backoff). */
  nextAttemptAt: number;
  inFlight: Promise<void> | undefined;
}

/** Longest wait between two looks at the tip. */
const MAX_POLL_MS = 1_000;

/**
 * Delay before retry number `failures` (1 for the first): `min * 2^(failures-1)`, capped at
 * `max`, then "equal jitter": half of it fixed, half random, so it never drops to zero.
 */
export function backoffDelay(
  failures: number,
  minMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const exponential = Math.min(maxMs, minMs * 2 ** Math.min(Math.max(failures - 1, 0), 30));
  return Math.round(exponential / 2 + (random() * exponential) / 2);
}

/**
 * `pinned` with the chains and keys of `fetched` added; keys once pinned stay. Returns the result
 * and whether `fetched` brought a key for a chain that was already pinned (worth a warning).
 */
export function pinTrust(
  pinned: TrustFile | undefined,
  fetched: TrustFile,
): { trust: TrustFile; rotated: boolean } {
  let rotated = false;
  const chains = new Map((pinned?.chains ?? []).map((chain) => [chain.chainId, chain]));
  for (const chain of fetched.chains) {
    const known = chains.get(chain.chainId);
    if (!known) {
      chains.set(chain.chainId, chain);
      continue;
    }
    const keys = [...known.keys];
    for (const key of chain.keys) {
      if (!keys.some((k) => k.keyId === key.keyId && k.algorithm === key.algorithm)) {
        keys.push(key);
        rotated = true;
      }
    }
    const operator = chain.operator ?? known.operator;
    chains.set(chain.chainId, { ...known, ...(operator ? { operator } : {}), keys });
  }
  return { trust: { type: TRUST_FILE_TYPE, version: 1, chains: [...chains.values()] }, rotated };
}

function refuse(message: string): never {
  throw new AnchorError('ANCHOR_PROOF_INVALID', message);
}

/**
 * Checks what a target answered for `input`: the anchor names exactly that block and hash of
 * this chain; the proof's result is `recorded` with that very anchor and matches the result
 * digest of an `anchor.recordAnchor` transaction with the anchor's id and time; the transaction
 * is under the target block's data hash; and a key `trust` pins signed that block.
 * @throws AnchorError `ANCHOR_PROOF_INVALID`, or `ANCHOR_UNTRUSTED` when the block is not signed
 *   by a pinned key (or the target is this chain itself).
 */
export function checkSubmitted(
  input: AnchorInput,
  submitted: SubmittedAnchor,
  trust: TrustFile,
): void {
  if (submitted.kind === 'timestamp') {
    checkSubmittedTimestamp(input, submitted, trust);
    return;
  }
  const { anchor, proof } = submitted;
  const { tx, result, txIndex, txPath, block } = proof;
  if (
    anchor.sourceChainId !== input.sourceChainId ||
    anchor.blockNumber !== input.blockNumber ||
    anchor.headerHash !== input.headerHash
  ) {
    refuse(`the target answered with an anchor of another block (${anchor.blockNumber})`);
  }
  if (canonicalJson(result.anchor) !== canonicalJson(anchor))
    refuse('the proof records another anchor than the one answered');
  if (tx.contract !== ANCHOR_CONTRACT || tx.fn !== RECORD_ANCHOR_FN)
    refuse(`the proof's transaction is ${tx.contract}.${tx.fn}, not anchor.recordAnchor`);
  if (tx.txId !== anchor.txId || tx.time !== anchor.time)
    refuse("the proof's transaction is not the one that recorded the anchor");
  if (valueDigest(result) !== tx.resultDigest)
    refuse("the proof's result does not match its transaction's result digest");
  if (tx.chainId !== block.header.chainId) refuse('the transaction and block are on other chains');
  if (tx.chainId === input.sourceChainId) {
    throw new AnchorError('ANCHOR_UNTRUSTED', 'an anchor on this chain itself vouches for nothing');
  }
  const problem = inclusionPathProblem(
    txIndex,
    block.header.txCount,
    txLeafHash(tx),
    txPath,
    block.header.dataHash,
  );
  if (problem === 'mismatch') refuse("the transaction is not under the block's data hash");
  if (problem) refuse(`the transaction path is invalid (${problem})`);
  const signed = verifyBlockSignature(block, trust);
  if (!signed.ok) {
    throw new AnchorError(
      signed.problem === 'SIGNATURE_INVALID' ? 'ANCHOR_PROOF_INVALID' : 'ANCHOR_UNTRUSTED',
      signed.detail,
    );
  }
}

/**
 * Checks a time-stamp authority's answer for `input`: the block and hash asked, the `genTime` the
 * token holds, and the token itself (core's `checkTimestampToken`: the imprint is the tip's
 * hash, signed by the authority's pinned key, valid then).
 * @throws AnchorError `ANCHOR_PROOF_INVALID`, `ANCHOR_HASH_MISMATCH` or `ANCHOR_UNTRUSTED`.
 */
function checkSubmittedTimestamp(
  input: AnchorInput,
  submitted: SubmittedTimestamp,
  trust: TrustFile,
): void {
  const { anchor } = submitted;
  if (
    anchor.sourceChainId !== input.sourceChainId ||
    anchor.blockNumber !== input.blockNumber ||
    anchor.headerHash !== input.headerHash
  ) {
    refuse(`the target answered with a time stamp of another block (${anchor.blockNumber})`);
  }
  const authority = trust.chains.find((entry) => entry.kind === 'rfc3161');
  if (!authority) throw new AnchorError('ANCHOR_UNTRUSTED', 'no time-stamp authority is pinned');
  try {
    const checked = checkTimestampToken(
      Buffer.from(submitted.token, 'base64'),
      input.headerHash,
      input.blockNumber,
      authority.chainId,
      trust,
    );
    if (checked.token.genTime !== anchor.time) refuse("the answer misstates the token's time");
  } catch (error) {
    if (error instanceof AnchorCheckError) throw new AnchorError(error.code, error.message);
    throw error;
  }
}

/** Whether the block of a target's proof is signed by a key `trust` does not pin for its chain. */
function signedByUnpinnedKey(submitted: SubmittedAnchor, trust: TrustFile): boolean {
  if (submitted.kind !== 'chain') return false;
  const { header, signature } = submitted.proof.block;
  const chain = trust.chains.find((c) => c.chainId === header.chainId);
  return chain !== undefined && !chain.keys.some((key) => key.keyId === signature.keyId);
}

/** Codes that mean the target or this chain misbehaves, not that a network hiccupped. */
const ALARMING: readonly ErrorCode[] = [
  'ANCHOR_CONFLICT',
  'ANCHOR_REGRESSION',
  'ANCHOR_PROOF_INVALID',
  'ANCHOR_UNTRUSTED',
];

class AnchorJobImpl implements AnchorJob {
  readonly #options: AnchorJobOptions;
  readonly #states: TargetState[];
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #abort = new AbortController();
  readonly #pollMs: number;
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;
  #pinning: Promise<unknown> | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(options: AnchorJobOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.#pollMs = Math.max(
      10,
      Math.min(MAX_POLL_MS, options.intervalMs, Math.ceil(options.backoffMinMs / 2)),
    );
    this.#states = options.targets.map((target) => ({
      target,
      last: undefined,
      trust: undefined,
      failures: 0,
      lastErrorCode: undefined,
      lastErrorAt: undefined,
      nextAttemptAt: 0,
      inFlight: undefined,
    }));
  }

  async start(): Promise<void> {
    for (const state of this.#states) {
      state.last = await this.#options.store.latest(state.target.name);
      state.trust = await this.#options.store.trust(state.target.name);
      if (state.last) this.#options.onAnchored?.(state.target.name, state.last);
    }
    // Fetched once per start, in the background: a target that is down must not delay the node.
    this.#pinning = Promise.all(
      this.#states.map((state) => this.#pin(state).catch(() => undefined)),
    );
    if (this.#options.manual) await this.#pinning;
    else this.#schedule(0);
  }

  async runOnce(): Promise<void> {
    await Promise.all(this.#states.map((s) => s.inFlight?.catch(() => undefined)));
    await this.#tick();
  }

  trustOf(target: string): TrustFile | undefined {
    return this.#states.find((s) => s.target.name === target)?.trust;
  }

  async status(): Promise<AnchoringStatus> {
    const tip = await this.#options.ledger.info();
    const now = this.#now();
    const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
    return {
      sourceChainId: this.#options.ledger.chainId,
      tipBlock: tip.height - 1,
      intervalMs: this.#options.intervalMs,
      everyBlocks: this.#options.everyBlocks,
      targets: this.#states.map((state): TargetStatus => {
        const last = state.last;
        const success = last ? Date.parse(last.storedAt) : undefined;
        return {
          name: state.target.name,
          kind: state.target.kind,
          targetChainId: last?.targetChainId ?? null,
          trustPinned: state.trust !== undefined,
          lastAnchoredBlock: last?.anchor.blockNumber ?? null,
          lastAnchoredAt: last?.anchor.time ?? null,
          lastSuccessAt: iso(success),
          ageSeconds:
            success === undefined ? null : Math.max(0, Math.floor((now - success) / 1000)),
          blocksBehind: last ? Math.max(0, tip.height - 1 - last.anchor.blockNumber) : null,
          consecutiveFailures: state.failures,
          lastErrorCode: state.lastErrorCode ?? null,
          lastErrorAt: iso(state.lastErrorAt),
          nextAttemptAt: state.failures > 0 ? iso(state.nextAttemptAt) : null,
        };
      }),
    };
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      if (this.#timer) (this.#options.timers ?? GLOBAL_TIMERS).clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#abort.abort();
      await this.#ticking?.catch(() => undefined);
      await this.#pinning?.catch(() => undefined);
      await Promise.all(this.#states.map((s) => s.inFlight?.catch(() => undefined)));
    })();
    return this.#closing;
  }

  #schedule(delayMs: number): void {
    if (this.#closed) return;
    this.#timer = (this.#options.timers ?? GLOBAL_TIMERS).setTimeout(() => {
      this.#timer = undefined;
      void this.#tick().finally(() => this.#schedule(this.#pollMs));
    }, delayMs);
  }

  /** Looks at the tip once and starts an attempt for every target that is due. */
  #tick(): Promise<void> {
    const tick = (async () => {
      if (this.#closed) return;
      let tip: ChainInfo;
      try {
        tip = await this.#options.ledger.info();
      } catch {
        return; // the ledger is closing or unavailable: nothing to anchor now
      }
      if (tip.tipHash === null || tip.height < 1) return;
      const now = this.#now();
      const started: Promise<void>[] = [];
      for (const state of this.#states) {
        if (state.inFlight) {
          started.push(state.inFlight);
        } else if (this.#due(state, tip.height - 1, now)) {
          const attempt = this.#attempt(state, {
            sourceChainId: this.#options.ledger.chainId,
            blockNumber: tip.height - 1,
            headerHash: tip.tipHash,
          }).finally(() => {
            state.inFlight = undefined;
          });
          state.inFlight = attempt;
          started.push(attempt);
        }
      }
      await Promise.all(started);
    })();
    this.#ticking = tick;
    return tick;
  }

  #due(state: TargetState, tipNumber: number, now: number): boolean {
    if (this.#closed || now < state.nextAttemptAt) return false;
    const last = state.last;
    if (!last) return true;
    if (tipNumber <= last.anchor.blockNumber) return false; // the tip has not moved
    if (state.failures > 0) return true; // a retry, once the backoff has passed
    return (
      now - Date.parse(last.storedAt) >= this.#options.intervalMs ||
      tipNumber - last.anchor.blockNumber >= this.#options.everyBlocks
    );
  }

  async #pin(state: TargetState): Promise<TrustFile> {
    const fetched = await state.target.trust({ signal: this.#abort.signal });
    const { trust, rotated } = pinTrust(state.trust, fetched);
    if (rotated) {
      this.#options.logger.warn(
        { target: state.target.name, chains: fetched.chains.map((c) => c.chainId) },
        'anchor target presents new keys; pinned in addition to the old ones',
      );
    }
    if (canonicalJson(trust) !== canonicalJson(state.trust ?? null)) {
      await this.#options.store.putTrust(state.target.name, trust);
    }
    state.trust = trust;
    return trust;
  }

  async #attempt(state: TargetState, input: AnchorInput): Promise<void> {
    const name = state.target.name;
    try {
      const trust = state.trust ?? (await this.#pin(state));
      const submitted = await state.target.submit(input, { signal: this.#abort.signal });
      try {
        checkSubmitted(input, submitted, trust);
      } catch (error) {
        // Signed by a key not pinned yet: the target may have rotated its node key since its
        // trust file was pinned. Fetch it again (new keys are added, none dropped) and check once
        // more; a key the target itself does not present stays refused.
        if (!signedByUnpinnedKey(submitted, trust)) throw error;
        checkSubmitted(input, submitted, await this.#pin(state));
      }
      const storedAt = new Date(this.#now()).toISOString();
      const entry: StoredAnchor =
        submitted.kind === 'chain'
          ? {
              target: name,
              targetChainId: submitted.proof.tx.chainId,
              anchor: submitted.anchor,
              proof: submitted.proof,
              storedAt,
            }
          : {
              kind: 'timestamp',
              target: name,
              targetChainId: name,
              anchor: submitted.anchor,
              token: submitted.token,
              storedAt,
            };
      await this.#options.store.put(entry);
      const recovered = state.failures;
      state.last = entry;
      state.failures = 0;
      state.nextAttemptAt = 0;
      this.#options.onAnchored?.(name, entry);
      this.#options.logger.info(
        {
          target: name,
          targetChainId: entry.targetChainId,
          blockNumber: input.blockNumber,
          ...(entry.kind === 'timestamp'
            ? { stampedAt: entry.anchor.time }
            : { targetBlock: entry.proof.block.header.number }),
          ...(recovered > 0 ? { afterFailures: recovered } : {}),
        },
        'anchored',
      );
    } catch (error) {
      if (this.#closed) return;
      const code: ErrorCode = isEvidenceError(error) ? error.code : 'INTERNAL';
      const now = this.#now();
      state.failures += 1;
      state.lastErrorCode = code;
      state.lastErrorAt = now;
      const delay = backoffDelay(
        state.failures,
        this.#options.backoffMinMs,
        this.#options.backoffMaxMs,
        this.#random,
      );
      state.nextAttemptAt = now + delay;
      const details = {
        target: name,
        code,
        blockNumber: input.blockNumber,
        failures: state.failures,
        retryInMs: delay,
        ...(isEvidenceError(error) ? { detail: error.message } : { err: error }),
      };
      if (ALARMING.includes(code)) this.#options.logger.error(details, 'anchoring refused');
      else this.#options.logger.warn(details, 'anchoring failed; will retry');
    }
  }
}

/** The job over `options`; nothing runs until `start()`. */
export function createAnchorJob(options: AnchorJobOptions): AnchorJob {
  return new AnchorJobImpl(options);
}
