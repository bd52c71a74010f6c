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
import type { EvidenceService } from '../gateway/evidence-service';
import { openThreadedLedger } from '../gateway/ledger/threaded-ledger';
import type { BenchConfig } from './config';
import { median } from './processes';
import { measureChainCheck, type ChainCheckFigure } from './chain-check';
import { measureStorageCeiling, type StorageCeiling } from './storage-ceiling';
import {
  BENCH_PRINCIPAL as PRINCIPAL,
  createItemSource,
  storeOver,
  type ItemSource,
  type Store,
} from './workload';

/** Items per depositMany call. */
export const BATCH = 1000;
/** depositMany calls kept running at once while filling and measuring (keeps the pipeline fed). */
export const CONCURRENT_BATCHES = 4;
/** Blocks written again for the storage engine's ceiling (200,000 records in the full run). */
const CEILING_BLOCKS = 200;

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
  /** Records stored before the measurement (0: the empty store). */
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
  /** LevelDB alone writing the store's own entries, one synced batch per block (storage-ceiling.ts). */
  readonly storageCeiling: StorageCeiling;
  /** The whole-chain check of the full store (chain-check.ts). */
  readonly chainCheck: ChainCheckFigure;
}

/** A store in `dataDir` as the node opens it, its service tuned for 1000-item batches. */
export async function openStore(dataDir: string): Promise<Store> {
  // As the node opens it: the embedded ledger on its own thread.
  return storeOver(await openThreadedLedger({ dataDir, org: 'BenchNode' }), {
    groupCommitMax: BATCH,
    groupCommitDelayMs: 2,
    submitTimeoutMs: 120_000,
    maxQueued: BATCH * CONCURRENT_BATCHES * 2,
  });
}

/** Time and CPU spent depositing, summed over runs. */
export interface Spent {
  digests: number;
  seconds: number;
  cpuMicros: number;
}

export const spent = (): Spent => ({ digests: 0, seconds: 0, cpuMicros: 0 });

export function depositFigure(total: Spent): DepositFigure {
  return {
    digestsPerSecond: total.digests / total.seconds,
    cpuMicrosPerDigest: total.cpuMicros / total.digests,
  };
}

/** Deposits `batches` batches of fresh items, `CONCURRENT_BATCHES` at a time, into `into`. */
export async function deposit(
  service: EvidenceService,
  items: ItemSource,
  batches: number,
  into: Spent = spent(),
  remember?: (digest: Digest) => void,
): Promise<Spent> {
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
  const used = process.cpuUsage(cpu);
  into.digests += batches * BATCH;
  into.seconds += Number(process.hrtime.bigint() - started) / 1e9;
  into.cpuMicros += used.user + used.system;
  return into;
}

/** Reads `count` digests picked at random from `sample`, one after another; ms each. */
async function read(
  service: EvidenceService,
  sample: readonly Digest[],
  count: number,
  into: number[] = [],
): Promise<number[]> {
  for (let i = 0; i < count; i++) {
    const digest = sample[Math.floor(Math.random() * sample.length)] as Digest;
    const started = process.hrtime.bigint();
    const state = await service.read(digest, PRINCIPAL);
    into.push(Number(process.hrtime.bigint() - started) / 1e6);
    if (!state) throw new Error(`read: ${digest} is not on chain`);
  }
  return into;
}

