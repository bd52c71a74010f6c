/**
 * The node's Prometheus metrics, in a registry of their own (never prom-client's global one, so
 * several apps in one process, as in tests, do not share or clash). Served as text at `/metrics`
 * by plugins/metrics.ts.
 *
 * | metric                                   | type      | labels                 |
 * |------------------------------------------|-----------|------------------------|
 * | `evidence_deposits_total`                | counter   | `outcome`: created, attested, existing, failed |
 * | `evidence_group_commit_batch_size`       | histogram | records per deposit transaction |
 * | `evidence_commit_duration_seconds`       | histogram | submit to durable, per deposit transaction |
 * | `evidence_group_commit_queue_depth`      | gauge     | deposits waiting for a transaction |
 * | `evidence_group_commit_in_flight`        | gauge     | deposit transactions being committed |
 * | `evidence_errors_total`                  | counter   | `code`: every error answered (requests and batch items) |
 * | `http_request_duration_seconds`          | histogram | `method`, `route` (template), `status_code` |
 * | `evidence_last_anchor_age_seconds`       | gauge     | `target`: seconds since the chain was last anchored there |
 * | `evidence_backups_total`                 | counter   | `outcome`: completed, failed (backups of this run) |
 * | `evidence_last_backup_timestamp_seconds` | gauge     | when the last completed backup finished (this run's or the folder's), Unix seconds; 0 before the first |
 * | `evidence_last_backup_duration_seconds`  | gauge     | how long the last backup of this run took, completed or failed |
 * | `evidence_node_key_since_timestamp_seconds` | gauge   | when the node key that signs now started signing (its rotation, or the chain's creation), Unix seconds |
 * | `evidence_node_key_rotations_total`      | counter   | node key rotations of this run |
 * | `evidence_node_key_info`                 | gauge     | `key_id`, `algorithm` (ed25519, sm2-sm3) of the key that signs now; value 1 |
 * | `process_*`, `nodejs_*`                  |           | prom-client's default process metrics |
 */

import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { threadCpuOf } from './threads/thread-cpu';
import type { DepositOutcome } from '../core/evidence-state';

/** What the group commit reports; the evidence service calls it. */
export interface DepositMetrics {
  /** A deposit transaction of `size` records became durable after `seconds`. */
  committed(size: number, seconds: number, outcomes: readonly DepositOutcome[]): void;
  /** A deposit transaction of `size` records failed after `seconds`. */
  failed(size: number, seconds: number): void;
  /** An item or request was answered with error `code`. */
  error(code: string): void;
}

/** Ages of the last anchors, for the anchoring job. */
export interface AnchorAgeMetric {
  /**
   * Records that this chain's tip was anchored on `target` at `time` (epoch ms or a Date); the
   * gauge then reports the seconds since, at each scrape. A target never anchored has no sample.
   */
  anchored(target: string, time: number | Date): void;
  /** Drops `target`'s sample (a target no longer configured). */
  forget(target: string): void;
}

/** What the backup service (gateway/backup.ts) reports. */
export interface BackupMetrics {
  /** A backup of this run finished after `seconds`; `at` is when (epoch ms). */
  finished(outcome: 'completed' | 'failed', seconds: number, at: number): void;
  /** The last completed backup of the folder, found at start, finished at `at` (epoch ms). */
  completedBefore(at: number): void;
}

/** What the node key routes (routes/admin-node-keys.ts) and the node's start report. */
/** Which key signs now, for `evidence_node_key_info`. */
export interface SigningKey {
  readonly keyId: string;
  readonly algorithm: string;
}

export interface NodeKeyMetrics {
  /** `key` signs now, since `since` (epoch ms). */
  current(since: number, key: SigningKey): void;
  /** The key was rotated; `key` signs from `since` (epoch ms). */
  rotated(since: number, key: SigningKey): void;
}

/** A replica's progress (gateway/replica/follower.ts). */
export interface ReplicaMetrics {
  /**
   * The replica started holding `height` blocks: how far behind it is is unknown (NaN) and it
   * has not heard from its source yet (0) until a round succeeds.
   */
  held(height: number): void;
  /** A round ended without error: blocks held, blocks the source has, at `at` (epoch ms). */
  progress(height: number, sourceHeight: number, at: number): void;
  failed(code: string): void;
  /** The source signed two blocks at one height. */
  forked(): void;
}

export interface NodeMetrics {
  readonly registry: Registry;
  readonly nodeKey: NodeKeyMetrics;
  readonly deposits: DepositMetrics;
  readonly anchors: AnchorAgeMetric;
  readonly backups: BackupMetrics;
  readonly replica: ReplicaMetrics;
  /** The node holds proof that its chain's key signed two blocks at one height. */
  chainForked(): void;
  /** Records one answered HTTP request. `route` is the route template, never the raw URL. */
  observeRequest(method: string, route: string, statusCode: number, seconds: number): void;
  /** The exposition text and its content type. */
  render(): Promise<{ readonly contentType: string; readonly text: string }>;
}

