/**
 * The files of a folder as `deposit` and `verify-all` take them: every regular file under it, in
 * its subfolders too, in a stable order; receipts (`*.receipt.json`) and the backups `upgrade`
 * keeps of them (`*.receipt.json.bak`) are not evidence and are told apart.
 */

import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { CliError } from './cli-error';

/** What `evidence deposit` appends to a file's name for its receipt. */
export const RECEIPT_SUFFIX = '.receipt.json';

/** True for a receipt's name. */
export function isReceiptName(name: string): boolean {
  return name.endsWith(RECEIPT_SUFFIX);
}

/** True for a name that is a receipt or a receipt's backup: not an exhibit. */
export function isReceiptOrBackup(name: string): boolean {
  return isReceiptName(name) || name.endsWith(`${RECEIPT_SUFFIX}.bak`);
}

/**
 * Every regular file under `root`, as paths relative to it, sorted.
 * @throws CliError `IO_ERROR` naming `shown` when the folder cannot be read.
 */
export async function filesUnder(root: string, shown: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = await fs.readdir(root, { recursive: true });
  } catch (error) {
    throw new CliError('IO_ERROR', `cannot read ${shown}: ${(error as Error).message}`);
  }
  const files: string[] = [];
  for (const entry of entries) {
    const stat = await fs.stat(join(root, entry)).catch(() => undefined);
    if (stat?.isFile()) files.push(entry);
  }
  return files.sort();
}
