/**
 * Child processes of the benchmark: servers started on a free port and stopped by their PID, the
 * load generator, and commands timed by wall clock. Nothing here kills anything it did not start.
 */

import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { LoadOptions, LoadResult } from './load';

/** The repository root (this file runs from `dist-bench/bench/`). */
export const ROOT = path.resolve(__dirname, '..', '..');

export interface Server {
  readonly url: string;
  readonly child: ChildProcess;
  output(): string;
  /** SIGTERM, then wait for the exit. */
  stop(): Promise<void>;
}

const LISTENING = /listening on (http:\/\/[^\s]+)/;

/** Starts `node <script>` and waits for it to print `listening on <url>`. */
export async function startServer(
  script: string,
  env: Readonly<Record<string, string>> = {},
  timeoutMs = 60_000,
  nodeArgs: readonly string[] = [],
): Promise<Server> {
  const child = spawn(process.execPath, [...nodeArgs, script], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Everything until the URL is kept (start-up errors); after it only a short tail, unparsed:
  // a node logging a line per request must not make this process busy.
  let out = '';
  let listening = false;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} did not listen within ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      if (listening) {
        out = (out + chunk.toString()).slice(-8192);
        return;
      }
      out += chunk.toString();
      const match = LISTENING.exec(out);
      if (match) {
        listening = true;
        clearTimeout(timer);
        resolve(match[1] as string);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`${script} exited before listening:\n${out}`));
    });
  });
  return {
    url,
    child,
    output: () => out,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** User + system clock ticks of a `/proc/.../stat` line. */
function ticksOf(stat: string): number {
  // Fields after the command name, which is in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/**
 * CPU seconds (user + system, all threads) the process `pid` has used so far, from
 * `/proc/<pid>/stat`; `undefined` where there is no /proc (not Linux).
 */
export function cpuSecondsOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const ticks = ticksOf(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    return Number.isFinite(ticks) ? ticks / CLOCK_TICKS : undefined;
  } catch {
    return undefined;
  }
}

/** USER_HZ: the unit of /proc/<pid>/stat times, 100 on every mainstream Linux. */
const CLOCK_TICKS = 100;

/** CPU seconds a node process has used so far, in all and by the threads it names. */
export interface ThreadCpu {
  /** All threads, ended ones included (`/proc/<pid>/stat`). */
  readonly total: number;
  /** The main thread: HTTP, validation, receipts, responses. */
  readonly main: number;
  /** The thread named `ledgerName` (the node names its ledger thread), 0 when there is none. */
  readonly ledger: number;
  /**
   * Threads the ledger thread started, which inherit its name: LevelDB's compaction thread, and
   * libuv's I/O pool when the ledger thread used it first (synced writes, reads).
   */
  readonly ledgerStarted: number;
}

/**
 * CPU seconds of the process `pid`, its main thread, its ledger thread and the threads that one
 * started, from `/proc/<pid>/task`; `undefined` where there is no /proc. A thread started by
 * another inherits its name, so the ledger thread is the first one named `ledgerName` (the lowest
 * id: it exists before any thread it starts). What is left of `total` is the threads started
 * before it: V8's garbage-collection and compiler helpers, and libuv's pool if the main thread
 * used it first.
 */
export function threadCpuOf(pid: number | undefined, ledgerName: string): ThreadCpu | undefined {
  const total = cpuSecondsOf(pid);
  if (pid === undefined || total === undefined) return undefined;
  try {
    const main = ticksOf(readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8')) / CLOCK_TICKS;
    const named: Array<{ tid: number; seconds: number }> = [];
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        if (readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim() !== ledgerName) continue;
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        named.push({ tid: Number(tid), seconds: ticksOf(stat) / CLOCK_TICKS });
      } catch {
        // The thread ended meanwhile: its time is in the total.
      }
    }
    named.sort((a, b) => a.tid - b.tid);
    const ledger = named[0]?.seconds ?? 0;
    const ledgerStarted = named.slice(1).reduce((sum, thread) => sum + thread.seconds, 0);
    return [main, ledger, ledgerStarted].every(Number.isFinite)
      ? { total, main, ledger, ledgerStarted }
      : undefined;
  } catch {
    return undefined;
  }
}

/** Runs the load generator in its own process and returns what it measured. */
export async function runLoadProcess(options: LoadOptions): Promise<LoadResult> {
  const { stdout } = await run(process.execPath, [
    path.join(__dirname, 'load.js'),
    JSON.stringify(options),
  ]);
  return JSON.parse(stdout.trim().split('\n').pop() ?? '') as LoadResult;
}

export interface Timed {
  readonly stdout: string;
  /** Wall-clock seconds from spawn to exit. */
  readonly seconds: number;
}

/**
 * Runs a command to completion and times it.
 * @throws Error when it exits with a non-zero status.
 */
export function run(command: string, args: readonly string[]): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code !== 0) {
        reject(new Error(`${command} ${args.join(' ')} exited with ${code}:\n${stderr}`));
      } else {
        resolve({ stdout: Buffer.concat(stdout).toString(), seconds });
      }
    });
  });
}

/** The median of `values` (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}
