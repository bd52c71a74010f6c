/**
 * The flags the document-writing commands share (`verify --report`, `certificate`, `dossier`):
 * the output path and its format, taken from the extension; the public verification page a QR
 * code points at; and the rule that an existing file is kept unless `--force` is given. Checked
 * before any work is done, so a typo costs nothing.
 */

import { stat } from 'node:fs/promises';
import { CliError, ioError } from './cli-error';
import type { CliIo } from './cli-io';
import { resolvePath, usage } from './command';
import { writeFileAtomic } from './files';

/** An output file named by the user, checked and resolved. */
export interface OutputFile<F extends string> {
  /** As the user wrote it. */
  readonly shown: string;
  readonly path: string;
  readonly format: F;
}

/**
 * The format of `shown` from its extension (case-insensitive), one of `formats` (extension ->
 * format).
 * @throws CliError `USAGE` naming the flag and the extensions it takes.
 */
export function outputFile<F extends string>(
  io: CliIo,
  flag: string,
  shown: string,
  formats: Readonly<Record<string, F>>,
): OutputFile<F> {
  const lower = shown.toLowerCase();
  const extension = Object.keys(formats).find((ext) => lower.endsWith(ext));
  if (extension === undefined || lower === extension) {
    throw usage(`${flag} must name a ${Object.keys(formats).join(' or ')} file, not ${shown}`);
  }
  return { shown, path: resolvePath(io, shown), format: formats[extension] as F };
}

/**
 * Refuses to overwrite an existing `output` unless `force`.
 * @throws CliError `OUTPUT_EXISTS`, or `IO_ERROR` when the path cannot be examined.
 */
export async function assertWritable(output: OutputFile<string>, force: boolean): Promise<void> {
  if (force) return;
  try {
    await stat(output.path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw ioError('examine', output.shown, error);
  }
  throw new CliError(
    'OUTPUT_EXISTS',
    `${output.shown} exists; move it away or pass --force to overwrite it`,
  );
}

/** Writes a document atomically. @throws CliError `IO_ERROR`. */
export function writeOutput(output: OutputFile<string>, data: string | Uint8Array): Promise<void> {
  return writeFileAtomic(output.path, output.shown, data);
}

/**
 * Checks a `--public-url` value: the http(s) address of a node's public verification page
 * (`https://node.example/verify`), without a #fragment. QR codes encode it with `?digest=...`.
 * @throws CliError `USAGE`.
 */
export function parsePublicUrl(text: string): string {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hash !== '') {
    throw usage(`--public-url must be an http or https URL without a #fragment, not ${text}`);
  }
  if (url.username || url.password) throw usage('--public-url must not carry credentials');
  return text;
}
