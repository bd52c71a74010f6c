/**
 * Hashing one file with several algorithms on several cores, in ONE read pass: this thread reads
 * the file into a ring of shared-memory chunks and hashes each chunk with the first algorithm;
 * one worker thread per other algorithm hashes the same chunks from the same memory. Every digest
 * is therefore of exactly the same bytes (a file changed while it is read still yields a
 * consistent pair), memory stays constant (the ring), and the slowest algorithm (SM3 in OpenSSL
 * 3.0 has no assembly) sets the pace instead of the sum of all of them.
 *
 * The ring protocol, on one shared Int32Array `control`:
 *   [SEQ]       bumped after every change the reader makes (a chunk published, the end, an abort),
 *               so a worker that waits on it never misses a wake-up;
 *   [PRODUCED]  chunks published so far; chunk c lives in slot c % SLOTS;
 *   [STATE]     RUNNING, ENDED (no more chunks) or ABORTED;
 *   [LENGTHS+s] bytes in slot s;
 *   [CONSUMED+w] chunks worker w has hashed. The reader reuses a slot only once every worker has
 *               consumed the chunk that was in it.
 */

import type { FileHandle } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { createHash } from 'node:crypto';
import { formatDigest, type DigestAlgorithm, type DigestSet } from '../core/digest';

/** Bytes per ring slot (one read). */
export const RING_SLOT_BYTES = 1024 * 1024;
/** Slots in the ring: how far the reader may run ahead of the slowest worker. */
export const RING_SLOTS = 8;

const SEQ = 0;
const PRODUCED = 1;
const STATE = 2;
const LENGTHS = 3;
const RUNNING = 0;
const ENDED = 1;
const ABORTED = 2;

/** How long the reader waits on a worker before checking that it is still alive, ms. */
const LIVENESS_MS = 250;

/**
 * The worker: plain JavaScript evaluated as a CommonJS script, so it runs the same from `dist/`
 * and from sources under a test runner, with no file of its own to locate.
 */
