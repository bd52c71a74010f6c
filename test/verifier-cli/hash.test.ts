import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { digestBytes } from '../../core/digest';
import { runCli, tempDir } from './cli-harness';

const temp = tempDir();
afterAll(() => temp.cleanup());

describe('evidence hash', () => {
  const content = randomBytes(3 * 1024 * 1024 + 17); // spans several 1 MiB reads
  const file = temp.write('video.bin', content);
  temp.write('empty.bin', Buffer.alloc(0));

  it('prints the same sha256 as sha256sum and the same sm3 as openssl', async () => {
    const run = await runCli(['hash', 'video.bin'], { cwd: temp.dir });
    expect(run.status).toBe(0);
    const sha256sum = execFileSync('sha256sum', [file], { encoding: 'utf8' }).split(' ')[0];
    const sm3 = /= ([0-9a-f]{64})/.exec(
      execFileSync('openssl', ['dgst', '-sm3', file], { encoding: 'utf8' }),
    )?.[1];
    expect(run.stdout).toBe(`sha256:${sha256sum} sm3:${sm3}  video.bin\n`);
  });

  it('prints { file, size, digests } per file with --json', async () => {
    const run = await runCli(['hash', '--json', 'video.bin', 'empty.bin'], { cwd: temp.dir });
    expect(run.status).toBe(0);
    expect(run.json()).toEqual([
      { file: 'video.bin', size: content.length, digests: digestBytes(content) },
      { file: 'empty.bin', size: 0, digests: digestBytes(Buffer.alloc(0)) },
    ]);
  });

  it('computes only sha256 when --algorithms says so', async () => {
    const run = await runCli(['hash', '--algorithms', 'sha256', '--json', 'video.bin'], {
      cwd: temp.dir,
    });
    expect(run.json<{ digests: object }[]>()[0]?.digests).toEqual({
      sha256: digestBytes(content).sha256,
    });
  });

  it('rejects an unknown algorithm as a usage error', async () => {
    const run = await runCli(['hash', '--algorithms', 'md5', 'video.bin'], { cwd: temp.dir });
    expect(run.status).toBe(2);
    expect(run.errorCodes).toEqual(['USAGE']);
  });

  it('rejects an unknown flag as a usage error', async () => {
    const run = await runCli(['hash', '--fast', 'video.bin'], { cwd: temp.dir });
    expect(run.status).toBe(2);
    expect(run.errorCodes).toEqual(['USAGE']);
  });

  it('needs at least one file', async () => {
    const run = await runCli(['hash'], { cwd: temp.dir });
    expect(run.status).toBe(2);
    expect(run.errorCodes).toEqual(['USAGE']);
  });

  it('reports an unreadable file with IO_ERROR, hashes the others, and exits 3', async () => {
    const run = await runCli(['hash', 'missing.bin', 'video.bin'], { cwd: temp.dir });
    expect(run.status).toBe(3);
    expect(run.errorCodes).toEqual(['IO_ERROR']);
    expect(run.stdout).toContain('  video.bin');
  });

  it('reports a directory with IO_ERROR', async () => {
    const run = await runCli(['hash', '--json', '.'], { cwd: temp.dir });
    expect(run.status).toBe(3);
    expect(run.json<{ error: { code: string } }[]>()[0]?.error.code).toBe('IO_ERROR');
  });

  it('accepts file names that look like flags after --', async () => {
    temp.write('--json', 'x');
    const run = await runCli(['hash', '--', '--json'], { cwd: temp.dir });
    expect(run.status).toBe(0);
    expect(run.stdout).toBe(
      `${digestBytes(Buffer.from('x')).sha256} ${digestBytes(Buffer.from('x')).sm3}  --json\n`,
    );
  });
});
