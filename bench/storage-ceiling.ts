/**
 * The storage engine's own ceiling for batch deposits: the entries the embedded ledger really
 * wrote for a sample of its blocks (each block with its state, history and index entries, in the
 * proportions of the store), written again into a fresh LevelDB in synced batches of one block's
 * worth each, one after another, as the ledger writes them. No chaincode, no hashing, no JSON, no
 * HTTP: what LevelDB alone does with this store layout on this machine, against which the node's
 * batch figures and their 100,000 digests/s target can be read. Then the same entries again with
 * parts of the layout left out (the history pointers, the blocks, everything but the blocks or
 * the world state), each into a fresh store: what each part costs.
 */

import { randomInt } from 'node:crypto';
import { promises as fs } from 'node:fs';
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
  /**
   * The same blocks' entries written again with parts of the layout left out, one after another
   * after the whole: what each part costs the storage engine, as ratios to the whole.
   */
  readonly parts: {
    /** Blocks, world state and the index, without the history pointers. */
    readonly withoutHistory: LayoutPart;
    /** World state, history and the index, without the blocks. */
    readonly withoutBlocks: LayoutPart;
    readonly blocksOnly: LayoutPart;
    readonly stateOnly: LayoutPart;
  };
}

export interface LayoutPart {
  readonly recordsPerSecond: number;
  readonly cpuMicrosPerRecord: number;
  /** Bytes of keys and values written per record. */
  readonly bytesPerRecord: number;
  /** Records per second against the whole layout's, in the same run. */
  readonly ratio: number;
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
  const written = Math.round((records / totalBlocks) * batches);
  /** Writes the entries `keep` takes (by part of the store) into a fresh store, timed. */
  const writeLayout = async (name: string, keep: (part: StorePart) => boolean) => {
    const target = new Level<string, string>(path.join(workDir, `storage-ceiling-${name}`), {
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
        const put = (key: string, value: string) => {
          batch.put(key, value);
          bytes += Buffer.byteLength(key) + Buffer.byteLength(value);
          entries += 1;
        };
        if (keep('blocks')) put(...(blockEntries[b] as [string, string]));
        const from = Math.floor((b * others.length) / batches);
        const to = Math.floor(((b + 1) * others.length) / batches);
        for (let i = from; i < to; i++) {
          const [key, value] = others[i] as [string, string];
          if (keep(partOf(key))) put(key, value);
        }
        await batch.write({ sync: true } as never);
      }
    } finally {
      await target.close();
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const used = process.cpuUsage(cpu);
    await fs.rm(path.join(workDir, `storage-ceiling-${name}`), { recursive: true, force: true });
    return {
      records: written,
      entries,
      bytes,
      recordsPerSecond: written / seconds,
      cpuMicrosPerRecord: (used.user + used.system) / written,
    };
  };
  const whole = await writeLayout('whole', () => true);
  const part = async (name: string, keep: (part: StorePart) => boolean): Promise<LayoutPart> => {
    const measured = await writeLayout(name, keep);
    return {
      recordsPerSecond: measured.recordsPerSecond,
      cpuMicrosPerRecord: measured.cpuMicrosPerRecord,
      bytesPerRecord: measured.bytes / written,
      ratio: measured.recordsPerSecond / whole.recordsPerSecond,
    };
  };
  return {
    ...whole,
    parts: {
      withoutHistory: await part('no-history', (p) => p !== 'history'),
      withoutBlocks: await part('no-blocks', (p) => p !== 'blocks'),
      blocksOnly: await part('blocks-only', (p) => p === 'blocks'),
      stateOnly: await part('state-only', (p) => p === 'state'),
    },
  };
}

/** The parts of the ledger store an entry belongs to, by its sublevel. */
type StorePart = 'blocks' | 'state' | 'history' | 'other';

function partOf(key: string): StorePart {
  if (key.startsWith('!state!')) return 'state';
  if (key.startsWith('!history!')) return 'history';
  return 'other';
}
