import { afterEach, describe, expect, it } from 'vitest';
import { LedgerError, StateError } from '../../core/errors';
import type { Receipt } from '../../core/receipt';
import { verifyReceipt } from '../../core/verify';
import { createGroupCommit, type GroupCommitOptions } from '../../gateway/group-commit';
import { itemFor, makeTestApp, postJson, type TestApp } from './helpers';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `condition` holds (polling), so the tests do not depend on the machine's speed. */
async function until(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(1);
  }
}

interface Probe {
  readonly batches: string[][];
  /** Settles the oldest pending commit. */
  finish(error?: unknown): void;
  readonly pending: number;
}

/** A group commit over a commit function the test settles by hand. */
function harness(options: Partial<GroupCommitOptions<string, string>> = {}) {
  const batches: string[][] = [];
  const settle: Array<(error?: unknown) => void> = [];
  const queue = createGroupCommit<string, string>({
    maxBatch: 100,
    delayMs: 50,
    maxQueued: 1000,
    keyOf: (item) => item.split('#')[0] as string,
    commit: (items) => {
      batches.push([...items]);
      return new Promise((resolve, reject) => {
        settle.push((error) =>
          error ? reject(error) : resolve(items.map((item) => `done:${item}`)),
        );
      });
    },
    ...options,
  });
  const probe: Probe = {
    batches,
    finish: (error) => settle.shift()?.(error),
    get pending() {
      return settle.length;
    },
  };
  return { queue, probe };
}

