/**
 * The load generator, run as its own process (`node dist-bench/bench/load.js '<json options>'`)
 * so it never shares an event loop with the server it measures. It drives autocannon against one
 * route with a unique body per request and prints one JSON line: a {@link LoadResult}.
 */

import autocannon from 'autocannon';
import { createItemSource } from './workload';

export interface LoadOptions {
  readonly url: string;
  readonly path: string;
  readonly connections: number;
  readonly durationSeconds: number;
  /** 1: a single-item body `{digests, size}`; n > 1: a batch body `{items: [...n]}`. */
  readonly itemsPerRequest: number;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface LoadResult {
  readonly requests: number;
  readonly ok: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly durationSeconds: number;
  /** Successful requests per second. */
  readonly requestsPerSecond: number;
  /** Successful items per second (requests × items per request). */
  readonly itemsPerSecond: number;
  /** Milliseconds. */
  readonly latency: {
    readonly p50: number;
    readonly p90: number;
    readonly p99: number;
    readonly max: number;
  };
}

/** Runs one load test in this process. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const items = createItemSource();
  const body =
    options.itemsPerRequest === 1
      ? () => JSON.stringify(items.next())
      : () => JSON.stringify({ items: items.take(options.itemsPerRequest) });
  const result = await autocannon({
    url: options.url,
    connections: options.connections,
    duration: options.durationSeconds,
    timeout: 30,
    requests: [
      {
        method: 'POST',
        path: options.path,
        headers: { 'content-type': 'application/json', ...options.headers },
        setupRequest: (request) => ({ ...request, body: body() }),
      },
    ],
  });
  const ok = result['2xx'];
  return {
    requests: result.requests.total,
    ok,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    durationSeconds: result.duration,
    requestsPerSecond: ok / result.duration,
    itemsPerSecond: (ok * options.itemsPerRequest) / result.duration,
    latency: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
    },
  };
}

if (require.main === module) {
  const options = JSON.parse(process.argv[2] ?? '{}') as LoadOptions;
  runLoad(options).then(
    (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
    (error: unknown) => {
      process.stderr.write(`load failed: ${String((error as Error)?.stack ?? error)}\n`);
      process.exitCode = 1;
    },
  );
}
