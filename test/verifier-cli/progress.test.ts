import { closeSync, openSync, ftruncateSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { createProgress, PROGRESS_MIN_BYTES } from '../../verifier-cli/progress';
import { hashFile } from '../../verifier-cli/hash-file';
import { digestBytes } from '../../core/digest';
import { runCli, tempDir } from './cli-harness';

const temp = tempDir();
afterAll(() => temp.cleanup());

describe('createProgress', () => {
  it('redraws at most every 100 ms and erases its line when finished', () => {
    const writes: string[] = [];
    let clock = 0;
    const progress = createProgress((s) => writes.push(s), {
      label: 'f',
      total: 100 * 1024 * 1024,
      now: () => clock,
    });
    clock = 50;
    progress.update(10 * 1024 * 1024); // drawn
    progress.update(11 * 1024 * 1024); // same instant: skipped
    clock = 120;
    progress.update(20 * 1024 * 1024); // 70 ms later: skipped
    clock = 150;
    progress.update(30 * 1024 * 1024); // 100 ms later: drawn
    expect(writes).toHaveLength(2);
    expect(writes[0]).toContain(' 10.0% ');
    expect(writes[1]).toMatch(/ 30\.0% 200\.0 MiB\/s$/);
    progress.finish();
    expect(writes[2]).toBe('\r\x1b[2K');
  });
});

describe('hashFile', () => {
  it('reports progress against the size and returns the digests', async () => {
    const data = Buffer.alloc(2.5 * 1024 * 1024, 7);
    const seen: [number, number][] = [];
    const result = await hashFile(temp.write('a.bin', data), {
      onProgress: (done, total) => seen.push([done, total]),
    });
    expect(result).toEqual({ size: data.length, digests: digestBytes(data) });
    expect(seen.map(([done]) => done)).toEqual([1024 * 1024, 2 * 1024 * 1024, data.length]);
    expect(seen.every(([, total]) => total === data.length)).toBe(true);
  });
});

describe('evidence hash progress', () => {
  it('draws nothing for a small file, even on a terminal', async () => {
    temp.write('small.bin', 'small');
    const run = await runCli(['hash', 'small.bin'], { cwd: temp.dir, stderrIsTTY: true });
    expect(run.stderr).toBe('');
  });

  it('draws and erases a progress line for a large file on a terminal only', async () => {
    const path = `${temp.dir}/large.bin`;
    const fd = openSync(path, 'w');
    ftruncateSync(fd, PROGRESS_MIN_BYTES + 1024 * 1024); // sparse: cheap to create
    closeSync(fd);
    const tty = await runCli(['hash', '--algorithms', 'sha256', 'large.bin'], {
      cwd: temp.dir,
      stderrIsTTY: true,
    });
    expect(tty.status).toBe(0);
    expect(tty.stderr).toMatch(/large\.bin +\d+\.\d% [\d.]+ MiB\/s/);
    expect(tty.stderr.endsWith('\r\x1b[2K')).toBe(true);
    const piped = await runCli(['hash', '--algorithms', 'sha256', 'large.bin'], { cwd: temp.dir });
    expect(piped.stderr).toBe('');
    expect(piped.stdout).toBe(tty.stdout);
  });
});