function readFigure(times: readonly number[]): ReadFigure {
  const sorted = [...times].sort((a, b) => a - b);
  return {
    reads: sorted.length,
    p50Ms: median(sorted),
    p99Ms: sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] as number,
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

/**
 * Measures the scale figures under `config.workDir`: fills a store to `config.scaleRecords`,
 * compacts it, then measures it and a fresh (empty) store in alternating rounds, so that both see
 * the same machine even when its load drifts.
 */
export async function measureScale(
  config: BenchConfig,
  log: (line: string) => void,
): Promise<ScaleFigures> {
  const dataDir = await fs.mkdtemp(path.join(config.workDir, 'bench-scale-'));
  const fullDir = path.join(dataDir, 'full');
  const emptyDir = path.join(dataDir, 'empty');
  const items = createItemSource();
  const fullSample = reservoir(10_000);
  const emptySample = reservoir(10_000);
  try {
    // Warm up (JIT, compiled schemas) in a scratch store, so nothing is measured cold.
    const scratchDir = path.join(dataDir, 'warm-up');
    const scratch = await openStore(scratchDir);
    await deposit(scratch.service, createItemSource(), Math.max(3, config.scaleBatches / 3));
    await scratch.close();
    await fs.rm(scratchDir, { recursive: true, force: true });

    const fillBatches = Math.ceil(config.scaleRecords / BATCH);
    const records = fillBatches * BATCH;
    log(`scale: filling a store with ${records} records`);
    let full = await openStore(fullDir);
    const fill = await deposit(full.service, items, fillBatches, spent(), fullSample.add);
    await full.close();
    log(
      `scale: filled at ${(fill.digests / fill.seconds).toFixed(0)} digests/s in ` +
        `${fill.seconds.toFixed(0)} s`,
    );
    const bytesOnDisk = await compact(path.join(fullDir, 'ledger'));
    log(`scale: ${records} records, ${bytesOnDisk} bytes after compaction`);
    full = await openStore(fullDir);
    const empty = await openStore(emptyDir);
    const stores = { full, empty };
    const deposits = { full: spent(), empty: spent() };
    const reads = { full: [] as number[], empty: [] as number[] };
    const rounds = config.smoke ? 1 : 3;
    const batchesPerRound = Math.max(1, Math.round(config.scaleBatches / rounds));
    const readsPerRound = Math.max(1, Math.round(config.scaleReads / rounds));
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? (['empty', 'full'] as const) : (['full', 'empty'] as const);
      for (const which of order) {
        const sample = which === 'full' ? fullSample : emptySample;
        await deposit(stores[which].service, items, batchesPerRound, deposits[which], (digest) =>
          sample.add(digest),
        );
      }
      for (const which of order) {
        const sample = which === 'full' ? fullSample : emptySample;
        await read(stores[which].service, sample.kept, readsPerRound, reads[which]);
      }
    }
    await full.close();
    await empty.close();
    // Last, so that its memory and writes weigh on none of the figures above.
    const storageCeiling = await measureStorageCeiling(
      path.join(fullDir, 'ledger'),
      dataDir,
      records + deposits.full.digests,
      fillBatches + deposits.full.digests / BATCH,
      Math.min(fillBatches, config.smoke ? 5 : CEILING_BLOCKS),
    );
    log(
      `scale: LevelDB alone, the store's entries in synced 1000-record batches: ` +
        `${storageCeiling.recordsPerSecond.toFixed(0)} records/s ` +
        `(${storageCeiling.cpuMicrosPerRecord.toFixed(1)} µs CPU each, ` +
        `${(storageCeiling.bytes / storageCeiling.records).toFixed(0)} B written per record)`,
    );

    const chainCheck = await measureChainCheck(fullDir, records + deposits.full.digests);
    log(
      `scale: whole-chain check of ${chainCheck.records} records in ${chainCheck.blocks} blocks: ` +
        `${chainCheck.seconds.toFixed(1)} s (reading them alone ${chainCheck.readSeconds.toFixed(1)} s)`,
    );

    const figures: ScaleFigures = {
      empty: {
        records: 0,
        deposits: depositFigure(deposits.empty),
        reads: readFigure(reads.empty),
      },
      full: { records, deposits: depositFigure(deposits.full), reads: readFigure(reads.full) },
      fillDigestsPerSecond: fill.digests / fill.seconds,
      fillSeconds: fill.seconds,
      bytesOnDisk,
      bytesPerRecord: bytesOnDisk / records,
      storageCeiling,
      chainCheck,
    };
    for (const which of ['empty', 'full'] as const) {
      const figure = figures[which];
      log(
        `scale: ${which} store: ${figure.deposits.digestsPerSecond.toFixed(0)} digests/s ` +
          `(${figure.deposits.cpuMicrosPerDigest.toFixed(0)} µs CPU each), read p50 ` +
          `${figure.reads.p50Ms.toFixed(3)} ms p99 ${figure.reads.p99Ms.toFixed(3)} ms`,
      );
    }
    return figures;
  } finally {
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}
