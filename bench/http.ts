/**
 * HTTP figures: single deposits at 64 connections and 1,000-item batch deposits, against the
 * evidence node (`bin/evidence-node.js`, a fresh data directory, default settings) and, as the
 * reference, a bare Fastify route in another process that only parses the same bodies. The load
 * generator is a third process. Runs alternate node/bare so both see the same machine.
 */

import { promises as fs, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { BenchConfig } from './config';
import type { LoadResult } from './load';
import { processCpuOf } from '../gateway/threads/thread-cpu';
import { median, ROOT, runLoadProcess, startServer, type Server } from './processes';

export interface LoadFigure {
  /** Successful requests per second (median run). */
  readonly requestsPerSecond: number;
  /** Successful items per second (median run). */
  readonly itemsPerSecond: number;
  /** Milliseconds (median run's percentiles). */
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Failed requests over all runs (non-2xx, errors, timeouts). */
  readonly failed: number;
  /**
   * The server's CPU time (all its threads) per successful request, microseconds, over all runs:
   * what a request costs, whatever share of the machine the server got. `null` without /proc.
   */
  readonly cpuMicrosPerRequest: number | null;
  /** The same split by thread (the node's only), over all runs; `null` without /proc. */
  readonly cpuMicrosByThread: CpuByThread | null;
  readonly runs: readonly TimedLoad[];
}

/**
 * CPU by the node's threads: HTTP (main), the ledger thread, the threads it started (LevelDB's
 * compaction, the I/O pool), and the rest (V8's garbage-collection helpers).
 */
export interface CpuByThread {
  readonly http: number;
  readonly ledger: number;
  readonly storage: number;
  readonly other: number;
}

/** A load run and the CPU seconds its server used meanwhile. */
export interface TimedLoad extends LoadResult {
  readonly serverCpuSeconds: number | null;
  /** The same seconds by thread; `null` without /proc. */
  readonly serverThreadSeconds: CpuByThread | null;
}

export interface HttpFigures {
  readonly single: { readonly node: LoadFigure; readonly bare: LoadFigure };
  readonly batch: { readonly node: LoadFigure; readonly bare: LoadFigure };
  /** Batch deposits acknowledged without receipts (`?receipts=none`); the reference is `batch.bare`. */
  readonly batchAck: { readonly node: LoadFigure };
  readonly connections: number;
  readonly batchConnections: number;
  readonly batchItems: number;
  readonly seconds: number;
  readonly logLevel: string;
}

/** Log level of the node under load: `info` is the default and logs every request. */
const NODE_LOG_LEVEL = 'info';

/**
 * The node's CPU seconds so far by thread, from its `evidence_thread_cpu_seconds_total` (the PDF
 * thread counted with the others); `undefined` when it reports none (no /proc).
 */
async function threadSecondsOf(url: string): Promise<CpuByThread | undefined> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const seconds: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const match = /^evidence_thread_cpu_seconds_total\{thread="([a-z]+)"\} (\S+)$/.exec(line);
    if (match) seconds[match[1] as string] = Number(match[2]);
  }
  if (seconds.http === undefined) return undefined;
  return {
    http: seconds.http,
    ledger: seconds.ledger ?? 0,
    storage: seconds.storage ?? 0,
    other: (seconds.other ?? 0) + (seconds.pdf ?? 0),
  };
}

/** Microseconds by thread per successful request, over `runs` (each with its thread seconds). */
function perRequest(runs: readonly TimedLoad[]): CpuByThread {
  const ok = runs.reduce((sum, run) => sum + run.ok, 0);
  const sum = (part: keyof CpuByThread) =>
    (runs.reduce((total, run) => total + (run.serverThreadSeconds as CpuByThread)[part], 0) * 1e6) /
    ok;
  return {
    http: sum('http'),
    ledger: sum('ledger'),
    storage: sum('storage'),
    other: sum('other'),
  };
}

function figure(runs: readonly TimedLoad[]): LoadFigure {
  const byRate = [...runs].sort((a, b) => a.itemsPerSecond - b.itemsPerSecond);
  const middle = byRate[Math.floor((byRate.length - 1) / 2)] as LoadResult;
  return {
    requestsPerSecond: median(runs.map((run) => run.requestsPerSecond)),
    itemsPerSecond: median(runs.map((run) => run.itemsPerSecond)),
    p50Ms: middle.latency.p50,
    p99Ms: middle.latency.p99,
    failed: runs.reduce((sum, run) => sum + run.non2xx + run.errors + run.timeouts, 0),
    cpuMicrosPerRequest: runs.every((run) => run.serverCpuSeconds !== null)
      ? (runs.reduce((sum, run) => sum + (run.serverCpuSeconds as number), 0) * 1e6) /
        runs.reduce((sum, run) => sum + run.ok, 0)
      : null,
    cpuMicrosByThread: runs.every((run) => run.serverThreadSeconds !== null)
      ? perRequest(runs)
      : null,
    runs,
  };
}

/** Node's options in `npm start` (package.json), so the node runs as its README starts it. */
function startNodeArgs(): string[] {
  const manifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  const words = (manifest.scripts.start ?? '').split(/\s+/);
  const script = words.indexOf('bin/evidence-node.js');
  if (words[0] !== 'node' || script < 0) {
    throw new Error(`npm start is not "node [options] bin/evidence-node.js": ${words.join(' ')}`);
  }
  return words.slice(1, script);
}
const START_NODE_ARGS = startNodeArgs();

