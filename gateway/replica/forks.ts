/**
 * What a node knows of a fork of its chain (docs/replicas.md): the proof that the chain's key
 * signed two different blocks at one height, kept in `<dataDir>/replica-fork.json` (the first
 * proof; synced; read back at every start), and passed on to the nodes that must know.
 *
 * A replica keeps a proof when its source serves a second history (replica/follower.ts), and any
 * node keeps one another node gives it (`POST /v1/forks`) once it has checked it against the keys
 * of its own chain. A replica that holds a proof follows its source no more. A node that keeps a
 * proof for the first time tells its targets, the fork peers of its configuration
 * (`EVIDENCE_FORK_PEERS`) and, on a replica, its source: each by `POST {url}/v1/forks`, again
 * after a failure (waiting longer each time) until it answers, and again at every start while the
 * proof is there. A replica that has not yet reached the key that signed the proof cannot check
 * it (`409 FORK_KEY_UNKNOWN`): it is asked again in the same way, and takes it once it has
 * followed the chain's key rotations. A node that already held a proof does not pass on another,
 * so a proof crosses a consortium once.
 */

import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import type { ForkPeerConfig } from '../config';
import { parseForkProof, type ForkProof } from '../../core/fork';
import { writeWhole } from '../storage/durable-files';

/** Where the proof of a fork is kept, in the data directory. */
export const FORK_FILE = 'replica-fork.json';

/** Deadline of one notice. */
const NOTICE_TIMEOUT_MS = 10_000;
const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 5 * 60_000;

/** A node told of a fork: as a fork peer is configured (a replica's source is one more). */
export type ForkTarget = ForkPeerConfig;

/** Where the notice to one target stands. */
export interface ForkNotice {
  readonly target: string;
  /**
   * `sent`: the target took the proof (or held one already); `refused`: it answered 4xx (but
   * `409 FORK_KEY_UNKNOWN` and `429`, which are asked again); `pending`: not answered yet.
   */
  readonly state: 'pending' | 'sent' | 'refused';
  readonly attempts: number;
  readonly lastError: string | null;
}

/** How a node came to hold a proof: its replica job found it, or a client gave it (`by`). */
export type ForkOrigin = { readonly how: 'found' } | { readonly how: 'given'; readonly by: string };

export interface ForkRecordOptions {
  readonly dataDir: string;
  readonly targets: readonly ForkTarget[];
  readonly logger?: FastifyBaseLogger;
  /** Told once when a proof is held (read back at start, found or received). */
  readonly onForked?: () => void;
  /** Told when a proof is first kept (not when one is read back): for the audit log. */
  readonly onKept?: (proof: ForkProof, how: ForkOrigin) => void;
  readonly fetch?: typeof fetch;
  readonly retryMinMs?: number;
}

interface NoticeState {
  state: ForkNotice['state'];
  attempts: number;
  lastError: string | null;
  timer?: NodeJS.Timeout;
}

export class ForkRecord {
  readonly #options: ForkRecordOptions;
  readonly #file: string;
  readonly #notices = new Map<string, NoticeState>();
  readonly #abort = new AbortController();
  #proof: ForkProof | null = null;
  #keeping: Promise<boolean> | undefined;
  #loading: Promise<ForkProof | null> | undefined;
  #closed = false;

  constructor(options: ForkRecordOptions) {
    this.#options = options;
    this.#file = path.join(options.dataDir, FORK_FILE);
  }

  /**
   * Reads the proof an earlier run kept, and tells the targets again; once (later calls answer
   * the same).
   * @throws Error when the file is there but is not a fork proof (an operator must look).
   */
  load(): Promise<ForkProof | null> {
    this.#loading ??= this.#read();
    return this.#loading;
  }

  async #read(): Promise<ForkProof | null> {
    let text: string;
    try {
      text = await fs.readFile(this.#file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    try {
      this.#proof = parseForkProof(JSON.parse(text) as unknown);
    } catch {
      throw new Error(
        `${this.#file} is not the fork proof this node wrote; look at it, then remove it`,
      );
    }
    this.#held('kept by an earlier run');
    return this.#proof;
  }

