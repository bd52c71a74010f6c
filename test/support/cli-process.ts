/**
 * Runs the built `evidence` CLI as a child process; `offline` runs it inside `unshare -n`, a
 * network namespace with no interfaces, so it provably opens no connection.
 */

import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const CLI = path.resolve('bin/evidence.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function cli(args: string[], options: { offline?: boolean } = {}): Promise<CliResult> {
  const [command, argv] = options.offline
    ? ['unshare', ['-n', process.execPath, CLI, ...args]]
    : [process.execPath, [CLI, ...args]];
  try {
    const { stdout, stderr } = await run(command, argv, { maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof e.code === 'number' ? e.code : -1,
      stdout: e.stdout ?? '',
      stderr: e.stderr ?? '',
    };
  }
}
