/**
 * Hashing figure: `evidence hash FILE --json` (both digests) on one large file, against
 * `openssl dgst -sha256` and `openssl dgst -sm3` on the same file, all from a warm page cache,
 * runs interleaved, medians reported. The CLI's digests are checked against openssl's. As a second
 * reference, the same file hashed in this process on one thread and on several (the effect of
 * parallel-hash.ts without process start-up).
 */

import { randomFillSync } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { hashFile } from '../verifier-cli/hash-file';
import type { BenchConfig } from './config';
import { median, run } from './processes';

export interface HashingFigures {
  readonly bytes: number;
  readonly runs: number;
  /** Median wall seconds of each command. */
  readonly cliSeconds: number;
  readonly opensslSha256Seconds: number;
  readonly opensslSm3Seconds: number;
  /** cliSeconds / the slower openssl run. */
  readonly ratio: number;
  /** In this process, median seconds: both digests on one thread, then on several. */
  readonly inProcessSerialSeconds: number;
  readonly inProcessParallelSeconds: number;
}

const CHUNK = 16 * 1024 * 1024;

async function writeFile(file: string, bytes: number): Promise<void> {
  const handle = await fs.open(file, 'w');
  try {
    const chunk = Buffer.allocUnsafe(Math.min(CHUNK, bytes));
    for (let written = 0; written < bytes; written += chunk.length) {
      randomFillSync(chunk);
      await handle.write(chunk, 0, Math.min(chunk.length, bytes - written));
    }
  } finally {
    await handle.close();
  }
}

async function readThrough(file: string): Promise<void> {
  for await (const _chunk of createReadStream(file, { highWaterMark: CHUNK })) {
    // Only to have the file in the page cache.
  }
}

function opensslDigest(stdout: string): string {
  const match = /= ([0-9a-f]{64})\s*$/.exec(stdout);
  if (!match) throw new Error(`unexpected openssl output: ${stdout}`);
  return match[1] as string;
}

/** Measures the hashing figures on a file of `config.hashBytes` under `config.workDir`. */
export async function measureHashing(
  config: BenchConfig,
  log: (line: string) => void,
): Promise<HashingFigures> {
  const dir = await fs.mkdtemp(path.join(config.workDir, 'bench-hash-'));
  const file = path.join(dir, 'evidence.bin');
  try {
    log(`hashing: writing ${config.hashBytes / 1024 / 1024} MiB`);
    await writeFile(file, config.hashBytes);
    await readThrough(file);
    const times = { cli: [] as number[], sha256: [] as number[], sm3: [] as number[] };
    const serial: number[] = [];
    const parallel: number[] = [];
    for (let round = 0; round < config.hashRuns; round++) {
      const sha = await run('openssl', ['dgst', '-sha256', file]);
      const sm3 = await run('openssl', ['dgst', '-sm3', file]);
      const cli = await run(process.execPath, [
        path.join('bin', 'evidence.js'),
        'hash',
        '--json',
        file,
      ]);
      const [result] = JSON.parse(cli.stdout) as [{ digests: { sha256: string; sm3: string } }];
      if (
        result.digests.sha256 !== `sha256:${opensslDigest(sha.stdout)}` ||
        result.digests.sm3 !== `sm3:${opensslDigest(sm3.stdout)}`
      ) {
        throw new Error('the CLI and openssl disagree on the digests of the same file');
      }
      times.sha256.push(sha.seconds);
      times.sm3.push(sm3.seconds);
      times.cli.push(cli.seconds);
      for (const [minBytes, into] of [
        [Number.MAX_SAFE_INTEGER, serial],
        [0, parallel],
      ] as const) {
        const started = process.hrtime.bigint();
        await hashFile(file, { parallelMinBytes: minBytes });
        into.push(Number(process.hrtime.bigint() - started) / 1e9);
      }
      log(
        `hashing: round ${round + 1}: cli ${cli.seconds.toFixed(2)} s, openssl sha256 ` +
          `${sha.seconds.toFixed(2)} s, sm3 ${sm3.seconds.toFixed(2)} s`,
      );
    }
    const cliSeconds = median(times.cli);
    const opensslSha256Seconds = median(times.sha256);
    const opensslSm3Seconds = median(times.sm3);
    return {
      bytes: config.hashBytes,
      runs: config.hashRuns,
      cliSeconds,
      opensslSha256Seconds,
      opensslSm3Seconds,
      ratio: cliSeconds / Math.max(opensslSha256Seconds, opensslSm3Seconds),
      inProcessSerialSeconds: median(serial),
      inProcessParallelSeconds: median(parallel),
    };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
