/**
 * Scale figures, in process (no HTTP): deposit throughput and read latency on an empty store and
 * on a store holding `scaleRecords` records, and the store's bytes on disk per record. The store
 * is filled fast, in 1000-item batches straight through the evidence service (group commit,
 * chaincode, synced blocks: everything but HTTP), and measured after a full LevelDB compaction,
 * so the figures describe a settled store rather than one still digesting its writes.
 */

import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Level } from 'level';
import type { Digest } from '../core/digest';
import type { Principal } from '../gateway/auth/api-keys';
import { createEvidenceService, type EvidenceService } from '../gateway/evidence-service';
import { openEmbeddedLedger } from '../gateway/ledger/embedded-ledger';
import type { Ledger } from '../gateway/ledger/ledger';
import type { BenchConfig } from './config';
import { median } from './processes';
import { createItemSource, type ItemSource } from './workload';

const BATCH = 1000;
/** depositMany calls kept running at once while filling and measuring (keeps the pipeline fed). */
const CONCURRENT_BATCHES = 4;

const PRINCIPAL: Principal = {
  keyId: 'bench',
  org: 'BenchPlatform',
  account: 'bench',
  role: 'platform',
};

export interface DepositFigure {
  readonly digestsPerSecond: number;
  /** Process CPU time (all threads) per deposited digest, microseconds. */
  readonly cpuMicrosPerDigest: number;
}

export interface ReadFigure {
  readonly reads: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export interface StoreFigures {
  readonly records: number;
  readonly deposits: DepositFigure;
  readonly reads: ReadFigure;
}

export interface ScaleFigures {
  readonly empty: StoreFigures;
  readonly full: StoreFigures;
  /** Rate at which the store was filled (digests/s). */
  readonly fillDigestsPerSecond: number;
  readonly fillSeconds: number;
  /** Bytes of `<dataDir>/ledger` after compaction, and per record. */
  readonly bytesOnDisk: number;
  readonly bytesPerRecord: number;
}

interface Store {
  readonly ledger: Ledger;
  readonly service: EvidenceService;
  close(): Promise<void>;
}

async function openStore(dataDir: string): Promise<Store> {
  const ledger = await openEmbeddedLedger({ dataDir, org: 'BenchNode' });
  const service = createEvidenceService({
    ledger,
    org: 'BenchNode',
    groupCommitMax: BATCH,
    groupCommitDelayMs: 2,
    submitTimeoutMs: 120_000,
    maxQueued: BATCH * CONCURRENT_BATCHES * 2,
  });
  return {
    ledger,
    service,
    close: async () => {
      await service.close();
      await ledger.close();
    },
  };
}

/** Deposits `batches` batches of fresh items, `CONCURRENT_BATCHES` at a time. */
async function deposit(
  service: EvidenceService,
  items: ItemSource,
  batches: number,
  remember?: (digest: Digest) => void,
): Promise<DepositFigure & { seconds: number }> {
  let next = 0;
  const started = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  const worker = async () => {
    while (next < batches) {
      next += 1;
      const results = await service.depositMany(items.take(BATCH), PRINCIPAL);
      for (const result of results) {
        if ('error' in result)
          throw new Error(`deposit failed: ${result.error.code} ${result.error.message}`);
        remember?.(result.digest);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENT_BATCHES }, worker));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  const digests = batches * BATCH;
  return {
    seconds,
    digestsPerSecond: digests / seconds,
    cpuMicrosPerDigest: (used.user + used.system) / digests,
  };
}

/** Reads `count` digests picked at random from `sample`, one after another. */
async function read(
  service: EvidenceService,
  sample: readonly Digest[],
  count: number,
): Promise<ReadFigure> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const digest = sample[Math.floor(Math.random() * sample.length)] as Digest;
    const started = process.hrtime.bigint();
    const state = await service.read(digest, PRINCIPAL);
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
    if (!state) throw new Error(`read: ${digest} is not on chain`);
  }
  times.sort((a, b) => a - b);
  return {
    reads: count,
    p50Ms: median(times),
    p99Ms: times[Math.min(times.length - 1, Math.floor(times.length * 0.99))] as number,
  };
}