export interface MetricsOptions {
  /** Read at each scrape: deposits waiting, and deposit transactions in flight. */
  readonly queue?: () => { readonly waiting: number; readonly inFlight: number };
  /** Clock in epoch ms (tests). */
  readonly now?: () => number;
  /**
   * Also export prom-client's default process metrics and the node's CPU by thread (default
   * true).
   */
  readonly processMetrics?: boolean;
  /** The operating system's id of the ledger's own thread, if it has one (Ledger.osThreadId). */
  readonly ledgerThreadId?: () => number | undefined;
}

const BATCH_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000];
const SECONDS_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** The threads `evidence_thread_cpu_seconds_total` tells apart (threads/thread-cpu.ts). */
const THREADS = ['http', 'ledger', 'storage', 'pdf', 'other'] as const;

/**
 * `evidence_thread_cpu_seconds_total{thread}`: this process's CPU by the threads it names, read
 * from /proc at each scrape (no series where there is none). A counter: each series only grows
 * (a thread that ended leaves its share in `other`).
 */
function threadCpuCounter(registry: Registry, ledgerThreadId: () => number | undefined): void {
  /** The most each thread's CPU ever read. */
  const counted = new Map<string, number>();
  new Counter({
    name: 'evidence_thread_cpu_seconds_total',
    help:
      'CPU seconds of this process by thread: http (the main thread), ledger, storage (the ' +
      "threads the ledger thread started: LevelDB's compaction, the I/O pool), pdf, other (V8's " +
      'helpers)',
    labelNames: ['thread'] as const,
    registers: [registry],
    collect() {
      const cpu = threadCpuOf(process.pid, ledgerThreadId());
      if (!cpu) return;
      // Each series is the most its thread ever read (it only grows), set whole at each scrape.
      this.reset();
      for (const thread of THREADS) {
        const most = Math.max(counted.get(thread) ?? 0, cpu[thread]);
        counted.set(thread, most);
        if (most > 0) this.inc({ thread }, most);
      }
    },
  });
}