describe('createGroupCommit', () => {
  it('commits a lone item at once, without waiting for the delay', async () => {
    const { queue, probe } = harness({ delayMs: 10_000 });
    const [result] = queue.add(['a']);
    await until(() => probe.batches.length === 1);
    expect(probe.batches).toEqual([['a']]);
    probe.finish();
    await expect(result).resolves.toBe('done:a');
  });

  it('holds a waiting item open for an announced arrival, and leaves as soon as it arrived', async () => {
    const { queue, probe } = harness({ delayMs: 10_000 });
    const arrived = queue.announce();
    const first = queue.add(['a']);
    await sleep(20);
    expect(probe.batches).toEqual([]);
    const second = queue.add(['b']);
    arrived();
    arrived();
    await until(() => probe.batches.length === 1);
    expect(probe.batches).toEqual([['a', 'b']]);
    probe.finish();
    await expect(Promise.all([...first, ...second])).resolves.toEqual(['done:a', 'done:b']);
  });

  it('leaves after delayMs when an announced arrival never comes', async () => {
    const { queue, probe } = harness({ delayMs: 30 });
    queue.announce();
    const started = Date.now();
    const [result] = queue.add(['a']);
    while (probe.batches.length === 0) await sleep(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
    probe.finish();
    await expect(result).resolves.toBe('done:a');
  });

  it('leaves at once when maxBatch items wait, even with arrivals announced', async () => {
    const { queue, probe } = harness({ maxBatch: 3, delayMs: 10_000 });
    queue.announce();
    queue.add(['a', 'b', 'c', 'd']);
    await until(() => probe.batches.length === 1);
    expect(probe.batches).toEqual([['a', 'b', 'c']]);
  });

  it('keeps one commit in flight and gathers later items into the next one', async () => {
    const { queue, probe } = harness();
    const all = [...queue.add(['a'])];
    await until(() => probe.batches.length === 1);
    all.push(...queue.add(['b']), ...queue.add(['c']));
    await sleep(5);
    expect(probe.batches).toEqual([['a']]);
    expect(queue.waiting).toBe(2);
    probe.finish();
    await until(() => probe.batches.length === 2);
    expect(probe.batches).toEqual([['a'], ['b', 'c']]);
    probe.finish();
    await expect(Promise.all(all)).resolves.toEqual(['done:a', 'done:b', 'done:c']);
    expect(queue.commits).toBe(2);
  });

  it('starts a commit beside a running one only once a full batch waits, up to maxInFlight', async () => {
    const { queue, probe } = harness({ maxBatch: 3, maxInFlight: 2 });
    const all = [...queue.add(['a'])];
    await until(() => probe.batches.length === 1);
    all.push(...queue.add(['b', 'c']));
    await sleep(5);
    // Two items wait: a second commit now would be smaller than waiting for the first one.
    expect(probe.batches).toEqual([['a']]);
    all.push(...queue.add(['d', 'e', 'f', 'g']));
    await until(() => probe.batches.length === 2);
    expect(probe.batches).toEqual([['a'], ['b', 'c', 'd']]);
    expect(queue.inFlight).toBe(2);
    await sleep(5);
    // Both slots busy: e, f and g wait although they fill a batch.
    expect(probe.batches).toHaveLength(2);
    probe.finish();
    await until(() => probe.batches.length === 3);
    expect(probe.batches[2]).toEqual(['e', 'f', 'g']);
    probe.finish();
    probe.finish();
    await expect(Promise.all(all)).resolves.toEqual(
      ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((item) => `done:${item}`),
    );
    expect(queue.inFlight).toBe(0);
  });

  it('defers an item whose key is already in the forming batch', async () => {
    const { queue, probe } = harness();
    const results = queue.add(['x#1', 'y', 'x#2', 'z', 'x#3']);
    await until(() => probe.batches.length === 1);
    expect(probe.batches).toEqual([['x#1', 'y', 'z']]);
    probe.finish();
    await until(() => probe.batches.length === 2);
    expect(probe.batches[1]).toEqual(['x#2']);
    probe.finish();
    await until(() => probe.batches.length === 3);
    expect(probe.batches[2]).toEqual(['x#3']);
    probe.finish();
    await expect(Promise.all(results)).resolves.toEqual([
      'done:x#1',
      'done:y',
      'done:x#2',
      'done:z',
      'done:x#3',
    ]);
  });

  it('settles waiters only after their commit settled', async () => {
    const { queue, probe } = harness();
    let settled = false;
    const [result] = queue.add(['a']);
    void result?.then(() => (settled = true));
    await sleep(20);
    expect(settled).toBe(false);
    probe.finish();
    await result;
    expect(settled).toBe(true);
  });

  it('rejects every waiter of a failed commit with its error, and goes on with the next batch', async () => {
    const { queue, probe } = harness();
    const failing = queue.add(['a', 'b', 'c']);
    await until(() => probe.batches.length === 1);
    const next = queue.add(['d']);
    const error = new LedgerError('STORAGE_FULL', 'disk full');
    probe.finish(error);
    for (const result of failing) await expect(result).rejects.toBe(error);
    await until(() => probe.batches.length === 2);
    probe.finish();
    await expect(next[0]).resolves.toBe('done:d');
  });

  it('refuses with OVERLOADED past maxQueued, admitting all of a request or none', async () => {
    const { queue, probe } = harness({ maxQueued: 5 });
    queue.add(['a']);
    await until(() => probe.pending === 1);
    expect(probe.pending).toBe(1);
    queue.add(['b', 'c', 'd']);
    expect(() => queue.add(['e', 'f', 'g'])).toThrow(
      expect.objectContaining({ code: 'OVERLOADED' }),
    );
    expect(queue.waiting).toBe(3);
    expect(queue.add(['e', 'f'])).toHaveLength(2);
  });

  it('fails waiters with LEDGER_TIMEOUT when the commit hangs, but starts no second commit meanwhile', async () => {
    const { queue, probe } = harness({ timeoutMs: 20 });
    const [hung] = queue.add(['a']);
    await expect(hung).rejects.toMatchObject({ code: 'LEDGER_TIMEOUT' });
    const [next] = queue.add(['b']);
    await sleep(10);
    expect(probe.batches).toEqual([['a']]);
    probe.finish();
    await until(() => probe.batches.length === 2);
    expect(probe.batches).toEqual([['a'], ['b']]);
    probe.finish();
    await expect(next).resolves.toBe('done:b');
  });

  it('reports a commit that returns the wrong number of results as INTERNAL', async () => {
    const queue = createGroupCommit<string, string>({
      maxBatch: 10,
      delayMs: 0,
      maxQueued: 10,
      keyOf: (item) => item,
      commit: async () => ['only one'],
    });
    const results = queue.add(['a', 'b']);
    for (const result of results) await expect(result).rejects.toMatchObject({ code: 'INTERNAL' });
  });

  it('drains on close and then refuses with LEDGER_CLOSED', async () => {
    const { queue, probe } = harness();
    const results = queue.add(['a']);
    await until(() => probe.batches.length === 1);
    results.push(...queue.add(['b']));
    const closed = queue.close();
    expect(() => queue.add(['c'])).toThrow(expect.objectContaining({ code: 'LEDGER_CLOSED' }));
    probe.finish();
    await until(() => probe.batches.length === 2);
    probe.finish();
    await closed;
    await expect(Promise.all(results)).resolves.toEqual(['done:a', 'done:b']);
  });
});

describe('group commit through HTTP', () => {
  let t: TestApp;
  afterEach(async () => {
    await t.close();
  });

  it('turns 200 concurrent single deposits into far fewer transactions, each answered once durable', async () => {
    t = await makeTestApp({ ledger: { commitDelayMs: 5 } });
    const key = await t.keyFor('platform');
    const items = Array.from({ length: 200 }, () => itemFor());
    const durableAtResponse: boolean[] = [];
    const responses = await Promise.all(
      items.map((item) =>
        postJson(t.app, '/v1/evidence', key, item).then((response) => {
          const txId = (response.json() as { receipt: Receipt }).receipt.ledger.txId;
          durableAtResponse.push(t.ledger.resolved.has(txId));
          return response;
        }),
      ),
    );
    expect(responses.map((r) => r.statusCode)).toEqual(items.map(() => 201));
    expect(durableAtResponse.every(Boolean)).toBe(true);
    expect(t.ledger.submits.length).toBeLessThan(50);
    const trust = t.ledger.trust();
    for (const response of responses) {
      expect(verifyReceipt((response.json() as { receipt: Receipt }).receipt, trust).verdict).toBe(
        'VERIFIED',
      );
    }
  });

  it('answers no deposit while its transaction is not durable', async () => {
    t = await makeTestApp();
    const key = await t.keyFor('platform');
    t.ledger.holdSubmits();
    let answered = 0;
    const pending = Array.from({ length: 20 }, () =>
      postJson(t.app, '/v1/evidence', key, itemFor()).then((response) => {
        answered += 1;
        return response;
      }),
    );
    await sleep(50);
    expect(answered).toBe(0);
    t.ledger.releaseSubmits();
    const responses = await Promise.all(pending);
    expect(responses.every((r) => r.statusCode === 201)).toBe(true);
  });

  it('fails every waiter of a failed transaction with the ledger code', async () => {
    t = await makeTestApp();
    const key = await t.keyFor('platform');
    t.ledger.failNext(new LedgerError('LEDGER_UNAVAILABLE', 'peer unreachable'), 1000);
    const responses = await Promise.all(
      Array.from({ length: 30 }, () => postJson(t.app, '/v1/evidence', key, itemFor())),
    );
    for (const response of responses) {
      expect(response.statusCode).toBe(503);
      expect(response.headers['retry-after']).toBe('5');
      expect(response.json()).toEqual({
        statusCode: 503,
        code: 'LEDGER_UNAVAILABLE',
        message: 'peer unreachable',
      });
    }
    const batch = await postJson(t.app, '/v1/evidence/batch', key, {
      items: [itemFor(), itemFor()],
    });
    expect(batch.statusCode).toBe(200);
    expect(batch.json()).toEqual({
      results: [
        { index: 0, error: { code: 'LEDGER_UNAVAILABLE', message: 'peer unreachable' } },
        { index: 1, error: { code: 'LEDGER_UNAVAILABLE', message: 'peer unreachable' } },
      ],
    });
  });

  it('maps each ledger failure to its status: timeout 504, disk full 507, chaincode refusal 4xx', async () => {
    t = await makeTestApp();
    const key = await t.keyFor('platform');
    const cases = [
      [new LedgerError('LEDGER_TIMEOUT', 'slow'), 504],
      [new LedgerError('STORAGE_FULL', 'disk full'), 507],
      [new LedgerError('LEDGER_CORRUPTED', 'bad block'), 500],
      [new StateError('CONFLICT', 'conflict'), 409],
    ] as const;
    for (const [error, status] of cases) {
      t.ledger.failNext(error);
      const response = await postJson(t.app, '/v1/evidence', key, itemFor());
      expect(response.statusCode).toBe(status);
      expect(response.json().code).toBe(error.code);
    }
  });

  it('refuses with 503 OVERLOADED and Retry-After when too many deposits wait', async () => {
    t = await makeTestApp({ maxQueued: 3 });
    const key = await t.keyFor('platform');
    t.ledger.holdSubmits();
    const inFlight = postJson(t.app, '/v1/evidence', key, itemFor());
    await until(() => t.ledger.submits.length === 1);
    const waiting = [1, 2, 3].map(() => postJson(t.app, '/v1/evidence', key, itemFor()));
    await until(() => t.app.evidence.waiting === 3);
    const refused = await postJson(t.app, '/v1/evidence', key, itemFor());
    expect(refused.statusCode).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.json()).toEqual({
      statusCode: 503,
      code: 'OVERLOADED',
      message: 'more than 3 deposits are waiting',
    });
    const batch = await postJson(t.app, '/v1/evidence/batch', key, {
      items: [itemFor(), itemFor()],
    });
    expect(batch.statusCode).toBe(503);
    expect(batch.json().code).toBe('OVERLOADED');
    t.ledger.releaseSubmits();
    for (const response of await Promise.all([inFlight, ...waiting]))
      expect(response.statusCode).toBe(201);
  });
});
