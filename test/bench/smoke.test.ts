/**
 * The benchmark end to end in its small mode (`BENCH_SMOKE=1`): it completes and writes
 * well-formed results with every figure. Nothing here looks at speed: the machine running the
 * tests says nothing about the node.
 */

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Results } from '../../bench/report';
import { ensureBuilt } from '../support/build';

const ROWS = [
  'hash-both-digests',
  'hash-parallel-effect',
  'deposit-single-rate',
  'deposit-single-cpu',
  'deposit-single-latency',
  'deposit-batch-rate',
  'deposit-batch-cpu',
  'deposit-batch-ack-rate',
  'verify-in-process',
  'sm2-verify-in-process',
  'sm2-sign-block',
  'sm2-small-batches',
  'timestamp-verify-in-process',
  'receipts-later',
  'verify-cli',
  'scale-deposit-rate',
  'scale-read-latency',
  'storage-ceiling',
  'storage-no-history',
  'storage-no-blocks',
  'storage-blocks-only',
  'storage-state-only',
  'chain-check',
  'scale-bytes-per-record',
  'replica-copy',
  'replica-poll',
];

describe('npm run bench (BENCH_SMOKE=1)', () => {
  let out: string;
  let run: ReturnType<typeof spawnSync>;

  beforeAll(() => {
    ensureBuilt();
    try {
      execFileSync('npx', ['tsc', '-p', 'tsconfig.bench.json'], { stdio: 'pipe' });
    } catch (error) {
      // Type errors elsewhere in the tree do not stop tsc from emitting; a missing output does.
      if (!existsSync('dist-bench/bench/run.js')) throw error;
    }
    out = mkdtempSync(path.join(os.tmpdir(), 'bench-smoke-'));
    run = spawnSync(process.execPath, ['dist-bench/bench/run.js'], {
      env: { ...process.env, BENCH_SMOKE: '1', BENCH_OUT: out, BENCH_TMP: out },
      encoding: 'utf8',
      timeout: 280_000,
    });
  }, 300_000);

  afterAll(() => {
    rmSync(out, { recursive: true, force: true });
  });

  it('completes', () => {
    expect(run.error, String(run.stderr)).toBeUndefined();
    expect(run.status, String(run.stderr)).toBe(0);
  });

  it('writes latest.json with the machine and every figure, each with its reference', () => {
    const results = JSON.parse(readFileSync(path.join(out, 'latest.json'), 'utf8')) as Results;
    expect(results.schema).toBe(1);
    expect(results.smoke).toBe(true);
    expect(Number.isNaN(Date.parse(results.date))).toBe(false);
    expect(results.machine.cpus).toBeGreaterThan(0);
    expect(results.machine.node).toBe(process.version);
    expect(Object.keys(results.figures).sort()).toEqual([
      'hashing',
      'http',
      'replication',
      'scale',
      'verification',
    ]);
    expect(results.rows.map((row) => row.id)).toEqual(ROWS);
    for (const row of results.rows) {
      expect(Number.isFinite(row.value), row.id).toBe(true);
      expect(row.reference, row.id).not.toBe('');
      expect(row.ratio === null || Number.isFinite(row.ratio), row.id).toBe(true);
      expect(row.target === null ? row.pass === null : typeof row.pass === 'boolean', row.id).toBe(
        true,
      );
    }
    // The SM2 rows compare a node of each key, both measured in this run.
    const sm2 = results.figures.verification?.sm2;
    expect(sm2?.receiptsPerSecond).toBeGreaterThan(0);
    expect(sm2?.ed25519SmallBatchDigestsPerSecond).toBeGreaterThan(0);
    expect(results.figures.http?.single.node.failed).toBe(0);
    expect(results.figures.http?.batch.node.failed).toBe(0);
    expect(results.figures.http?.batchAck.node.failed).toBe(0);
    // The storage ceiling wrote real blocks of the store: many entries per record's share.
    // The whole-chain check read every block the scale store holds, records included.
    const check = results.figures.scale?.chainCheck;
    expect(check?.blocks).toBeGreaterThan(1);
    expect(check?.records).toBeGreaterThanOrEqual(10_000);
    expect(check?.seconds).toBeGreaterThan(0);
    expect(check?.readSeconds).toBeGreaterThan(0);
    const ceiling = results.figures.scale?.storageCeiling;
    // Each part of the layout was written on its own: fewer bytes than the whole.
    for (const part of Object.values(ceiling?.parts ?? {}))
      expect(part.bytesPerRecord).toBeLessThan((ceiling?.bytes ?? 0) / (ceiling?.records ?? 1));
    expect(Object.keys(ceiling?.parts ?? {})).toHaveLength(4);
    expect(ceiling?.records).toBeGreaterThanOrEqual(1000);
    expect(ceiling?.entries).toBeGreaterThan(ceiling?.records ?? Infinity);
    expect(ceiling?.bytes).toBeGreaterThan(500 * (ceiling?.records ?? Infinity));
    // The replica copied every record the source made (it must end at the source's tip).
    const replication = results.figures.replication;
    expect(replication?.records).toBe(5000);
    expect(replication?.blocks).toBeGreaterThanOrEqual(5);
    expect(replication?.replica.recordsPerSecond).toBeGreaterThan(0);
  });

  it('writes latest.md as a Markdown table with one row per figure', () => {
    const text = readFileSync(path.join(out, 'latest.md'), 'utf8');
    const table = text.split('\n').filter((line) => line.startsWith('|'));
    expect(table[0]).toBe('| figure | measured | reference (same run) | ratio | target | result |');
    expect(table[1]).toMatch(/^\|(---:?\|)+$/);
    expect(table).toHaveLength(2 + ROWS.length);
    for (const line of table) expect(line.split('|')).toHaveLength(8);
    expect(text).toContain('SMOKE');
  });
});
