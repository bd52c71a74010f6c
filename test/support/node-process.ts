/**
 * Starts the real, built node (`bin/evidence-node.js`) as a child process on a free port with its
 * own data directory, for end-to-end tests. Stops only the process it started, by its PID.
 */

import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { BackupView } from '../../gateway/backup';

export interface NodeProcess {
  readonly url: string;
  readonly dataDir: string;
  readonly child: ChildProcess;
  /** Everything the process printed so far. */
  output(): string;
  /** SIGTERM, then wait for exit. */
  stop(): Promise<number | null>;
  /** SIGKILL (kill -9), then wait for exit. */
  kill9(): Promise<void>;
}

export interface StartOptions {
  readonly dataDir: string;
  readonly env?: Record<string, string>;
  readonly timeoutMs?: number;
}

const LISTENING = /listening on (https?:\/\/[^\s]+)/;

export async function startNode(options: StartOptions): Promise<NodeProcess> {
  const child = spawn(process.execPath, [path.resolve('bin/evidence-node.js')], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      EVIDENCE_HOST: '127.0.0.1',
      EVIDENCE_PORT: '0',
      EVIDENCE_DATA_DIR: options.dataDir,
      EVIDENCE_LOG_LEVEL: 'warn',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(new Error(`node did not start within ${options.timeoutMs ?? 20_000} ms:\n${out}`)),
      options.timeoutMs ?? 20_000,
    );
    const onData = () => {
      const match = LISTENING.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`node exited with ${code} before listening:\n${out}`));
    });
  });
  return {
    url,
    dataDir: options.dataDir,
    child,
    output: () => out,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
    kill9: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** The first admin key a fresh node wrote into its data directory. */
export async function adminKey(dataDir: string): Promise<string> {
  return (await fs.readFile(path.join(dataDir, 'admin.key'), 'utf8')).trim();
}

/** Creates a principal through the admin API and returns its key. */
export async function createKey(
  url: string,
  admin: string,
  principal: { org: string; account: string; role: string },
): Promise<string> {
  const response = await fetch(`${url}/v1/admin/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify(principal),
  });
  if (response.status !== 201)
    throw new Error(`creating a key: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { key: string }).key;
}

/**
 * Asks the node at `url` for a backup (`POST /v1/admin/backups`, 202) and polls it until it is no
 * longer running (at most `timeoutMs`); returns its last view.
 */
export async function takeBackup(
  url: string,
  admin: string,
  timeoutMs = 60_000,
): Promise<BackupView> {
  const headers = { authorization: `Bearer ${admin}` };
  const started = await fetch(`${url}/v1/admin/backups`, { method: 'POST', headers });
  if (started.status !== 202)
    throw new Error(`asking for a backup: ${started.status} ${await started.text()}`);
  let backup = (await started.json()) as BackupView;
  const deadline = Date.now() + timeoutMs;
  while (backup.state === 'running' && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const polled = await fetch(`${url}/v1/admin/backups/${backup.id}`, { headers });
    backup = (await polled.json()) as BackupView;
  }
  return backup;
}
