import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../gateway/config';
import { getWith, makeTestApp, type TestApp } from './helpers';

const DIGEST = `sha256:${'e'.repeat(64)}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function busy(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // block the event loop, as a CPU-bound flood would
  }
}

describe('limits', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('answers 429 RATE_LIMITED with Retry-After per principal, and per IP when anonymous', async () => {
    t = await makeTestApp({ config: { rateLimitMax: 5, rateLimitWindowMs: 60_000 } });
    const flooder = await t.keyFor('platform');
    const other = await t.keyFor('platform');
    for (let i = 0; i < 5; i++) {
      const response = await getWith(t.app, `/v1/evidence/${DIGEST}`, flooder);
      expect(response.statusCode).toBe(404);
      expect(response.headers['x-ratelimit-remaining']).toBe(String(4 - i));
    }
    const limited = await getWith(t.app, `/v1/evidence/${DIGEST}`, flooder);
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toEqual({
      statusCode: 429,
      code: 'RATE_LIMITED',
      message: expect.any(String),
    });
    const retryAfter = Number(limited.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // Another principal from the same address is not affected.
    expect((await getWith(t.app, `/v1/evidence/${DIGEST}`, other)).statusCode).toBe(404);

    // Anonymous routes are limited per address.
    for (let i = 0; i < 5; i++) expect((await getWith(t.app, '/v1/chain')).statusCode).toBe(200);
    const anonymous = await getWith(t.app, '/v1/chain');
    expect([anonymous.statusCode, anonymous.json().code]).toEqual([429, 'RATE_LIMITED']);
    // Probes are never limited.
    for (let i = 0; i < 20; i++) expect((await getWith(t.app, '/healthz')).statusCode).toBe(200);
  });

  it('keeps unauthenticated floods out before they count or read a body', async () => {
    t = await makeTestApp({ config: { rateLimitMax: 3, rateLimitWindowMs: 60_000 } });
    for (let i = 0; i < 20; i++) {
      const response = await t.app.inject({
        method: 'POST',
        url: '/v1/evidence',
        headers: { 'content-type': 'application/json', authorization: 'Bearer nope' },
        payload: '{"digests":[]}',
      });
      expect([response.statusCode, response.json().code]).toEqual([401, 'UNAUTHENTICATED']);
    }
    expect(t.ledger.submits).toHaveLength(0);
  });

  it('sheds load with 503 OVERLOADED and Retry-After while the event loop lags, then recovers', async () => {
    t = await makeTestApp({
      config: { maxEventLoopDelayMs: 50 },
      deps: { pressureSampleIntervalMs: 100 },
    });
    const key = await t.keyFor('auditor');
    await sleep(300); // past the warm-up after ready
    expect((await getWith(t.app, '/v1/chain')).statusCode).toBe(200);
    let shed: Awaited<ReturnType<typeof getWith>> | undefined;
    for (let attempt = 0; attempt < 5 && !shed; attempt++) {
      busy(800);
      await sleep(5);
      const response = await getWith(t.app, `/v1/evidence/${DIGEST}`, key);
      if (response.statusCode === 503) shed = response;
    }
    expect(shed?.json()).toEqual({
      statusCode: 503,
      code: 'OVERLOADED',
      message: expect.any(String),
    });
    expect(shed?.headers['retry-after']).toBe('1');
    expect((await getWith(t.app, '/healthz')).statusCode).toBe(200);
    // Every other route is shed with the same answer, the documentation's included.
    let docs: Awaited<ReturnType<typeof getWith>> | undefined;
    for (let attempt = 0; attempt < 5 && docs?.statusCode !== 503; attempt++) {
      busy(800);
      await sleep(5);
      docs = await getWith(t.app, '/docs/json');
    }
    expect([docs?.statusCode, docs?.json().code]).toEqual([503, 'OVERLOADED']);
    // Operators can still see the overload.
    const metrics = await getWith(t.app, '/metrics');
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toMatch(/status_code="503"/);
    await sleep(400);
    expect((await getWith(t.app, `/v1/evidence/${DIGEST}`, key)).statusCode).toBe(404);
  });

  it('configures request and idle timeouts on the server', async () => {
    t = await makeTestApp({ config: { requestTimeoutMs: 7_000, connectionTimeoutMs: 65_000 } });
    expect(t.app.server.requestTimeout).toBe(7_000);
    expect(t.app.server.timeout).toBe(65_000);
  });

  it('cuts off a client that sends its headers too slowly (408)', async () => {
    t = await makeTestApp({ config: { requestTimeoutMs: 1_000 } });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const address = t.app.server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const started = Date.now();
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
      });
      let text = '';
      socket.on('data', (chunk) => (text += chunk.toString()));
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
      setTimeout(() => socket.destroy(), 10_000);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('refuses limits that contradict each other, naming each', () => {
    let error: unknown;
    try {
      loadConfig({
        EVIDENCE_CONNECTION_TIMEOUT_MS: '5000',
        EVIDENCE_SUBMIT_TIMEOUT_MS: '10000',
        EVIDENCE_RATE_LIMIT_MAX: '0',
        EVIDENCE_AUDIT_RETENTION_DAYS: '30',
        EVIDENCE_TLS_KEY: '/tmp/key.pem',
      });
    } catch (caught) {
      error = caught;
    }
    expect((error as { code: string }).code).toBe('CONFIG_INVALID');
    expect((error as { fields: { path: string }[] }).fields.map((f) => f.path).sort()).toEqual([
      '/auditRetentionDays',
      '/connectionTimeoutMs',
      '/rateLimitMax',
      '/tlsCert',
    ]);
  });
});
