/**
 * The replica's job (docs/replicas.md): it asks the source node for the blocks after the ones it
 * holds, starting with the last one it holds, and hands each to the ledger, which checks it
 * against the pinned trust file and runs it again before committing it. Caught up, it asks again
 * every `intervalMs`; after a failure it waits longer each time (doubling, up to `backoffMaxMs`).
 *
 * Asking again for the block it holds is how a fork shows: if the source now serves, at a height
 * the replica holds, a different block signed by the key that signed the held one, the source has
 * signed two histories. The replica keeps both signed headers as proof in
 * `<dataDir>/replica-fork.json` (replica/forks.ts, which passes it on to the source and the fork
 * peers), stops following, and says so in its status and metrics until an operator has looked
 * (and removed the file); a proof another node gave it stops it too. A different block that is
 * not validly signed proves nothing about the source: it is refused as `BLOCK_INVALID` and asked
 * for again later.
 */

import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import { blockHash, type SignedBlockHeader } from '../../core/block';
import { isEvidenceError, ReplicaError } from '../../core/errors';
import { forkProofOf, type ForkProof } from '../../core/fork';
import type { Digest } from '../../core/digest';
import { parseSignedHeaderOf, signatureProblem } from '../../core/full-block';
import type { Ledger } from '../ledger/ledger';
import { keyForBlock } from '../ledger/embedded/node-keys';
import type { ReplicaMetrics } from '../metrics';
import { FORK_FILE, ForkRecord } from './forks';
import { writeWhole } from '../storage/durable-files';
import { BLOCKS_PER_CALL, type BlocksAnswer, type ReplicaSource } from './source';

/** Answers asked for in one round, one ahead of the blocks being committed. */
const CALLS_PER_ROUND = 16;

export { FORK_FILE } from './forks';

/**
 * The most blocks the source ever said it held, kept in the data directory (synced, each time it
 * grows): a promotion (gateway/promote.ts) must not fall short of it, or blocks the source signed
 * and the replica never took would be signed again, differently.
 */
export const SOURCE_HEIGHT_FILE = 'replica-source.json';

export interface SourceHeightRecord {
  readonly source: string;
  readonly chainId: string;
  readonly height: number;
  /** When the source said so. */
  readonly at: string;
}

/** The record in `dataDir`, or `undefined` when there is none or it is not one. */
export async function readSourceHeight(dataDir: string): Promise<SourceHeightRecord | undefined> {
  try {
    const value = JSON.parse(
      await fs.readFile(path.join(dataDir, SOURCE_HEIGHT_FILE), 'utf8'),
    ) as Partial<SourceHeightRecord>;
    return typeof value.height === 'number' &&
      Number.isSafeInteger(value.height) &&
      typeof value.chainId === 'string' &&
      typeof value.source === 'string' &&
      typeof value.at === 'string'
      ? (value as SourceHeightRecord)
      : undefined;
  } catch {
    return undefined;
  }
}

export interface ReplicaStatus {
  readonly source: string;
  readonly chainId: string;
  /** Blocks this replica holds. */
  readonly height: number;
  /** Blocks the source said it holds at the last answer; `null` before one. */
  readonly sourceHeight: number | null;
  /** How many blocks the replica is behind its source's last answer. */
  readonly behind: number | null;
  /** When the replica last heard from its source without error. */
  readonly lastSyncAt: string | null;
  /** Blocks committed by this run. */
  readonly replicatedBlocks: number;
  readonly failures: number;
  readonly lastError: {
    readonly code: string;
    readonly message: string;
    readonly at: string;
  } | null;
  /** The proof of a fork; the replica follows no more while it is there. */
  readonly forked: ForkProof | null;
}

export interface FollowerOptions {
  readonly ledger: Ledger;
  readonly source: ReplicaSource;
  readonly dataDir: string;
  /** The node's record of a fork of its chain; by default one of its own in `dataDir`. */
  readonly forks?: ForkRecord;
  readonly intervalMs: number;
  readonly backoffMaxMs?: number;
  readonly logger?: FastifyBaseLogger;
  readonly metrics?: ReplicaMetrics;
  /** No timer: the caller runs {@link ReplicaFollower.syncOnce} (tests). */
  readonly manual?: boolean;
  readonly clock?: () => number;
}

export interface ReplicaFollower {
  start(): Promise<void>;
  /** One round: asks for blocks until caught up, or fails; `true` when more remain. */
  syncOnce(): Promise<boolean>;
  status(): Promise<ReplicaStatus>;
  close(): Promise<void>;
}

