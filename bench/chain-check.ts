/**
 * How long a whole-chain check takes: what `evidence-node promote-replica` and `check-backup` run
 * before they trust a store, and what sets how soon a platform that lost its node can serve again
 * from a court's replica. The full store of the scale figures is checked from block 0 (every
 * header, data hash, transaction digest and signature, by the keys the chain says signed it), on
 * the thread that runs it; the reference is reading and parsing every block of the same store and
 * checking nothing, in the same run, after the same reads warmed the page cache.
 */

import * as path from 'node:path';
import { Level } from 'level';
import { openEmbeddedLedger } from '../gateway/ledger/embedded-ledger';

export interface ChainCheckFigure {
  readonly blocks: number;
  readonly records: number;
  /** `verifyChain` from block 0, seconds. */
  readonly seconds: number;
  /** Reading and parsing every block, nothing checked, seconds. */
  readonly readSeconds: number;
  readonly recordsPerSecond: number;
}

/** Reads and parses every stored block of the ledger in `dataDir`; the number of blocks. */
async function readEveryBlock(dataDir: string): Promise<number> {
  const db = new Level<string, string>(path.join(dataDir, 'ledger'), { valueEncoding: 'utf8' });
  await db.open();
  let blocks = 0;
  try {
    const stored = db.sublevel<string, string>('blocks', { valueEncoding: 'utf8' });
    for await (const value of stored.values()) {
      if ((JSON.parse(value) as { header?: unknown }).header === undefined)
        throw new Error('a stored block has no header');
      blocks += 1;
    }
  } finally {
    await db.close();
  }
  return blocks;
}

const seconds = (started: bigint) => Number(process.hrtime.bigint() - started) / 1e9;

/** Measures the whole-chain check of the closed store in `dataDir`, holding `records` records. */
export async function measureChainCheck(
  dataDir: string,
  records: number,
): Promise<ChainCheckFigure> {
  await readEveryBlock(dataDir); // warms the page cache for both
  let started = process.hrtime.bigint();
  const ledger = await openEmbeddedLedger({ dataDir, org: 'BenchNode' });
  let blocks: number;
  try {
    blocks = await ledger.verifyChain();
  } finally {
    await ledger.close();
  }
  const checked = seconds(started);
  started = process.hrtime.bigint();
  const read = await readEveryBlock(dataDir);
  const readSeconds = seconds(started);
  if (read !== blocks) throw new Error(`read ${read} blocks, checked ${blocks}`);
  return { blocks, records, seconds: checked, readSeconds, recordsPerSecond: records / checked };
}
