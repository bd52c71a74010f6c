/**
 * The storage engine's own ceiling for batch deposits: the entries the embedded ledger really
 * wrote for a sample of its blocks (each block with its state, history and index entries, in the
 * proportions of the store), written again into a fresh LevelDB in synced batches of one block's
 * worth each, one after another, as the ledger writes them. No chaincode, no hashing, no JSON, no
 * HTTP: what LevelDB alone does with this store layout on this machine, against which the node's
 * batch figures and their 100,000 digests/s target can be read.
 */

import { randomInt } from 'node:crypto';
import * as path from 'node:path';
import { Level } from 'level';

export interface StorageCeiling {
  /** Records whose entries were written. */
  readonly records: number;
  readonly entries: number;
  /** Bytes of keys and values written (UTF-8). */
  readonly bytes: number;
  readonly recordsPerSecond: number;
  /** Process CPU (all threads: LevelDB's writer and compaction included) per record, µs. */
  readonly cpuMicrosPerRecord: number;
}

/**
 * Samples `blocks` blocks' worth of entries of the ledger store at `ledgerDir` (closed by its
 * owner) holding `records` records in `totalBlocks` deposit blocks, and writes them into a new
 * store under `workDir` in `blocks` synced batches.
 */
export async function measureStorageCeiling(
  ledgerDir: string,
  workDir: string,
  records: number,
  totalBlocks: number,
  blocks: number,
): Promise<StorageCeiling> {
  const source = new Level<string, string>(ledgerDir, { valueEncoding: 'utf8' });
  await source.open();
  const share = Math.min(1, blocks / totalBlocks);
  const blockEntries: Array<[string, string]> = [];
  const others: Array<[string, string]> = [];
  try {
    for await (const [key, value] of source.iterator()) {
      if (key.startsWith('!blocks!')) {
        // Deposit blocks are the large ones; the genesis block is skipped by size.
        if (blockEntries.length < blocks && value.length > 10_000) blockEntries.push([key, value]);
      } else if (Math.random() < share) {
        others.push([key, value]);
      }
    }
  } finally {
    await source.close();
  }
  // Deposited digests are random: their keys reach the store in no order.
  for (let i = others.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [others[i], others[j]] = [others[j] as [string, string], others[i] as [string, string]];
  }
  const batches = blockEntries.length;
  const target = new Level<string, string>(path.join(workDir, 'storage-ceiling'), {
    valueEncoding: 'utf8',
  });
  await target.open();
  let entries = 0;
  let bytes = 0;
  const started = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  try {
    for (let b = 0; b < batches; b++) {
      const batch = target.batch();
      const [blockKey, blockValue] = blockEntries[b] as [string, string];
      batch.put(blockKey, blockValue);
      bytes += Buffer.byteLength(blockKey) + Buffer.byteLength(blockValue);
      const from = Math.floor((b * others.length) / batches);
      const to = Math.floor(((b + 1) * others.length) / batches);
      for (let i = from; i < to; i++) {
        const [key, value] = others[i] as [string, string];
        batch.put(key, value);
        bytes += Buffer.byteLength(key) + Buffer.byteLength(value);
      }
      entries += 1 + to - from;
      await batch.write({ sync: true } as never);
    }
  } finally {
    await target.close();
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  const written = Math.round((records / totalBlocks) * batches);
  return {
    records: written,
    entries,
    bytes,
    recordsPerSecond: written / seconds,
    cpuMicrosPerRecord: (used.user + used.system) / written,
  };
}
