/**
 * Anchoring on the evidence node, without HTTP: the job that records this chain's tip on the
 * configured targets, the store that keeps their proofs, the status of each target, and the
 * upgrade of receipts from the stored proofs (docs/anchors.md).
 *
 * With no target configured nothing is opened and nothing runs; `status()` lists no target and
 * `upgrade()` answers `ANCHOR_PENDING` for any valid receipt of this chain.
 */

import path from 'node:path';
import type { Config } from '../config';
import type { Ledger } from '../ledger/ledger';
import {
  createAnchorJob,
  type AnchorJob,
  type AnchoringStatus,
  type JobLogger,
} from './anchor-job';
import type { StoreCopy } from '../storage/store-copy';
import { mergeTrust, type TrustFile } from '../../core/trust';
import { openAnchorStore, type AnchorStore, type StoredAnchor } from './anchor-store';
import { createAnchorTargets, type AnchorTarget } from './target';
import { upgradeReceipt, type Upgraded } from './upgrade';

export interface Anchoring {
  /** Opens the store and starts the job (no-op without targets). Call once. */
  start(): Promise<void>;
  status(): Promise<AnchoringStatus>;
  /** See `upgradeReceipt`. */
  upgrade(receipt: unknown): Promise<Upgraded>;
  /**
   * What this node pinned for its targets (their chains' keys, the authorities' keys), as one
   * trust file: what it checked every anchor it keeps against. No chains without targets.
   */
  targetsTrust(): TrustFile;
  /** One anchoring pass now, waiting for it (tests, tools). */
  runOnce(): Promise<void>;
  /**
   * Copies the anchor store into a new store at `location` (backups); `undefined` when no target
   * is configured, so there is no store.
   */
  copyStore(location: string): Promise<StoreCopy | undefined>;
  /** Stops the job, then closes the store. Safe to call twice, and before `start()`. */
  close(): Promise<void>;
}

export type AnchoringConfig = Pick<
  Config,
  | 'dataDir'
  | 'anchorTargets'
  | 'anchorIntervalMs'
  | 'anchorEveryBlocks'
  | 'anchorBackoffMinMs'
  | 'anchorBackoffMaxMs'
  | 'anchorTimeoutMs'
>;

export interface AnchoringOptions {
  readonly config: AnchoringConfig;
  readonly ledger: Ledger;
  readonly logger: JobLogger;
  /** Targets to use instead of those of the configuration (tests). */
  readonly targets?: readonly AnchorTarget[];
  /** Where the anchor store lives; default `<dataDir>/anchoring`. */
  readonly storeDir?: string;
  /** No timer: anchoring passes run only through `runOnce()` (tests). */
  readonly manual?: boolean;
  /** Told about every target's last anchor (metrics). */
  readonly onAnchored?: (target: string, anchor: StoredAnchor) => void;
  readonly now?: () => number;
  readonly random?: () => number;
}

class AnchoringImpl implements Anchoring {
  readonly #options: AnchoringOptions;
  readonly #targets: readonly AnchorTarget[];
  #store: AnchorStore | undefined;
  #job: AnchorJob | undefined;
  #closed = false;

  constructor(options: AnchoringOptions) {
    this.#options = options;
    this.#targets =
      options.targets ??
      createAnchorTargets(options.config.anchorTargets, {
        timeoutMs: options.config.anchorTimeoutMs,
      });
  }

  async start(): Promise<void> {
    if (this.#targets.length === 0 || this.#closed || this.#store) return;
    const { config } = this.#options;
    const store = await openAnchorStore(
      this.#options.storeDir ?? path.join(config.dataDir, 'anchoring'),
    );
    this.#store = store;
    const job = createAnchorJob({
      ledger: this.#options.ledger,
      store,
      targets: this.#targets,
      intervalMs: config.anchorIntervalMs,
      everyBlocks: config.anchorEveryBlocks,
      backoffMinMs: config.anchorBackoffMinMs,
      backoffMaxMs: config.anchorBackoffMaxMs,
      logger: this.#options.logger,
      ...(this.#options.onAnchored ? { onAnchored: this.#options.onAnchored } : {}),
      ...(this.#options.manual ? { manual: true } : {}),
      ...(this.#options.now ? { now: this.#options.now } : {}),
      ...(this.#options.random ? { random: this.#options.random } : {}),
    });
    await job.start();
    this.#job = job;
  }

  async copyStore(location: string): Promise<StoreCopy | undefined> {
    return this.#store?.copyTo(location);
  }

  async status(): Promise<AnchoringStatus> {
    if (this.#job) return this.#job.status();
    const { config, ledger } = this.#options;
    const info = await ledger.info();
    return {
      sourceChainId: ledger.chainId,
      tipBlock: info.height - 1,
      intervalMs: config.anchorIntervalMs,
      everyBlocks: config.anchorEveryBlocks,
      targets: [],
    };
  }

  upgrade(receipt: unknown): Promise<Upgraded> {
    const store = this.#store;
    const job = this.#job;
    return upgradeReceipt(
      {
        ledger: this.#options.ledger,
        targets: store ? this.#targets.map((t) => t.name) : [],
        covering: async (target, n) => store?.covering(target, n),
        trustOf: (target) => job?.trustOf(target),
        logger: this.#options.logger,
      },
      receipt,
    );
  }

  targetsTrust(): TrustFile {
    const job = this.#job;
    const pinned = this.#targets.flatMap((target) => {
      const trust = job?.trustOf(target.name);
      return trust ? [trust] : [];
    });
    return mergeTrust(...pinned);
  }

  async runOnce(): Promise<void> {
    await this.#job?.runOnce();
  }

  async close(): Promise<void> {
    this.#closed = true;
    const job = this.#job;
    const store = this.#store;
    this.#job = undefined;
    this.#store = undefined;
    await job?.close();
    await store?.close();
  }
}

/** Anchoring for the node; nothing is opened until `start()`. */
export function createAnchoring(options: AnchoringOptions): Anchoring {
  return new AnchoringImpl(options);
}

export type { AnchoringStatus, TargetStatus } from './anchor-job';
export type { Upgraded } from './upgrade';