/** A fresh set of the node's metrics in a new registry. */
export function createMetrics(options: MetricsOptions = {}): NodeMetrics {
  const registry = new Registry();
  const now = options.now ?? Date.now;
  if (options.processMetrics ?? true) {
    collectDefaultMetrics({ register: registry });
    threadCpuCounter(registry, options.ledgerThreadId ?? (() => undefined));
  }

  const deposits = new Counter({
    name: 'evidence_deposits_total',
    help: 'Deposited records by outcome (failed: their transaction failed)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  for (const outcome of ['created', 'attested', 'existing', 'failed']) deposits.inc({ outcome }, 0);
  const batchSize = new Histogram({
    name: 'evidence_group_commit_batch_size',
    help: 'Records per deposit transaction',
    buckets: BATCH_BUCKETS,
    registers: [registry],
  });
  const commitSeconds = new Histogram({
    name: 'evidence_commit_duration_seconds',
    help: 'Time from submitting a deposit transaction to its being durable',
    buckets: SECONDS_BUCKETS,
    registers: [registry],
  });
  const queue = options.queue;
  new Gauge({
    name: 'evidence_group_commit_queue_depth',
    help: 'Deposits waiting for a transaction',
    registers: [registry],
    collect() {
      this.set(queue?.().waiting ?? 0);
    },
  });
  new Gauge({
    name: 'evidence_group_commit_in_flight',
    help: 'Deposit transactions being committed',
    registers: [registry],
    collect() {
      this.set(queue?.().inFlight ?? 0);
    },
  });
  const errors = new Counter({
    name: 'evidence_errors_total',
    help: 'Errors answered, by code (requests, and items of batch requests)',
    labelNames: ['code'] as const,
    registers: [registry],
  });
  const httpSeconds = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from receiving a request to having answered it',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: SECONDS_BUCKETS,
    registers: [registry],
  });
  const anchoredAt = new Map<string, number>();
  new Gauge({
    name: 'evidence_last_anchor_age_seconds',
    help: 'Seconds since this chain was last anchored on each target',
    labelNames: ['target'] as const,
    registers: [registry],
    collect() {
      this.reset();
      const at = now();
      for (const [target, time] of anchoredAt) {
        this.set({ target }, Math.max(0, (at - time) / 1000));
      }
    },
  });

  const backups = new Counter({
    name: 'evidence_backups_total',
    help: 'Backups taken by this run of the node, by outcome',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  for (const outcome of ['completed', 'failed']) backups.inc({ outcome }, 0);
  // A timestamp, not an age: an alert compares it with time(), and 0 reads as "never".
  const lastBackup = new Gauge({
    name: 'evidence_last_backup_timestamp_seconds',
    help: 'When the last completed backup finished, in Unix seconds (0: none yet)',
    registers: [registry],
  });
  lastBackup.set(0);
  let lastBackupAt = 0;
  const backupCompleted = (at: number) => {
    lastBackupAt = Math.max(lastBackupAt, at);
    lastBackup.set(lastBackupAt / 1000);
  };
  const backupSeconds = new Gauge({
    name: 'evidence_last_backup_duration_seconds',
    help: 'How long the last backup of this run took, completed or failed',
    registers: [registry],
  });

  // A timestamp, as for backups: an alert on a key older than the policy compares it with time().
  const nodeKeySince = new Gauge({
    name: 'evidence_node_key_since_timestamp_seconds',
    help: 'When the node key that signs blocks now started signing, in Unix seconds',
    registers: [registry],
  });
  const nodeKeyRotations = new Counter({
    name: 'evidence_node_key_rotations_total',
    help: 'Node key rotations done by this run of the node',
    registers: [registry],
  });
  nodeKeyRotations.inc(0);
  // One series, for the key that signs now: a policy alert on the algorithm reads its label.
  const nodeKeyInfo = new Gauge({
    name: 'evidence_node_key_info',
    help: 'The node key that signs blocks now (value 1): its key id and algorithm',
    labelNames: ['key_id', 'algorithm'],
    registers: [registry],
  });
  const signingKey = (key: SigningKey) => {
    nodeKeyInfo.reset();
    nodeKeyInfo.set({ key_id: key.keyId, algorithm: key.algorithm }, 1);
  };

  const chainForked = new Gauge({
    name: 'evidence_chain_forked',
    help: "This node holds proof that its chain's key signed two different blocks at one height (1)",
    registers: [registry],
  });
  chainForked.set(0);

  // Registered only once a replica reports, so a node's own metrics are not padded with zeros.
  let replica:
    { height: Gauge; behind: Gauge; synced: Gauge; forked: Gauge; failures: Counter } | undefined;
  const replicaMetrics = () => {
    if (replica) return replica;
    replica = {
      height: new Gauge({
        name: 'evidence_replica_height',
        help: "Blocks of the source's chain this replica holds, all checked",
        registers: [registry],
      }),
      behind: new Gauge({
        name: 'evidence_replica_behind_blocks',
        help: "Blocks the replica's source had that the replica did not, at its last answer",
        registers: [registry],
      }),
      synced: new Gauge({
        name: 'evidence_replica_last_sync_timestamp_seconds',
        help: 'When the replica last heard from its source without error, in Unix seconds',
        registers: [registry],
      }),
      forked: new Gauge({
        name: 'evidence_replica_forked',
        help: 'The source signed two different blocks at one height (1): the replica stopped',
        registers: [registry],
      }),
      failures: new Counter({
        name: 'evidence_replica_failures_total',
        help: 'Replication rounds that failed, by code',
        labelNames: ['code'] as const,
        registers: [registry],
      }),
    };
    // 0 until a proof is held (told at start, before or after the height).
    replica.forked.set(0);
    return replica;
  };

  return {
    registry,
    replica: {
      held(height) {
        const m = replicaMetrics();
        m.height.set(height);
        m.behind.set(Number.NaN);
        m.synced.set(0);
      },
      progress(height, sourceHeight, at) {
        const m = replicaMetrics();
        m.height.set(height);
        m.behind.set(Math.max(0, sourceHeight - height));
        m.synced.set(at / 1000);
      },
      failed(code) {
        replicaMetrics().failures.inc({ code });
      },
      forked() {
        replicaMetrics().forked.set(1);
      },
    },
    chainForked() {
      chainForked.set(1);
    },
    nodeKey: {
      current(since, key) {
        nodeKeySince.set(since / 1000);
        signingKey(key);
      },
      rotated(since, key) {
        nodeKeyRotations.inc();
        nodeKeySince.set(since / 1000);
        signingKey(key);
      },
    },
    backups: {
      finished(outcome, seconds, at) {
        backups.inc({ outcome });
        backupSeconds.set(seconds);
        if (outcome === 'completed') backupCompleted(at);
      },
      completedBefore: backupCompleted,
    },
    deposits: {
      committed(size, seconds, outcomes) {
        batchSize.observe(size);
        commitSeconds.observe(seconds);
        let created = 0;
        let attested = 0;
        let existing = 0;
        for (const outcome of outcomes) {
          if (outcome === 'created') created += 1;
          else if (outcome === 'attested') attested += 1;
          else existing += 1;
        }
        if (created > 0) deposits.inc({ outcome: 'created' }, created);
        if (attested > 0) deposits.inc({ outcome: 'attested' }, attested);
        if (existing > 0) deposits.inc({ outcome: 'existing' }, existing);
      },
      failed(size, seconds) {
        batchSize.observe(size);
        commitSeconds.observe(seconds);
        deposits.inc({ outcome: 'failed' }, size);
      },
      error(code) {
        errors.inc({ code });
      },
    },
    anchors: {
      anchored(target, time) {
        anchoredAt.set(target, typeof time === 'number' ? time : time.getTime());
      },
      forget(target) {
        anchoredAt.delete(target);
      },
    },
    observeRequest(method, route, statusCode, seconds) {
      httpSeconds.observe({ method, route, status_code: String(statusCode) }, seconds);
    },
    async render() {
      return { contentType: registry.contentType, text: await registry.metrics() };
    },
  };
}
