/**
 * A one-line progress indicator for hashing large files: percentage and throughput on standard
 * error, redrawn at most ~10 times a second, erased when done. Drawn only on a terminal and only for
 * files large enough to take a while.
 */

import type { CliIo } from './cli-io';

const MIB = 1024 * 1024;

/** Files above this size get a progress line when standard error is a terminal. */
export const PROGRESS_MIN_BYTES = 64 * MIB;

/** Minimum time between two redraws. */
export const PROGRESS_INTERVAL_MS = 100;

export interface Progress {
  /** Reports `done` bytes of the total; redraws if the last redraw is old enough. */
  update(done: number): void;
  /** Erases the line. Call once, also on failure. */
  finish(): void;
}

export interface ProgressOptions {
  readonly label: string;
  readonly total: number;
  /** Milliseconds clock, injectable for tests. */
  readonly now?: () => number;
}

const NO_PROGRESS: Progress = { update: () => undefined, finish: () => undefined };

/** A progress line when `io` has a terminal and the file is large, otherwise a no-op. */
export function progressFor(io: CliIo, options: ProgressOptions): Progress {
  if (!io.stderrIsTTY || options.total <= PROGRESS_MIN_BYTES) return NO_PROGRESS;
  return createProgress(io.stderr, options);
}

/** A progress line written to `write`, unconditionally. */
export function createProgress(write: (s: string) => void, options: ProgressOptions): Progress {
  const now = options.now ?? (() => performance.now());
  const started = now();
  const label = options.label.length > 40 ? `…${options.label.slice(-39)}` : options.label;
  let last = -Infinity;
  let drawn = false;
  return {
    update(done) {
      const t = now();
      if (t - last < PROGRESS_INTERVAL_MS) return;
      last = t;
      const percent = options.total > 0 ? Math.min(100, (done / options.total) * 100) : 100;
      const seconds = (t - started) / 1000;
      const rate = seconds > 0 ? done / MIB / seconds : 0;
      write(`\r\x1b[2K${label} ${percent.toFixed(1).padStart(5)}% ${rate.toFixed(1)} MiB/s`);
      drawn = true;
    },
    finish() {
      if (drawn) write('\r\x1b[2K');
      drawn = false;
    },
  };
}
