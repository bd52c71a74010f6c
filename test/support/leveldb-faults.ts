/**
 * Full-disk failures injected into classic-level, for tests of what a store does when a write or
 * a reopen fails: LevelDB's own error, as it reports ENOSPC. Each returns the function that undoes
 * it.
 */

import { createRequire } from 'node:module';
import * as path from 'node:path';

type Method = (...args: unknown[]) => Promise<unknown>;
const load = createRequire(path.resolve('package.json'));
const { ChainedBatch } = load('classic-level/chained-batch.js') as {
  ChainedBatch: { prototype: Record<string, Method> };
};
const { ClassicLevel } = load('classic-level') as {
  ClassicLevel: { prototype: Record<string, Method> };
};

function noSpace(file: string): Error {
  return Object.assign(new Error(`IO error: ${file}: No space left on device`), {
    code: 'LEVEL_IO_ERROR',
  });
}

/**
 * Chained-batch writes (how the ledger writes a block) report a full disk. With `landed`, each
 * write reaches the disk first and reports the failure after, as a synced write can.
 */
export function failBatchWrites(options: { readonly landed?: boolean } = {}): () => void {
  const write = ChainedBatch.prototype._write as Method;
  ChainedBatch.prototype._write = async function (this: unknown, ...args: unknown[]) {
    if (options.landed) await write.apply(this, args);
    throw noSpace('000003.log');
  };
  return () => {
    ChainedBatch.prototype._write = write;
  };
}

/** Opening a database (and so a reopen after a failed write) reports a full disk. */
export function failOpens(): () => void {
  const open = ClassicLevel.prototype._open as Method;
  ClassicLevel.prototype._open = async () => {
    throw noSpace('MANIFEST');
  };
  return () => {
    ClassicLevel.prototype._open = open;
  };
}
