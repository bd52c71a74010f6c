/**
 * Streams a file through core's multi-hasher: every algorithm fed from one pass, one reused 1 MiB
 * buffer, so a 10 GB video hashes in constant memory. The file never leaves the machine.
 */

import { open } from 'node:fs/promises';
import {
  createMultiHasher,
  DIGEST_ALGORITHMS,
  type DigestAlgorithm,
  type DigestSet,
} from '../core/digest';
import { ioError } from './cli-error';
import type { CliIo } from './cli-io';
import { resolvePath } from './command';
import { progressFor } from './progress';

export const HASH_BUFFER_BYTES = 1024 * 1024;

export interface HashFileOptions {
  /** Called after each chunk with the bytes hashed so far and the size the file had when opened. */
  readonly onProgress?: (done: number, total: number) => void;
  /** Algorithms to compute; sha256 is always included. Default: all of core's. */
  readonly algorithms?: readonly DigestAlgorithm[];
}

export interface FileDigests {
  /** Bytes hashed. */
  readonly size: number;
  readonly digests: DigestSet;
}

/**
 * Digests of the file at `path`.
 * @throws the node:fs error (`ENOENT`, `EACCES`, `EISDIR`...) when the file cannot be read.
 */
export async function hashFile(path: string, options: HashFileOptions = {}): Promise<FileDigests> {
  const hasher = createMultiHasher(options.algorithms ?? DIGEST_ALGORITHMS);
  const handle = await open(path, 'r');
  try {
    const info = await handle.stat();
    if (info.isDirectory()) {
      throw Object.assign(new Error(`EISDIR: illegal operation on a directory, read '${path}'`), {
        code: 'EISDIR',
        syscall: 'read',
        path,
      });
    }
    const buffer = Buffer.allocUnsafe(HASH_BUFFER_BYTES);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      // Hash.update copies what it needs, so the buffer can be reused for the next read.
      hasher.update(buffer.subarray(0, bytesRead));
      options.onProgress?.(hasher.bytes, info.size);
    }
    return { size: hasher.bytes, digests: hasher.digest() };
  } finally {
    await handle.close();
  }
}

/**
 * {@link hashFile} for a path the user typed: resolved against the working directory, with a
 * progress line for large files on a terminal.
 * @throws CliError `IO_ERROR` naming `shown` when the file cannot be read.
 */
export async function hashUserFile(
  io: CliIo,
  shown: string,
  algorithms: readonly DigestAlgorithm[] = DIGEST_ALGORITHMS,
): Promise<FileDigests> {
  let progress: ReturnType<typeof progressFor> | undefined;
  try {
    return await hashFile(resolvePath(io, shown), {
      algorithms,
      onProgress: (done, total) => {
        progress ??= progressFor(io, { label: shown, total });
        progress.update(done);
      },
    });
  } catch (error) {
    throw ioError('read', shown, error);
  } finally {
    progress?.finish();
  }
}
