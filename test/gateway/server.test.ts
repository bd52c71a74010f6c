import { EventEmitter } from 'node:events';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT_CONFIG, EXIT_OK, runNode, type RunningNode } from '../../gateway/server';
import { FakeLedger } from './fake-ledger';
import { itemFor, tempDir } from './helpers';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { stdout: (l: string) => out.push(l), stderr: (l: string) => err.push(l) },
    out,
    err,
  };
}

/** A fake ledger that tells whether it was closed. */
function closeTracked(): { ledger: FakeLedger; closed: () => boolean } {
  const ledger = new FakeLedger();
  let closed = false;
  const close = ledger.close.bind(ledger);
  ledger.close = async () => {
    closed = true;
    await close();
  };
  return { ledger, closed: () => closed };
}

const silent = new Writable({ write: (_chunk, _encoding, done) => done() });

describe('runNode', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const dir of dirs.splice(0)) await fs.rm(dir, { recursive: true, force: true });
  });

  it('prints every bad setting and exits 2 on a bad configuration, opening nothing', async () => {
    const { io, err } = capture();
    let opened = false;
    const status = await runNode({
      env: { EVIDENCE_PORT: 'x', EVIDENCE_LOG_LEVEL: 'loud' },
      io,
      openLedger: async () => {
        opened = true;
        return new FakeLedger();
      },
    });
    expect(status).toBe(EXIT_CONFIG);
    expect(opened).toBe(false);
    expect(err[0]).toMatch(/^CONFIG_INVALID: /);
    expect(err.slice(1)).toEqual([
      '  /port: EVIDENCE_PORT must be an integer from 0 to 65535',
      '  /logLevel: EVIDENCE_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent',
    ]);
  });

  it('listens, prints its URL, docs and first admin key, serves, and stops cleanly on SIGTERM', async () => {
    const dir = await tempDir();
    dirs.push(dir);
    const signals = new EventEmitter();
    const { ledger, closed } = closeTracked();
    const { io, out } = capture();
    let node: RunningNode | undefined;
    let listening!: () => void;
    const started = new Promise<void>((resolve) => (listening = resolve));
    const exited = runNode({
      env: { EVIDENCE_PORT: '0', EVIDENCE_DATA_DIR: dir, EVIDENCE_LOG_LEVEL: 'silent' },
      io,
      signals,
      logDestination: silent,
      openLedger: async (options) => {
        expect(options).toMatchObject({ dataDir: dir, org: 'NodeOrg', thread: 'worker' });
        expect(typeof options.onFailure).toBe('function');
        return ledger;
      },
      onListening: (running) => {
        node = running;
        listening();
      },
    });
    await started;
    const url = node!.url;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(out).toEqual([
      `Evidence node listening on ${url}`,
      `API docs: ${url}/docs`,
      `First admin API key written to ${path.join(dir, 'admin.key')}`,
    ]);
    const admin = (await fs.readFile(path.join(dir, 'admin.key'), 'utf8')).trim();
    const created = await fetch(`${url}/v1/admin/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ org: 'PlatformOrg', account: 'p-1', role: 'platform' }),
    });
    expect(created.status).toBe(201);
    const { key } = (await created.json()) as { key: string };
    const deposit = await fetch(`${url}/v1/evidence`, {
      method: 'POST',
      headers: { 'x-api-key': key, 'content-type': 'application/json' },
      body: JSON.stringify(itemFor()),
    });
    expect(deposit.status).toBe(201);

    signals.emit('SIGTERM', 'SIGTERM');
    expect(await exited).toBe(EXIT_OK);
    expect(closed()).toBe(true);
    expect(signals.listenerCount('SIGTERM')).toBe(0);
    expect(signals.listenerCount('SIGINT')).toBe(0);
  });

  it('does not announce an admin key when the keys file already exists, and exits 1 when it cannot listen', async () => {
    const dir = await tempDir();
    dirs.push(dir);
    const env = { EVIDENCE_PORT: '0', EVIDENCE_DATA_DIR: dir, EVIDENCE_LOG_LEVEL: 'silent' };
    const first = capture();
    const signals = new EventEmitter();
    let url = '';
    const stopped = new Promise<number>((resolve) => {
      void runNode({
        env,
        io: first.io,
        signals,
        logDestination: silent,
        openLedger: async () => new FakeLedger(),
        onListening: (node) => {
          url = node.url;
          signals.emit('SIGINT', 'SIGINT');
        },
      }).then(resolve);
    });
    expect(await stopped).toBe(EXIT_OK);
    expect(first.out).toHaveLength(3);

    const second = capture();
    const again = new EventEmitter();
    const stoppedAgain = new Promise<number>((resolve) => {
      void runNode({
        env,
        io: second.io,
        signals: again,
        logDestination: silent,
        openLedger: async () => new FakeLedger(),
        onListening: () => again.emit('SIGTERM', 'SIGTERM'),
      }).then(resolve);
    });
    expect(await stoppedAgain).toBe(EXIT_OK);
    expect(second.out.some((line) => line.includes('First admin'))).toBe(false);
    expect(url).not.toBe('');

    // A port already taken: start fails, the ledger is closed again, status 1.
    const blocker = new EventEmitter();
    let blockingUrl = '';
    let blockerStopped: Promise<number> | undefined;
    const blocking = new Promise<void>((resolve) => {
      blockerStopped = runNode({
        env,
        io: capture().io,
        signals: blocker,
        logDestination: silent,
        openLedger: async () => new FakeLedger(),
        onListening: (node) => {
          blockingUrl = node.url;
          resolve();
        },
      });
    });
    await blocking;
    const ledger = new FakeLedger();
    const failed = capture();
    const status = await runNode({
      env: { ...env, EVIDENCE_PORT: new URL(blockingUrl).port },
      io: failed.io,
      logDestination: silent,
      openLedger: async () => ledger,
    });
    expect(status).toBe(1);
    expect(failed.err[0]).toMatch(/^Evidence node failed to start: /);
    await expect(ledger.info()).rejects.toMatchObject({ code: 'LEDGER_CLOSED' });
    blocker.emit('SIGTERM', 'SIGTERM');
    expect(await blockerStopped).toBe(EXIT_OK);
  });

  it('stops and exits 1 when the ledger fails for good, closing what it opened', async () => {
    const dir = await tempDir();
    dirs.push(dir);
    const { ledger, closed } = closeTracked();
    let fail: ((error: Error) => void) | undefined;
    const signals = new EventEmitter();
    const { io, err } = capture();
    const status = await runNode({
      env: { EVIDENCE_PORT: '0', EVIDENCE_DATA_DIR: dir, EVIDENCE_LOG_LEVEL: 'silent' },
      io,
      signals,
      logDestination: silent,
      openLedger: async (options) => {
        fail = options.onFailure;
        return ledger;
      },
      onListening: () => fail?.(new Error('the ledger thread stopped (exit code 7)')),
    });
    expect(status).toBe(1);
    expect(err).toEqual(['Evidence node stopping: the ledger thread stopped (exit code 7)']);
    expect(closed()).toBe(true);
    expect(signals.listenerCount('SIGTERM')).toBe(0);
  });
});