const WORKER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { ring, control, algorithm, consumedAt, slots, slotBytes } = workerData;
const c = new Int32Array(control);
const hash = createHash(algorithm);
let chunk = 0;
for (;;) {
  const seq = Atomics.load(c, ${SEQ});
  const state = Atomics.load(c, ${STATE});
  if (state === ${ABORTED}) break;
  if (chunk < Atomics.load(c, ${PRODUCED})) {
    const slot = chunk % slots;
    hash.update(new Uint8Array(ring, slot * slotBytes, Atomics.load(c, ${LENGTHS} + slot)));
    chunk += 1;
    Atomics.store(c, consumedAt, chunk);
    Atomics.notify(c, consumedAt);
  } else if (state === ${ENDED}) {
    parentPort.postMessage(hash.digest('hex'));
    break;
  } else {
    Atomics.wait(c, ${SEQ}, seq);
  }
}
`;

type WaitAsyncResult =
  | { readonly async: false; readonly value: 'not-equal' | 'timed-out' }
  | { readonly async: true; readonly value: Promise<'ok' | 'timed-out'> };

/** Atomics.waitAsync (Node >= 16); ES2023's lib does not declare it. */
function waitAsync(array: Int32Array, index: number, value: number, timeoutMs: number) {
  const atomics = Atomics as unknown as {
    waitAsync(a: Int32Array, i: number, v: number, t: number): WaitAsyncResult;
  };
  const result = atomics.waitAsync(array, index, value, timeoutMs);
  return result.async ? result.value : Promise.resolve(result.value);
}

interface HashWorker {
  readonly algorithm: DigestAlgorithm;
  readonly consumedAt: number;
  readonly worker: Worker;
  readonly digest: Promise<string>;
  failure: Error | undefined;
}

/**
 * Hashes what `handle` reads from its current position to the end of the file, with every
 * algorithm in `algorithms` (the first one on this thread).
 * Requires at least two algorithms.
 * @throws the read error of `handle`, or the error of a worker that failed.
 */
export async function hashInParallel(
  handle: FileHandle,
  total: number,
  algorithms: readonly DigestAlgorithm[],
  onProgress?: (done: number, total: number) => void,
): Promise<{ size: number; digests: DigestSet }> {
  const [own, ...others] = algorithms as [DigestAlgorithm, ...DigestAlgorithm[]];
  const ring = new SharedArrayBuffer(RING_SLOTS * RING_SLOT_BYTES);
  const control = new Int32Array(new SharedArrayBuffer(4 * (LENGTHS + RING_SLOTS + others.length)));
  Atomics.store(control, STATE, RUNNING);
  const workers: HashWorker[] = others.map((algorithm, index) => {
    const consumedAt = LENGTHS + RING_SLOTS + index;
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        ring,
        control: control.buffer,
        algorithm,
        consumedAt,
        slots: RING_SLOTS,
        slotBytes: RING_SLOT_BYTES,
      },
    });
    let finished = false;
    const entry: HashWorker = {
      algorithm,
      consumedAt,
      worker,
      failure: undefined,
      digest: new Promise<string>((resolve, reject) => {
        worker.once('message', (hex: string) => {
          finished = true;
          resolve(hex);
        });
        worker.once('error', (error) => {
          entry.failure ??= error;
          reject(error);
        });
        worker.once('exit', (code) => {
          if (finished) return;
          entry.failure ??= new Error(`the ${algorithm} hashing thread exited (${code})`);
          reject(entry.failure);
        });
      }),
    };
    // Rejections are awaited below; until then they must not count as unhandled.
    entry.digest.catch(() => undefined);
    return entry;
  });

  const publish = (state?: number) => {
    if (state !== undefined) Atomics.store(control, STATE, state);
    Atomics.add(control, SEQ, 1);
    Atomics.notify(control, SEQ);
  };
  /** Chunks every worker has hashed, and the worker that hashed fewest. */
  const slowest = () => {
    let least = workers[0] as HashWorker;
    for (const entry of workers) {
      if (Atomics.load(control, entry.consumedAt) < Atomics.load(control, least.consumedAt))
        least = entry;
    }
    return { entry: least, chunks: Atomics.load(control, least.consumedAt) };
  };
  /** Waits until the slowest worker hashed more than `chunks` chunks (or a while passed). */
  const waitForWorkers = async (chunks: number) => {
    const { entry } = slowest();
    if (entry.failure) throw entry.failure;
    await waitAsync(control, entry.consumedAt, chunks, LIVENESS_MS);
  };

  const hash = createHash(own);
  let read = 0;
  let chunk = 0;
  const progress = () => {
    const hashed = Math.min(read, slowest().chunks * RING_SLOT_BYTES);
    onProgress?.(hashed, total);
  };
  try {
    for (; ; chunk++) {
      // The slot of this chunk is free once every worker consumed the chunk SLOTS before it.
      while (slowest().chunks < chunk - RING_SLOTS + 1) await waitForWorkers(slowest().chunks);
      const slot = chunk % RING_SLOTS;
      const view = new Uint8Array(ring, slot * RING_SLOT_BYTES, RING_SLOT_BYTES);
      const { bytesRead } = await handle.read(view, 0, RING_SLOT_BYTES, null);
      if (bytesRead === 0) break;
      Atomics.store(control, LENGTHS + slot, bytesRead);
      Atomics.store(control, PRODUCED, chunk + 1);
      publish();
      hash.update(view.subarray(0, bytesRead));
      read += bytesRead;
      progress();
    }
    publish(ENDED);
    let hashed = -1;
    while (slowest().chunks < chunk) {
      if (slowest().chunks !== hashed) {
        hashed = slowest().chunks;
        progress();
      }
      await waitForWorkers(slowest().chunks);
    }
    const digests: Partial<Record<DigestAlgorithm, string>> = {
      [own]: formatDigest(own, hash.digest()),
    };
    for (const entry of workers) {
      digests[entry.algorithm] = formatDigest(
        entry.algorithm,
        Buffer.from(await entry.digest, 'hex'),
      );
    }
    onProgress?.(read, total);
    return { size: read, digests: digests as DigestSet };
  } catch (error) {
    publish(ABORTED);
    throw error;
  } finally {
    await Promise.all(workers.map((entry) => entry.worker.terminate()));
  }
}
