/**
 * Drives `main()` with an injected io: captured output, a temp working directory, and a fetch that
 * fails the test if called (so offline paths prove they stay offline).
 */

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { main, type CliIo } from '../../verifier-cli/main';

export interface CliRun {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout parsed as JSON. */
  json<T = Record<string, unknown>>(): T;
  /** Codes in `error CODE:` lines on stderr. */
  readonly errorCodes: string[];
}

/** A fetch that records calls and refuses them: used wherever no network use is expected. */
export function forbiddenFetch(): typeof fetch & { calls: unknown[] } {
  const calls: unknown[] = [];
  const fake = (async (...args: unknown[]) => {
    calls.push(args);
    throw new Error('this test expects no network use');
  }) as unknown as typeof fetch & { calls: unknown[] };
  fake.calls = calls;
  return fake;
}

export async function runCli(
  argv: readonly string[],
  io: Partial<CliIo> & { cwd: string },
): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const status = await main(argv, {
    stdout: (s) => out.push(s),
    stderr: (s) => err.push(s),
    stderrIsTTY: false,
    env: {},
    fetch: forbiddenFetch(),
    ...io,
  });
  const stdout = out.join('');
  const stderr = err.join('');
  return {
    status,
    stdout,
    stderr,
    json: <T>() => JSON.parse(stdout) as T,
    errorCodes: [...stderr.matchAll(/^error ([A-Z_]+):/gm)].map((m) => m[1] as string),
  };
}

/** A fresh temp directory, removed by the returned cleanup. */
export function tempDir(): {
  dir: string;
  cleanup: () => void;
  write: (name: string, data: string | Buffer) => string;
} {
  const dir = mkdtempSync(join(tmpdir(), 'evidence-cli-'));
  return {
    dir,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
    write: (name, data) => {
      const path = join(dir, name);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, data);
      return path;
    },
  };
}

export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

export interface TestServer {
  readonly url: string;
  readonly requests: RecordedRequest[];
  close(): Promise<void>;
}

export type Handler = (request: RecordedRequest) => { status: number; body: unknown };

/** A real node:http server on 127.0.0.1, port 0, answering JSON from `handler`. */
export async function startServer(handler: Handler): Promise<TestServer> {
  const requests: RecordedRequest[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const recorded = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(recorded);
      const { status, body } = handler(recorded);
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A URL on which nothing listens: a port that was just free. */
export async function deadUrl(): Promise<string> {
  const server = await startServer(() => ({ status: 500, body: {} }));
  await server.close();
  return server.url;
}
