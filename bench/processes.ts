/**
 * Child processes of the benchmark: servers started on a free port and stopped by their PID, the
 * load generator, and commands timed by wall clock. Nothing here kills anything it did not start.
 */

import { spawn, type ChildProcess } from 'node:child_process';
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
