/**
 * Small files the node must not lose or find half written (the keys file, the node key, backup
 * manifests): written with mode 0600, synced, and made visible under their name in one step.
 */

import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

/** Whether `file` can be reached (a file or a folder). */
export async function fileExists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}

/** Writes `text` to a new `file` (mode 0600; refused where one exists) and syncs it. */
export async function writeSynced(file: string, text: string): Promise<void> {
  const handle = await fs.open(file, 'wx', 0o600);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Syncs the folder `dir`, so that files created or renamed in it survive a power cut. Platforms
 * that cannot sync a folder at all refuse it with one of {@link CANNOT_SYNC_FOLDERS}; there the
 * rename or link is still atomic, and this returns.
 */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } catch (error) {
    if (!CANNOT_SYNC_FOLDERS.includes(String((error as NodeJS.ErrnoException).code))) throw error;
  } finally {
    await handle.close();
  }
}

/** What a platform answers when it cannot sync a folder. */
const CANNOT_SYNC_FOLDERS = ['EISDIR', 'EINVAL', 'EPERM', 'EBADF', 'ENOTSUP'];

/** A name beside `file` for its content while it is written: `.<name>.<pid>.<random>.tmp`. */
export function temporaryNameFor(file: string): string {
  return path.join(
    path.dirname(file),
    `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`,
  );
}

/**
 * Writes `text` to `file` so that a reader, or the node after a crash, sees the old content or
 * the new one whole, never a mix: a synced temporary file, then one step that gives it its name,
 * then the folder synced. `replace`: `rename` over an existing file; otherwise `link`, which is
 * refused (EEXIST) where `file` exists.
 * @throws what the file system throws; the temporary file is removed.
 */
export async function writeWhole(
  file: string,
  text: string,
  options: { readonly replace: boolean },
): Promise<void> {
  const temporary = temporaryNameFor(file);
  try {
    await writeSynced(temporary, text);
    await (options.replace ? fs.rename(temporary, file) : fs.link(temporary, file));
  } finally {
    await fs.rm(temporary, { force: true });
  }
  await syncDirectory(path.dirname(file));
}
