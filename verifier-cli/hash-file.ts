/**
 * Streams a file through its digests in one read pass and constant memory, so a 10 GB video
 * hashes without loading it. Small files go through core's multi-hasher on this thread (one reused
 * 1 MiB buffer); large ones, on a machine with more than one core, through parallel-hash.ts, which
 * computes each algorithm on its own core from the same read. The file never leaves the machine.
 */

import { availableParallelism } from 'node:os';
import { open, type FileHandle } from 'node:fs/promises';
import {
  createMultiHasher,
  DIGEST_ALGORITHMS,
  type DigestAlgorithm,
  type DigestSet,
} from '../core/digest';
import { ioError } from './cli-error';
import type { CliIo } from './cli-io';
import { resolvePath } from './command';
import { hashInParallel } from './parallel-hash';
import { progressFor } from './progress';

export const HASH_BUFFER_BYTES = 1024 * 1024;

/**
 * Files from this size on are hashed on several cores. Below it, starting a thread (tens of ms)
 * costs more than the parallel hashing saves (~0.7 ms per MiB, the SHA-256 share).
 */
export const PARALLEL_MIN_BYTES = 64 * 1024 * 1024;

export interface HashFileOptions {
  /** Called after each chunk with the bytes hashed so far and the size the file had when opened. */
  readonly onProgress?: (done: number, total: number) => void;
  /** Algorithms to compute; sha256 is always included. Default: all of core's. */
  readonly algorithms?: readonly DigestAlgorithm[];
  /** Size from which several algorithms are computed on several cores (default {@link PARALLEL_MIN_BYTES}). */
  readonly parallelMinBytes?: number;
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
  const algorithms = [
    ...new Set<DigestAlgorithm>(['sha256', ...(options.algorithms ?? DIGEST_ALGORITHMS)]),
  ];
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
    const parallel =
      algorithms.length > 1 &&
      info.size >= (options.parallelMinBytes ?? PARALLEL_MIN_BYTES) &&
      availableParallelism() > 1;
    return parallel
      ? await hashInParallel(handle, info.size, algorithms, options.onProgress)
      : await hashOnThisThread(handle, info.size, algorithms, options.onProgress);
  } finally {
    await handle.close();
  }
}

/** Every algorithm fed from one pass through one reused buffer, on this thread. */
async function hashOnThisThread(
  handle: FileHandle,
  total: number,
  algorithms: readonly DigestAlgorithm[],
  onProgress?: (done: number, total: number) => void,
): Promise<FileDigests> {
  const hasher = createMultiHasher(algorithms);
  const buffer = Buffer.allocUnsafe(HASH_BUFFER_BYTES);
  for (;;) {
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
    if (bytesRead === 0) break;
    // Hash.update copies what it needs, so the buffer can be reused for the next read.
    hasher.update(buffer.subarray(0, bytesRead));
    onProgress?.(hasher.bytes, total);
  }
  return { size: hasher.bytes, digests: hasher.digest() };
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