async function startEvidenceNode(dataDir: string): Promise<{ server: Server; key: string }> {
  const server = await startServer(
    path.join('bin', 'evidence-node.js'),
    {
      EVIDENCE_HOST: '127.0.0.1',
      EVIDENCE_PORT: '0',
      EVIDENCE_DATA_DIR: dataDir,
      EVIDENCE_LOG_LEVEL: NODE_LOG_LEVEL,
      // The per-principal rate limit is a policy, not a capacity: the benchmark's one principal
      // would hit it at once. Everything else (load shedding, queue bound) stays at its default.
      EVIDENCE_RATE_LIMIT_MAX: '1000000',
      CORE_CHAINCODE_LOGGING_LEVEL: 'WARNING',
    },
    undefined,
    START_NODE_ARGS,
  );
  const admin = (await fs.readFile(path.join(dataDir, 'admin.key'), 'utf8')).trim();
  const response = await fetch(`${server.url}/v1/admin/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ org: 'BenchPlatform', account: 'bench', role: 'platform' }),
  });
  if (response.status !== 201) {
    await server.stop();
    throw new Error(`creating the bench API key: ${response.status} ${await response.text()}`);
  }
  return { server, key: ((await response.json()) as { key: string }).key };
}

/** Measures the HTTP figures. */
export async function measureHttp(
  config: BenchConfig,
  log: (line: string) => void,
): Promise<HttpFigures> {
  const dataDir = await fs.mkdtemp(path.join(config.workDir, 'bench-node-'));
  const bare = await startServer(path.join(__dirname, 'bare-server.js'));
  let node: { server: Server; key: string } | undefined;
  try {
    node = await startEvidenceNode(dataDir);
    const targets = {
      node: {
        url: node.server.url,
        pid: node.server.child.pid,
        headers: { authorization: `Bearer ${node.key}` },
      },
      bare: { url: bare.url, pid: bare.child.pid, headers: {} },
    };
    const paths = {
      single: '/v1/evidence',
      batch: '/v1/evidence/batch',
      batchAck: '/v1/evidence/batch?receipts=none',
    } as const;
    const load = async (
      target: keyof typeof targets,
      kind: keyof typeof paths,
      durationSeconds = config.loadSeconds,
    ): Promise<TimedLoad> => {
      const single = kind === 'single';
      const pid = targets[target].pid;
      // The node says its CPU by thread itself (/metrics); the bare route has no such threads.
      const split = target === 'node' ? () => threadSecondsOf(targets[target].url) : undefined;
      const threadsBefore = await split?.();
      const before = pid === undefined ? undefined : processCpuOf(pid);
      const result = await runLoadProcess({
        url: targets[target].url,
        headers: targets[target].headers,
        path: paths[kind],
        connections: single ? config.connections : config.batchConnections,
        durationSeconds,
        itemsPerRequest: single ? 1 : config.batchItems,
      });
      const after = pid === undefined ? undefined : processCpuOf(pid);
      const threadsAfter = await split?.();
      const total = before === undefined || after === undefined ? null : after - before;
      if (total === null || !threadsBefore || !threadsAfter)
        return { ...result, serverCpuSeconds: total, serverThreadSeconds: null };
      const grown = (part: keyof CpuByThread) => threadsAfter[part] - threadsBefore[part];
      return {
        ...result,
        serverCpuSeconds: total,
        serverThreadSeconds: {
          http: grown('http'),
          ledger: grown('ledger'),
          storage: grown('storage'),
          other: grown('other'),
        },
      };
    };

    log('http: warming up both servers');
    await load('bare', 'single', 2);
    await load('node', 'single', 2);

    const runs = {
      single: { node: [], bare: [] },
      batch: { node: [], bare: [] },
      batchAck: { node: [], bare: [] },
    } as Record<keyof typeof paths, Record<'node' | 'bare', TimedLoad[]>>;
    for (let round = 0; round < config.loadRounds; round++) {
      for (const kind of ['single', 'batch', 'batchAck'] as const) {
        // The bare route ignores the query: its batch runs are the reference of both batch kinds.
        const targetsOfKind =
          kind === 'batchAck' ? (['node'] as const) : (['bare', 'node'] as const);
        for (const target of targetsOfKind) {
          const result = await load(target, kind);
          runs[kind][target].push(result);
          log(
            `http: ${kind} ${target} round ${round + 1}: ${result.itemsPerSecond.toFixed(0)} items/s, ` +
              `p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, failed ` +
              `${result.non2xx + result.errors}, server CPU ` +
              `${result.serverCpuSeconds === null ? '?' : ((result.serverCpuSeconds * 1e6) / Math.max(1, result.ok)).toFixed(0)} µs/request`,
          );
        }
      }
    }
    return {
      single: { node: figure(runs.single.node), bare: figure(runs.single.bare) },
      batch: { node: figure(runs.batch.node), bare: figure(runs.batch.bare) },
      batchAck: { node: figure(runs.batchAck.node) },
      connections: config.connections,
      batchConnections: config.batchConnections,
      batchItems: config.batchItems,
      seconds: config.loadSeconds,
      logLevel: NODE_LOG_LEVEL,
    };
  } finally {
    await bare.stop();
    await node?.server.stop();
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}