  /** The proof held, if any. */
  current(): ForkProof | null {
    return this.#proof;
  }

  /**
   * Keeps `proof` (checked by the caller) unless one is held already; `true` when it is the first.
   * The first is written (synced) before this resolves, and passed on to the targets.
   */
  keep(proof: ForkProof, origin: ForkOrigin): Promise<boolean> {
    // One at a time: two proofs arriving together keep one.
    const run = (this.#keeping ?? Promise.resolve(false)).then(async () => {
      if (this.#proof) return false;
      await writeWhole(this.#file, `${JSON.stringify(proof, null, 2)}\n`, { replace: false }).catch(
        (error: unknown) => {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        },
      );
      this.#proof = proof;
      this.#options.onKept?.(proof, origin);
      this.#held(origin.how === 'found' ? 'found by this replica' : `given by ${origin.by}`);
      return true;
    });
    this.#keeping = run.catch(() => false);
    return run;
  }

  /** Where each notice stands; none while no proof is held (there is nothing to tell). */
  notices(): ForkNotice[] {
    if (!this.#proof) return [];
    return this.#options.targets.map((target) => {
      const notice = this.#notices.get(target.name);
      return {
        target: target.name,
        state: notice?.state ?? 'pending',
        attempts: notice?.attempts ?? 0,
        lastError: notice?.lastError ?? null,
      };
    });
  }

  /** Stops the notices still being retried. */
  close(): void {
    this.#closed = true;
    this.#abort.abort();
    for (const notice of this.#notices.values()) clearTimeout(notice.timer);
  }

  #held(how: string): void {
    const proof = this.#proof as ForkProof;
    this.#options.onForked?.();
    this.#options.logger?.error(
      { number: proof.number, chainId: proof.chainId },
      `chain ${proof.chainId} signed two different blocks ${proof.number} (proof ${how}, in ${FORK_FILE})`,
    );
    for (const target of this.#options.targets) {
      const notice: NoticeState = { state: 'pending', attempts: 0, lastError: null };
      this.#notices.set(target.name, notice);
      void this.#tell(target, notice);
    }
  }

  async #tell(target: ForkTarget, notice: NoticeState): Promise<void> {
    if (this.#closed) return;
    notice.attempts += 1;
    const fetcher = this.#options.fetch ?? fetch;
    let problem: string;
    let retry = true;
    try {
      const response = await fetcher(`${target.url}/v1/forks`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${target.apiKey}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify(this.#proof),
        signal: AbortSignal.any([this.#abort.signal, AbortSignal.timeout(NOTICE_TIMEOUT_MS)]),
      });
      const text = await response.text();
      if (response.ok) {
        notice.state = 'sent';
        notice.lastError = null;
        this.#options.logger?.info({ target: target.name }, 'fork proof passed on');
        return;
      }
      problem = `${response.status} ${text.slice(0, 300)}`;
      // A node that does not take it (another chain, not proven to it) will not later; a
      // replica behind the key that signed it will, once it has followed the rotations.
      retry =
        response.status === 429 || response.status >= 500 || codeOf(text) === 'FORK_KEY_UNKNOWN';
    } catch (error) {
      if (this.#closed) return;
      problem = (error as Error).message;
    }
    notice.lastError = problem;
    if (!retry) {
      notice.state = 'refused';
      this.#options.logger?.warn({ target: target.name }, `fork proof refused: ${problem}`);
      return;
    }
    const min = this.#options.retryMinMs ?? RETRY_MIN_MS;
    const delay = Math.min(RETRY_MAX_MS, min * 2 ** Math.min(notice.attempts - 1, 16));
    this.#options.logger?.warn(
      { target: target.name, attempts: notice.attempts },
      `fork proof not passed on yet: ${problem}`,
    );
    notice.timer = setTimeout(() => void this.#tell(target, notice), delay);
    notice.timer.unref?.();
  }
}

/** The error code of an answer's body, if it is the node's error JSON. */
function codeOf(text: string): string | undefined {
  try {
    const body = JSON.parse(text) as { code?: unknown } | null;
    return typeof body?.code === 'string' ? body.code : undefined;
  } catch {
    return undefined;
  }
}