export function createReplicaFollower(options: FollowerOptions): ReplicaFollower {
  return new Follower(options);
}

class Follower implements ReplicaFollower {
  readonly #options: FollowerOptions;
  readonly #ledger: Ledger;
  readonly #clock: () => number;
  readonly #abort = new AbortController();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> = Promise.resolve();
  #closed = false;
  #sourceHeight: number | null = null;
  #lastSyncAt: number | null = null;
  #replicated = 0;
  #failures = 0;
  #lastError: ReplicaStatus['lastError'] = null;
  readonly #forks: ForkRecord;
  /** The most blocks the source ever said it held, as recorded in SOURCE_HEIGHT_FILE. */
  #recordedSourceHeight = 0;

  constructor(options: FollowerOptions) {
    this.#options = options;
    this.#ledger = options.ledger;
    this.#clock = options.clock ?? Date.now;
    this.#forks =
      options.forks ??
      new ForkRecord({
        dataDir: options.dataDir,
        targets: [],
        ...(options.logger ? { logger: options.logger } : {}),
        ...(options.metrics ? { onForked: () => options.metrics?.forked() } : {}),
      });
  }

  async start(): Promise<void> {
    await this.#forks.load();
    const recorded = await readSourceHeight(this.#options.dataDir);
    if (recorded?.chainId === this.#ledger.chainId) this.#recordedSourceHeight = recorded.height;
    this.#options.metrics?.held((await this.#ledger.info()).height);
    if (!this.#options.manual) this.#schedule(0);
  }

  syncOnce(): Promise<boolean> {
    const run = this.#running.then(() => this.#round());
    this.#running = run.catch(() => undefined);
    return run;
  }

  async status(): Promise<ReplicaStatus> {
    const info = await this.#ledger.info();
    return {
      source: this.#options.source.url,
      chainId: this.#ledger.chainId,
      height: info.height,
      sourceHeight: this.#sourceHeight,
      behind: this.#sourceHeight === null ? null : Math.max(0, this.#sourceHeight - info.height),
      lastSyncAt: this.#lastSyncAt === null ? null : new Date(this.#lastSyncAt).toISOString(),
      replicatedBlocks: this.#replicated,
      failures: this.#failures,
      lastError: this.#lastError,
      forked: this.#forks.current(),
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#abort.abort();
    await this.#running;
    if (!this.#options.forks) this.#forks.close();
  }

  #schedule(delayMs: number): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      void this.syncOnce().then(
        (more) => this.#schedule(more ? 0 : this.#options.intervalMs),
        () => this.#schedule(this.#backoff()),
      );
    }, delayMs);
    this.#timer.unref?.();
  }

  #backoff(): number {
    const max = this.#options.backoffMaxMs ?? 60_000;
    return Math.min(max, this.#options.intervalMs * 2 ** Math.min(this.#failures, 16));
  }

  async #round(): Promise<boolean> {
    if (this.#forks.current() || this.#closed) return false;
    try {
      return await this.#sync();
    } finally {
      // A source answered with its height even when the round then failed.
      await this.#recordSourceHeight();
    }
  }

  /** Keeps the source's height when it is the most it ever said (a failure is only logged). */
  async #recordSourceHeight(): Promise<void> {
    const height = this.#sourceHeight;
    if (height === null || height <= this.#recordedSourceHeight || this.#closed) return;
    const record: SourceHeightRecord = {
      source: this.#options.source.url,
      chainId: this.#ledger.chainId,
      height,
      at: new Date(this.#clock()).toISOString(),
    };
    try {
      await writeWhole(
        path.join(this.#options.dataDir, SOURCE_HEIGHT_FILE),
        `${JSON.stringify(record)}\n`,
        { replace: true },
      );
      this.#recordedSourceHeight = height;
    } catch (error) {
      this.#options.logger?.warn(
        { err: error },
        `the source's height could not be recorded in ${SOURCE_HEIGHT_FILE}`,
      );
    }
  }

  async #sync(): Promise<boolean> {
    try {
      const more = await this.#fetchAndCommit();
      this.#lastSyncAt = this.#clock();
      this.#failures = 0;
      this.#lastError = null;
      const info = await this.#ledger.info();
      this.#options.metrics?.progress(
        info.height,
        this.#sourceHeight ?? info.height,
        this.#clock(),
      );
      return more;
    } catch (error) {
      if (this.#closed) return false;
      this.#failures += 1;
      const code = isEvidenceError(error) ? error.code : 'INTERNAL';
      const message = (error as Error).message;
      this.#lastError = { code, message, at: new Date(this.#clock()).toISOString() };
      this.#options.metrics?.failed(code);
      this.#options.logger?.warn(
        { code, failures: this.#failures },
        `replication failed: ${message}`,
      );
      throw error;
    }
  }

  /**
   * Asks for the blocks from the one held last and commits them; while they are checked and
   * written, asks already for the next ones (from the last of these), up to
   * {@link CALLS_PER_ROUND} answers a round. `true` when the source has more.
   */
  async #fetchAndCommit(): Promise<boolean> {
    const info = await this.#ledger.info();
    let held = info.height - 1;
    let heldHash: Digest | null = info.tipHash;
    let answer = await this.#ask(held);
    for (let calls = 1; ; calls++) {
      const next = await this.#newBlocks(answer, held, heldHash);
      // Checked and executed one after another, written in order; a refused block fails those
      // after it, and the round ends with the first failure.
      const committing = Promise.allSettled(next.map((raw) => this.#ledger.replicate!(raw)));
      const more = answer.height > held + 1 + next.length;
      const ahead =
        more && next.length > 0 && calls < CALLS_PER_ROUND
          ? this.#ask(held + next.length)
          : undefined;
      ahead?.catch(() => undefined); // awaited below, or dropped with the round's failure
      for (const outcome of await committing) {
        if (outcome.status === 'rejected') throw outcome.reason;
        this.#replicated += 1;
        // The block held now, as the ledger committed it: the next answer must start with it.
        ({ number: held, hash: heldHash } = outcome.value);
      }
      if (!ahead) return more;
      answer = await ahead;
    }
  }

  #ask(from: number) {
    // The first block is the one held: its signed header is all it is compared by.
    return this.#options.source.blocks(from, BLOCKS_PER_CALL, this.#abort.signal, 'header');
  }

  /**
   * The blocks of `answer` after the one held at `held`, once that one is checked to be the block
   * held (hash `heldHash`): another one validly signed is a fork ({@link #fork}).
   */
  async #newBlocks(answer: BlocksAnswer, held: number, heldHash: Digest | null): Promise<string[]> {
    if (answer.chainId !== this.#ledger.chainId) {
      throw new ReplicaError(
        'BLOCK_INVALID',
        `the source serves chain ${answer.chainId}, not ${this.#ledger.chainId}`,
      );
    }
    this.#sourceHeight = answer.height;
    const [first, ...next] = answer.blocks;
    if (first === undefined) {
      // Not proof of anything (a source restored from an old backup answers so), but the
      // operators of both nodes must know: blocks this replica holds are gone from the source.
      throw new ReplicaError(
        'CHAIN_FORKED',
        `the source says it holds ${answer.height} blocks; this replica holds ${held + 1}, ` +
          'which it signed: blocks it served are gone from it',
      );
    }
    const served = parseSignedHeaderOf(first);
    if (served.header.number !== held) {
      throw new ReplicaError('BLOCK_INVALID', `asked for block ${held}, the source served another`);
    }
    if (blockHash(served.header) !== heldHash) await this.#fork(served, held);
    if (next.length === 0 && answer.height > held + 1) {
      // A node always sends a block after the one asked from when it has one: asking again
      // at once would only get the same answer.
      throw new ReplicaError(
        'BLOCK_INVALID',
        `the source says it holds ${answer.height} blocks but served none after block ${held}`,
      );
    }
    return next;
  }

  /** The source served a block other than the one held at `number`: proof of a fork, or junk. */
  async #fork(served: SignedBlockHeader, number: number): Promise<never> {
    const key = keyForBlock(this.#ledger.nodeKeys?.() ?? [], number);
    const held = await this.#ledger.blockHeader?.(number);
    const problem = key ? signatureProblem(served, key) : 'no key is recorded for it';
    if (problem || !held) {
      throw new ReplicaError(
        'BLOCK_INVALID',
        `the source served a block ${number} other than the one held, not validly signed (${problem})`,
      );
    }
    // The first proof is kept: a later one would say the same.
    await this.#forks.keep(forkProofOf(held, served, new Date(this.#clock())), { how: 'found' });
    throw new ReplicaError(
      'CHAIN_FORKED',
      `the source signed a block ${number} other than the one this replica holds; ` +
        `both signed headers are kept in ${FORK_FILE}`,
    );
  }
}
