/**
 * The benchmark's settings, read once from the environment. `BENCH_SMOKE=1` makes everything
 * small (a few MiB, a few seconds, 10,000 records) so a test can run the whole pipeline; the
 * figures of a smoke run mean nothing.
 *
 * | variable        | full        | smoke  | what                                               |
 * |-----------------|-------------|--------|----------------------------------------------------|
 * | `BENCH_SMOKE`   |             | `1`    | small mode                                         |
 * | `BENCH_OUT`     | bench/results | same | where latest.json and latest.md are written        |
 * | `BENCH_TMP`     | os.tmpdir() | same   | scratch space (the 1 GiB file, the 1M-record store) |
 * | `BENCH_ONLY`    | all         | all    | comma-separated sections: hashing,http,verification,scale,replication |
 * | `BENCH_HASH_MIB`| 1024        | 8      | size of the file hashed                            |
 * | `BENCH_SECONDS` | 15          | 2      | duration of each HTTP load run                     |
 * | `BENCH_RECORDS` | 1000000     | 10000  | records stored before the scale figures            |
 */

import * as os from 'node:os';
import * as path from 'node:path';

export const SECTIONS = ['hashing', 'http', 'verification', 'scale', 'replication'] as const;
export type Section = (typeof SECTIONS)[number];

export interface BenchConfig {
  readonly smoke: boolean;
  readonly outDir: string;
  readonly workDir: string;
  readonly sections: readonly Section[];
  /** Bytes of the file the CLI and openssl hash. */
  readonly hashBytes: number;
  /** Timed runs of each hashing command (the median is reported). */
  readonly hashRuns: number;
  /** Seconds of each HTTP load run. */
  readonly loadSeconds: number;
  /** Load runs per server and workload, interleaved node/bare (the median is reported). */
  readonly loadRounds: number;
  /** Concurrent connections for single deposits. */
  readonly connections: number;
  /** Concurrent connections for batch deposits. */
  readonly batchConnections: number;
  /** Items per batch request. */
  readonly batchItems: number;
  /** Receipts verified in process. */
  readonly verifications: number;
  /** Timed runs of `evidence verify` and of `node -e ''`. */
  readonly cliRuns: number;
  /** Records stored before the "full store" figures. */
  readonly scaleRecords: number;
  /** 1000-item batches deposited per throughput measurement. */
  readonly scaleBatches: number;
  /** Random reads per read-latency measurement. */
  readonly scaleReads: number;
  /** 1000-item batches deposited on the source, then copied by a replica. */
  readonly replicationBatches: number;
}

const MIB = 1024 * 1024;

function positive(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new Error(`${name} must be a positive integer, not "${text}"`);
  }
  return value;
}

/**
 * The configuration for `env`.
 * @throws Error naming a bad variable.
 */
export function loadBenchConfig(env: NodeJS.ProcessEnv = process.env): BenchConfig {
  const smoke = env.BENCH_SMOKE === '1';
  const only = env.BENCH_ONLY?.split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  const unknown = only?.filter((name) => !(SECTIONS as readonly string[]).includes(name)) ?? [];
  if (unknown.length > 0) throw new Error(`BENCH_ONLY: unknown sections ${unknown.join(', ')}`);
  return {
    smoke,
    outDir: path.resolve(env.BENCH_OUT || path.join(__dirname, '..', '..', 'bench', 'results')),
    workDir: path.resolve(env.BENCH_TMP || os.tmpdir()),
    sections: only && only.length > 0 ? (only as Section[]) : SECTIONS,
    hashBytes: positive(env, 'BENCH_HASH_MIB', smoke ? 8 : 1024) * MIB,
    hashRuns: smoke ? 1 : 3,
    loadSeconds: positive(env, 'BENCH_SECONDS', smoke ? 2 : 15),
    loadRounds: smoke ? 1 : 2,
    connections: 64,
    batchConnections: smoke ? 2 : 4,
    batchItems: 1000,
    verifications: smoke ? 500 : 20_000,
    cliRuns: smoke ? 1 : 5,
    scaleRecords: positive(env, 'BENCH_RECORDS', smoke ? 10_000 : 1_000_000),
    scaleBatches: smoke ? 3 : 30,
    scaleReads: smoke ? 200 : 5000,
    replicationBatches: smoke ? 5 : 60,
  };
}
