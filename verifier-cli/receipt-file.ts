/**
 * Receipts on disk for the commands that add anchors to them (`upgrade`, `timestamp`): read and
 * checked before anything is asked of anyone, and written back safely. By default in place,
 * atomically (temporary file, then rename), after the receipt as it was is kept in `RECEIPT.bak`;
 * an existing `.bak` of the same receipt (same record and proofs) is kept as it is, since it is
 * the older copy. With another output file the original is not touched.
 */

import { canonicalJson } from '../core/canonical';
import { parseReceipt, type Receipt } from '../core/receipt';
import { parseJson } from '../core/schema';
import { CliError } from './cli-error';
import type { CliIo } from './cli-io';
import { resolvePath } from './command';
import { readIfExists, readTextFile, writeFileAtomic } from './files';

export const BACKUP_SUFFIX = '.bak';

/** A receipt as read: where, its bytes (kept for the backup) and its parsed value. */
export interface ReceiptFile {
  readonly shown: string;
  readonly path: string;
  readonly text: string;
  readonly receipt: Receipt;
}

/**
 * Reads and shape-checks the receipt `shown`.
 * @throws CliError `IO_ERROR`, `INPUT_TOO_LARGE`; EvidenceError `INVALID_JSON`, `RECEIPT_MALFORMED`.
 */
export async function readReceiptFile(io: CliIo, shown: string): Promise<ReceiptFile> {
  const path = resolvePath(io, shown);
  const { text } = await readTextFile(path, shown);
  return { shown, path, text, receipt: parseReceipt(parseJson(text, `receipt ${shown}`)) };
}

/** Canonical JSON of `receipt` without its anchors: what adding anchors must leave unchanged. */
export function withoutAnchors(receipt: Receipt): string {
  const { anchors: _anchors, ...base } = receipt;
  return canonicalJson(base);
}

/**
 * Writes `text` (the receipt with its new anchors) to `outShown`: in place after keeping a backup
 * when `outShown` is the receipt itself, else to that file. Returns the backup's shown path when
 * one was kept.
 * @throws CliError `OUTPUT_EXISTS` when the output (or the backup) holds something else and
 *   `force` is not set; `IO_ERROR`.
 */
export async function writeAnchoredReceipt(
  io: CliIo,
  original: ReceiptFile,
  outShown: string,
  text: string,
  force: boolean,
): Promise<string | undefined> {
  const outPath = resolvePath(io, outShown);
  let backup: string | undefined;
  if (outPath === original.path) {
    backup = await keepBackup(original, force);
  } else {
    const existing = await readIfExists(outPath, outShown);
    if (existing !== undefined && existing.toString('utf8') !== text && !force) {
      throw new CliError(
        'OUTPUT_EXISTS',
        `${outShown} exists with other content; move it away or pass --force`,
      );
    }
  }
  await writeFileAtomic(outPath, outShown, text);
  return backup;
}

/**
 * Keeps the receipt as it was in its backup file, unless a backup of the same receipt is there
 * already (the older copy wins). Returns the backup's shown path.
 * @throws CliError `OUTPUT_EXISTS` when the backup is of another receipt and `force` is not set.
 */
async function keepBackup(original: ReceiptFile, force: boolean): Promise<string> {
  const shown = `${original.shown}${BACKUP_SUFFIX}`;
  const path = `${original.path}${BACKUP_SUFFIX}`;
  const existing = await readIfExists(path, shown);
  if (existing !== undefined) {
    let same = false;
    try {
      same =
        withoutAnchors(parseReceipt(JSON.parse(existing.toString('utf8')))) ===
        withoutAnchors(original.receipt);
    } catch {
      same = false;
    }
    if (same) return shown;
    if (!force) {
      throw new CliError(
        'OUTPUT_EXISTS',
        `${shown} exists and is not a copy of this receipt; move it away or pass --force`,
      );
    }
  }
  await writeFileAtomic(path, shown, original.text);
  return shown;
}
