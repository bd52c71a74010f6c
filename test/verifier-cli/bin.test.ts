/**
 * The installed entry point: bin/evidence.js -> dist/verifier-cli/main.js -> main(). Runs the real
 * process, so it needs the compiled code; it builds dist/ when it is missing or older than the
 * sources.
 */

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './cli-harness';

const MAIN_JS = 'dist/verifier-cli/main.js';

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function builtIsFresh(): boolean {
  return (
    existsSync(MAIN_JS) &&
    statSync(MAIN_JS).mtimeMs >= Math.max(newestSource('verifier-cli'), newestSource('core'))
  );
}

const temp = tempDir();

beforeAll(() => {
  if (builtIsFresh()) return;
  try {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'pipe' });
  } catch (error) {
    // tsc still emits when files outside verifier-cli/ and core/ have type errors; only a missing
    // or stale CLI build is this test's concern.
    if (!builtIsFresh()) throw error;
  }
});
afterAll(() => temp.cleanup());

function evidence(...args: string[]) {
  return spawnSync(process.execPath, ['bin/evidence.js', ...args], { encoding: 'utf8' });
}

describe('bin/evidence.js', () => {
  it('hashes a file like sha256sum and exits 0', () => {
    const file = temp.write('exhibit.bin', Buffer.from('exhibit A\n'));
    const run = evidence('hash', file);
    expect(run.status).toBe(0);
    const expected = execFileSync('sha256sum', [file], { encoding: 'utf8' }).split(' ')[0];
    expect(run.stdout).toMatch(new RegExp(`^sha256:${expected} sm3:[0-9a-f]{64} {2}${file}\\n$`));
    expect(run.stderr).toBe('');
  });

  it('finds package.json from dist/ for --version', () => {
    const run = evidence('--version');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^judicial-evidence-node \d+\.\d+\.\d+/);
  });

  it('sets the exit status and prints no stack trace for bad input', () => {
    const run = evidence(
      'verify',
      join(temp.dir, 'missing.pdf'),
      '--receipt',
      'r.json',
      '--trust',
      't.json',
    );
    expect(run.status).toBe(3);
    expect(run.stderr).toMatch(/^error IO_ERROR: /);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(evidence('verify', '--nope').status).toBe(2);
  });
});
