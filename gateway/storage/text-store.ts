/**
 * The node's LevelDB stores (ledger, audit log, anchor store, agreement store) hold UTF-8 text
 * keys and values, and are opened the same way: one function, one error for a store that cannot
 * be opened.
 */

import { Level } from 'level';
import { LedgerError } from '../../core/errors';

/** Options giving a database or sublevel UTF-8 text values. */
export const UTF8 = { valueEncoding: 'utf8' } as const;

export type TextStore = Level<string, string>;

/**
 * Opens (or creates) the LevelDB store at `location`.
 * @throws LedgerError `LEDGER_UNAVAILABLE` naming `what`, where, and why (e.g. locked by another
 *   process).
 */
export async function openTextStore(location: string, what: string): Promise<TextStore> {
  const db: TextStore = new Level<string, string>(location, UTF8);
  try {
    await db.open();
  } catch (error) {
    const cause = (error as { cause?: Error }).cause;
    throw new LedgerError(
      'LEDGER_UNAVAILABLE',
      `cannot open the ${what} at ${location}: ${cause?.message ?? (error as Error).message}`,
      { cause: error },
    );
  }
  return db;
}
