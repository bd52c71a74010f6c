/**
 * A consistent copy of a live LevelDB store, for backups (gateway/backup.ts).
 *
 * LevelDB iterators read from an implicit snapshot taken when they are created, and every write
 * of the node's stores is one atomic batch: an iterator over the whole database therefore sees a
 * state the store was really in, never half a block or half an audit batch, while the node keeps
 * writing. The copy is written to a new database in chunks, the last write synced.
 *
 * Each copy carries a digest of what it holds: SHA-256 over every entry in key order, each as
 * `len(key) key len(value) value` (lengths as 4-byte big-endian UTF-8 byte counts), so a copy can
 * be checked later against its manifest without trusting the files ({@link digestStore}).
 */

import { createHash, type Hash } from 'node:crypto';
import { Level } from 'level';
import { LedgerError } from '../../core/errors';
import { UTF8, type TextStore } from './text-store';

/** What one copied store holds. */
export interface StoreCopy {
  readonly entries: number;
  /** Bytes of keys and values (UTF-8), not of files on disk. */
  readonly bytes: number;
  /** `sha256:` over the entries, see the module comment. */
  readonly digest: string;
}

/** Entries read and written per step: bounds memory, and lets the store's writers interleave. */
const CHUNK = 1_000;

class EntryDigest {
  readonly #hash: Hash = createHash('sha256');
  entries = 0;
  bytes = 0;

  add(key: string, value: string): void {
    const k = Buffer.from(key, 'utf8');
    const v = Buffer.from(value, 'utf8');
    const lengths = Buffer.allocUnsafe(4);
    lengths.writeUInt32BE(k.length);
    this.#hash.update(lengths).update(k);
    lengths.writeUInt32BE(v.length);
    this.#hash.update(lengths).update(v);
    this.entries += 1;
    this.bytes += k.length + v.length;
  }

  result(): StoreCopy {
    return {
      entries: this.entries,
      bytes: this.bytes,
      digest: `sha256:${this.#hash.digest('hex')}`,
    };
  }
}

/**
 * Opens the store at `location`: a new one (`create`: refused where one exists) or an existing one.
 * @throws LedgerError `LEDGER_UNAVAILABLE` naming where and why.
 */
async function openCopy(location: string, create: boolean): Promise<TextStore> {
  const db = new Level<string, string>(location, UTF8);
  try {
    await db.open(
      create ? { createIfMissing: true, errorIfExists: true } : { createIfMissing: false },
    );
  } catch (error) {
    const cause = (error as { cause?: Error }).cause;
    throw new LedgerError(
      'LEDGER_UNAVAILABLE',
      `cannot ${create ? 'create' : 'open'} the copy at ${location}: ${cause?.message ?? (error as Error).message}`,
      { cause: error },
    );
  }
  return db;
}

/**
 * Copies every entry of `source` (a root database, so every sublevel comes along) into a new
 * database at `location`.
 * `signal` abandons the copy between chunks (the node is stopping).
 * @throws LedgerError `LEDGER_UNAVAILABLE` when `location` exists already or cannot be written;
 *   `LEDGER_CLOSED` when `signal` aborted it; what reading `source` throws.
 */
export async function copyStore(
  source: TextStore,
  location: string,
  options: { readonly signal?: AbortSignal } = {},
): Promise<StoreCopy> {
  const target = await openCopy(location, true);
  const digest = new EntryDigest();
  const iterator = source.iterator();
  let last: [string, string] | undefined;
  try {
    for (;;) {
      throwIfStopping(options.signal);
      const chunk = await iterator.nextv(CHUNK);
      if (chunk.length === 0) break;
      const batch = target.batch();
      for (const [key, value] of chunk) {
        batch.put(key, value);
        digest.add(key, value);
      }
      await batch.write();
      last = chunk[chunk.length - 1];
    }
    // A synced write makes the whole log durable, the chunks before it included: the last entry
    // written again, which changes nothing.
    if (last) await target.put(last[0], last[1], { sync: true } as never);
  } finally {
    await iterator.close();
    await target.close();
  }
  return digest.result();
}

/** @throws LedgerError `LEDGER_CLOSED` once `signal` is aborted: the node is stopping. */
export function throwIfStopping(signal: AbortSignal | undefined): void {
  if (signal?.aborted)
    throw new LedgerError('LEDGER_CLOSED', 'the node is stopping: the copy was abandoned');
}

/**
 * Reads the store at `location` (not open elsewhere) and returns what {@link copyStore} would
 * have reported for it: compare with a manifest to check a copy.
 * @throws LedgerError `LEDGER_UNAVAILABLE` when it cannot be opened.
 */
export async function digestStore(location: string): Promise<StoreCopy> {
  const db = await openCopy(location, false);
  const digest = new EntryDigest();
  try {
    for await (const [key, value] of db.iterator()) digest.add(key, value);
  } finally {
    await db.close();
  }
  return digest.result();
}
