/**
 * Reading the small JSON inputs (receipts, trust files) and writing outputs. Only the CLI does file
 * I/O; core receives parsed values. Every failure becomes a CliError naming the path as the user
 * wrote it.
 */

import { randomBytes } from 'node:crypto';
import { readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { parseJson } from '../core/schema';
import { CliError, ioError } from './cli-error';

/** Receipts are a few KB and trust files a few tens; anything this big was named by mistake. */
export const MAX_JSON_INPUT_BYTES = 8 * 1024 * 1024;

export interface JsonInput {
  readonly value: unknown;
  /** Size of the file in bytes. */
  readonly bytes: number;
}

/**
 * Reads UTF-8 text of at most `maxBytes` (a leading byte-order mark is dropped).
 * @throws CliError `IO_ERROR` when unreadable, `INPUT_TOO_LARGE` past `maxBytes`.
 */
export async function readTextFile(
  path: string,
  shown: string,
  maxBytes = MAX_JSON_INPUT_BYTES,
): Promise<{ text: string; bytes: number }> {
  let data: Buffer;
  try {
    const info = await stat(path);
    if (info.isFile() && info.size > maxBytes) {
      throw new CliError(
        'INPUT_TOO_LARGE',
        `${shown} is ${info.size} bytes; at most ${maxBytes} are read`,
      );
    }
    data = await readFile(path);
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw ioError('read', shown, error);
  }
  if (data.length > maxBytes) {
    throw new CliError(
      'INPUT_TOO_LARGE',
      `${shown} is ${data.length} bytes; at most ${maxBytes} are read`,
    );
  }
  const text = data.toString('utf8');
  return { text: text.startsWith('\uFEFF') ? text.slice(1) : text, bytes: data.length };
}

/**
 * Reads and parses a JSON file. Only the syntax is checked here; the caller validates the shape.
 * @throws CliError `IO_ERROR`, `INPUT_TOO_LARGE`, or `INVALID_JSON` (core's code) for bad syntax.
 */
export async function readJsonFile(path: string, shown: string, what: string): Promise<JsonInput> {
  const { text, bytes } = await readTextFile(path, shown);
  return { value: parseJson(text, `${what} ${shown}`), bytes };
}

/** Contents of `path`, or `undefined` when it does not exist. @throws CliError `IO_ERROR`. */
export async function readIfExists(path: string, shown: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw ioError('read', shown, error);
  }
}

/**
 * Writes `data` (text as UTF-8) to `path` through a temporary file and a rename, so a crash never
 * leaves a half-written receipt, trust file or document behind.
 * @throws CliError `IO_ERROR`.
 */
export async function writeFileAtomic(
  path: string,
  shown: string,
  data: string | Uint8Array,
): Promise<void> {
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(temporary, data, { flag: 'wx' });
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw ioError('write', shown, error);
  }
}