/** Reservoir of digests to read back: a uniform sample of everything deposited. */
function reservoir(size: number) {
  const kept: Digest[] = [];
  let seen = 0;
  return {
    kept,
    add(digest: Digest) {
      seen += 1;
      if (kept.length < size) kept.push(digest);
      else {
        const slot = Math.floor(Math.random() * seen);
        if (slot < size) kept[slot] = digest;
      }
    },
  };
}

/** Compacts the whole store (closed by its owner first) and returns its size in bytes. */
async function compact(ledgerDir: string): Promise<number> {
  // classic-level has compactRange; level's types do not declare it.
  const db = new Level<string, string>(ledgerDir) as Level<string, string> & {
    compactRange(start: string, end: string, options?: object): Promise<void>;
  };
  await db.open();
  await db.compactRange('\x00', '\xff', { keyEncoding: 'utf8' });
  await db.close();
  return Number(execFileSync('du', ['-sb', ledgerDir], { encoding: 'utf8' }).split('\t')[0]);
}

/** Measures the scale figures in a fresh store under `config.workDir`. */
export async function measureScale(
  config: BenchConfig,
  log: (line: string) => void,
): Promise<ScaleFigures> {
  const dataDir = await fs.mkdtemp(path.join(config.workDir, 'bench-scale-'));
  const ledgerDir = path.join(dataDir, 'ledger');
  const items = createItemSource();
  const sample = reservoir(10_000);
  let stored = 0;
  try {
    // Warm up (JIT, compiled schemas) in a scratch store, so the empty store is not measured cold.
    const scratchDir = path.join(dataDir, 'warm-up');
    const scratch = await openStore(scratchDir);
    await deposit(scratch.service, createItemSource(), Math.max(3, config.scaleBatches / 3));
    await scratch.close();
    await fs.rm(scratchDir, { recursive: true, force: true });

    let store = await openStore(dataDir);
    // Empty store: the measured deposits are the first records.
    await compact(ledgerDir).catch(() => 0);
    const emptyDeposits = await deposit(store.service, items, config.scaleBatches, sample.add);
    stored += config.scaleBatches * BATCH;
    const emptyReads = await read(store.service, sample.kept, config.scaleReads);
    const empty: StoreFigures = { records: 0, deposits: emptyDeposits, reads: emptyReads };
    log(
      `scale: empty store: ${emptyDeposits.digestsPerSecond.toFixed(0)} digests/s, ` +
        `read p50 ${emptyReads.p50Ms.toFixed(3)} ms p99 ${emptyReads.p99Ms.toFixed(3)} ms`,
    );

    const fillBatches = Math.max(0, Math.ceil((config.scaleRecords - stored) / BATCH));
    log(`scale: filling to ${stored + fillBatches * BATCH} records`);
    const fill = await deposit(store.service, items, fillBatches, sample.add);
    stored += fillBatches * BATCH;
    log(
      `scale: filled at ${fill.digestsPerSecond.toFixed(0)} digests/s in ${fill.seconds.toFixed(0)} s`,
    );
    await store.close();

    const bytesOnDisk = await compact(ledgerDir);
    log(`scale: ${stored} records, ${bytesOnDisk} bytes after compaction`);
    store = await openStore(dataDir);
    const fullReads = await read(store.service, sample.kept, config.scaleReads);
    const fullDeposits = await deposit(store.service, items, config.scaleBatches);
    await store.close();
    log(
      `scale: full store: ${fullDeposits.digestsPerSecond.toFixed(0)} digests/s, ` +
        `read p50 ${fullReads.p50Ms.toFixed(3)} ms p99 ${fullReads.p99Ms.toFixed(3)} ms`,
    );
    return {
      empty,
      full: { records: stored, deposits: fullDeposits, reads: fullReads },
      fillDigestsPerSecond: fill.digestsPerSecond,
      fillSeconds: fill.seconds,
      bytesOnDisk,
      bytesPerRecord: bytesOnDisk / stored,
    };
  } finally {
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}
