/**
 * `npm run bench`: measures the embedded node's figures, each against a reference measured in the
 * same run (see BENCHMARKS.md for the method), and writes `bench/results/latest.json` and
 * `latest.md`. Configured by environment variables (config.ts); `BENCH_SMOKE=1` is a small run.
 *
 * Runs from `dist-bench/` (tsconfig.bench.json); the node and the CLI it measures are the built
 * `bin/evidence-node.js` and `bin/evidence.js` (`npm run build` first, as the script does).
 */

import './quiet';
import * as os from 'node:os';
import { loadBenchConfig } from './config';
import { measureHashing } from './hashing';
import { measureHttp } from './http';
import { measureReplication } from './replication';
import { machineInfo, rowsOf, writeResults, type Figures, type Results } from './report';
import { measureScale } from './scale';
import { measureVerification } from './verification';

async function main(): Promise<number> {
  const config = loadBenchConfig();
  const started = Date.now();
  const loadStart = os.loadavg()[0] as number;
  const log = (line: string) =>
    process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
  log(`bench: ${config.smoke ? 'smoke' : 'full'} run of ${config.sections.join(', ')}`);

  const figures: {
    -readonly [K in keyof Figures]: Figures[K];
  } = {};
  if (config.sections.includes('hashing')) figures.hashing = await measureHashing(config, log);
  if (config.sections.includes('http')) figures.http = await measureHttp(config, log);
  if (config.sections.includes('verification'))
    figures.verification = await measureVerification(config, log);
  if (config.sections.includes('scale')) figures.scale = await measureScale(config, log);
  if (config.sections.includes('replication'))
    figures.replication = await measureReplication(config, log);

  const results: Results = {
    schema: 1,
    date: new Date(started).toISOString(),
    smoke: config.smoke,
    durationSeconds: (Date.now() - started) / 1000,
    machine: machineInfo(loadStart),
    figures,
    rows: rowsOf(figures),
  };
  await writeResults(config.outDir, results);
  for (const row of results.rows) {
    const result = row.pass === null ? '' : row.pass ? '  pass' : '  MISS';
    log(`${row.figure}: ${row.value} (${row.reference})${result}`);
  }
  log(`bench: wrote ${config.outDir}/latest.json and latest.md`);
  return 0;
}

main().then(
  (status) => {
    process.exitCode = status;
  },
  (error: unknown) => {
    process.stderr.write(`bench failed: ${String((error as Error)?.stack ?? error)}\n`);
    process.exitCode = 1;
  },
);
