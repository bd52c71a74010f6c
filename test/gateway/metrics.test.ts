import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openThreadedLedger } from '../../gateway/ledger/threaded-ledger';
import { createMetrics } from '../../gateway/metrics';
import { processCpuOf } from '../../gateway/threads/thread-cpu';
import { depositArgs, GATEWAY_IDENTITY } from '../support/deposit-args';
import { itemFor, makeTestApp, postJson, tempDir, type TestApp } from './helpers';

/** The value of one sample of the exposition text, or undefined when it is absent. */
function sample(text: string, name: string, labels = ''): number | undefined {
  const line = text
    .split('\n')
    .find((candidate) => candidate.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('GET /metrics', () => {
  let t: TestApp;
  afterEach(async () => {
    await t.close();
  });

  async function scrape(): Promise<string> {
    const response = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    return response.body;
  }

  it('exposes every metric of the node in the Prometheus text format, without an API key', async () => {
    t = await makeTestApp();
    const text = await scrape();
    for (const name of [
      'evidence_deposits_total',
      'evidence_group_commit_batch_size',
      'evidence_commit_duration_seconds',
      'evidence_group_commit_queue_depth',
      'evidence_group_commit_in_flight',
      'evidence_errors_total',
      'http_request_duration_seconds',
      'evidence_last_anchor_age_seconds',
      'evidence_backups_total',
      'evidence_last_backup_timestamp_seconds',
      'evidence_last_backup_duration_seconds',
      'process_cpu_seconds_total',
    ]) {
      expect(text, name).toContain(`# TYPE ${name} `);
    }
    expect(sample(text, 'evidence_deposits_total', 'outcome="created"')).toBe(0);
    expect(sample(text, 'evidence_group_commit_queue_depth')).toBe(0);
    // Registered, but no target has reported an anchor: no sample yet.
    expect(text).not.toMatch(/^evidence_last_anchor_age_seconds\{/m);
  });

  it.runIf(process.platform === 'linux')(
    "splits the process's CPU by the threads the node names, each series only growing",
    async () => {
      const dir = await tempDir('thread-cpu-');
      const ledger = await openThreadedLedger({
        dataDir: dir,
        org: 'NodeOrg',
        threadScript: path.resolve('dist/gateway/ledger/embedded/ledger-thread.js'),
      });
      try {
        const deposit = async (count: number, name: string) => {
          for (let i = 0; i < count; i++)
            await ledger.submit(
              'evidence',
              'depositBatch',
              depositArgs(`${name} ${i}`),
              GATEWAY_IDENTITY,
            );
        };
        await deposit(20, 'cpu');
        // The thread says its id, and it is the thread named for the ledger.
        expect(ledger.osThreadId).toBeGreaterThan(0);
        expect(
          (await fs.readFile(`/proc/${process.pid}/task/${ledger.osThreadId}/comm`, 'utf8')).trim(),
        ).toBe('evidence-ledger');
        const metrics = createMetrics({ ledgerThreadId: () => ledger.osThreadId });
        const first = (await metrics.render()).text;
        expect(first).toContain('# TYPE evidence_thread_cpu_seconds_total counter');
        const http = sample(first, 'evidence_thread_cpu_seconds_total', 'thread="http"');
        const ledgerCpu = sample(first, 'evidence_thread_cpu_seconds_total', 'thread="ledger"');
        expect(http).toBeGreaterThan(0);
        // The ledger thread opened a store, and signed and wrote 20 blocks.
        expect(ledgerCpu).toBeGreaterThan(0);
        // No thread is counted twice: the split is not more than the process's CPU, read after.
        const threads = ['http', 'ledger', 'storage', 'pdf', 'other'].map(
          (thread) => sample(first, 'evidence_thread_cpu_seconds_total', `thread="${thread}"`) ?? 0,
        );
        const sum = threads.reduce((a, b) => a + b, 0);
        const total = processCpuOf(process.pid)!;
        expect(sum).toBeLessThanOrEqual(total);
        await deposit(100, 'more');
        const again = (await metrics.render()).text;
        expect(
          sample(again, 'evidence_thread_cpu_seconds_total', 'thread="http"'),
        ).toBeGreaterThanOrEqual(http!);
        // 100 more blocks signed and written on the ledger thread: its share grew.
        expect(
          sample(again, 'evidence_thread_cpu_seconds_total', 'thread="ledger"'),
        ).toBeGreaterThan(ledgerCpu!);
        // Without the process metrics, none.
        const bare = (await createMetrics({ processMetrics: false }).render()).text;
        expect(bare).not.toContain('evidence_thread_cpu_seconds_total');
      } finally {
        await ledger.close();
        await fs.rm(dir, { recursive: true, force: true });
      }
    },
  );

  it('counts deposits by outcome, transactions by size and requests by route after deposits', async () => {
    t = await makeTestApp();
    const key = await t.keyFor('platform');
    const item = itemFor();
    expect((await postJson(t.app, '/v1/evidence', key, item)).statusCode).toBe(201);
    expect((await postJson(t.app, '/v1/evidence', key, item)).statusCode).toBe(200);
    const batch = await postJson(t.app, '/v1/evidence/batch', key, {
      items: [itemFor(), itemFor(), { digests: ['sha256:nope'] }],
    });
    expect(batch.statusCode).toBe(200);
    expect((await postJson(t.app, '/v1/evidence', undefined, itemFor())).statusCode).toBe(401);

    const text = await scrape();
    expect(sample(text, 'evidence_deposits_total', 'outcome="created"')).toBe(3);
    expect(sample(text, 'evidence_deposits_total', 'outcome="existing"')).toBe(1);
    expect(sample(text, 'evidence_group_commit_batch_size_count')).toBe(3);
    expect(sample(text, 'evidence_group_commit_batch_size_sum')).toBe(4);
    expect(sample(text, 'evidence_commit_duration_seconds_count')).toBe(3);
    expect(sample(text, 'evidence_errors_total', 'code="VALIDATION_FAILED"')).toBe(1);
    expect(sample(text, 'evidence_errors_total', 'code="UNAUTHENTICATED"')).toBe(1);
    expect(
      sample(
        text,
        'http_request_duration_seconds_count',
        'method="POST",route="/v1/evidence",status_code="201"',
      ),
    ).toBe(1);
    expect(
      sample(
        text,
        'http_request_duration_seconds_count',
        'method="POST",route="/v1/evidence/batch",status_code="200"',
      ),
    ).toBe(1);
  });

  it('labels unmatched requests by a fixed route, never by the URL a client sent', async () => {
    t = await makeTestApp();
    expect((await t.app.inject({ method: 'GET', url: '/no/such/13812345678' })).statusCode).toBe(
      404,
    );
    const text = await scrape();
    expect(text).not.toContain('13812345678');
    expect(
      sample(
        text,
        'http_request_duration_seconds_count',
        'method="GET",route="unmatched",status_code="404"',
      ),
    ).toBe(1);
    expect(sample(text, 'evidence_errors_total', 'code="NOT_FOUND"')).toBe(1);
  });

  it('reports the age of the last anchor per target once the anchoring job recorded one', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const metrics = createMetrics({ now: () => now, processMetrics: false });
    t = await makeTestApp({ deps: { metrics } });
    expect(t.app.metrics).toBe(metrics);
    metrics.anchors.anchored('court-chain', now - 90_000);
    let text = await scrape();
    expect(sample(text, 'evidence_last_anchor_age_seconds', 'target="court-chain"')).toBe(90);
    now += 30_000;
    text = await scrape();
    expect(sample(text, 'evidence_last_anchor_age_seconds', 'target="court-chain"')).toBe(120);
    metrics.anchors.forget('court-chain');
    text = await scrape();
    expect(text).not.toMatch(/^evidence_last_anchor_age_seconds\{/m);
  });

  it('counts backups, and reports when the last completed one finished, found in the folder at start', async () => {
    const now = Date.parse('2026-01-02T00:00:00Z');
    const backupDir = path.join(await tempDir('metrics-backups-'), 'backups');
    // A backup a previous run completed an hour ago.
    const earlier = '20260101T230000000Z';
    await fs.mkdir(path.join(backupDir, earlier), { recursive: true });
    await fs.writeFile(
      path.join(backupDir, earlier, 'backup.json'),
      JSON.stringify({
        type: 'evidence-node-backup',
        version: 1,
        id: earlier,
        state: 'completed',
        startedAt: '2026-01-01T23:00:00.000Z',
        finishedAt: '2026-01-01T23:00:00.000Z',
        chainId: 'c',
        ledger: null,
        stores: {},
        files: [],
        error: null,
      }),
    );
    const metrics = createMetrics({ now: () => now, processMetrics: false });
    t = await makeTestApp({ deps: { metrics, clock: () => now }, config: { backupDir } });
    const earlierAt = Date.parse('2026-01-01T23:00:00.000Z') / 1000;
    let text = await scrape();
    expect(sample(text, 'evidence_last_backup_timestamp_seconds')).toBe(earlierAt);
    expect(sample(text, 'evidence_backups_total', 'outcome="completed"')).toBe(0);

    metrics.backups.finished('failed', 2.5, now);
    text = await scrape();
    expect(sample(text, 'evidence_backups_total', 'outcome="failed"')).toBe(1);
    expect(sample(text, 'evidence_last_backup_duration_seconds')).toBe(2.5);
    expect(sample(text, 'evidence_last_backup_timestamp_seconds')).toBe(earlierAt);

    const started = await t.app.inject({
      method: 'POST',
      url: '/v1/admin/backups',
      headers: { authorization: `Bearer ${t.adminKey}` },
    });
    expect(started.statusCode).toBe(202);
    while ((await t.app.backups.get(started.json().id))?.state === 'running') {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    text = await scrape();
    expect(sample(text, 'evidence_backups_total', 'outcome="completed"')).toBe(1);
    expect(sample(text, 'evidence_last_backup_timestamp_seconds')).toBe(now / 1000);
    await fs.rm(path.dirname(backupDir), { recursive: true, force: true });
  });

  it('reports 0 as the last backup time before any backup', async () => {
    t = await makeTestApp();
    expect(sample(await scrape(), 'evidence_last_backup_timestamp_seconds')).toBe(0);
  });
});

describe('request ids', () => {
  let t: TestApp;
  afterEach(async () => {
    await t.close();
  });

  it('keeps a safe incoming x-request-id and echoes it', async () => {
    t = await makeTestApp();
    const response = await t.app.inject({
      method: 'GET',
      url: '/healthz',
      headers: { 'x-request-id': 'trace-4bf92f3577b34da6.a3ce929d:01' },
    });
    expect(response.headers['x-request-id']).toBe('trace-4bf92f3577b34da6.a3ce929d:01');
  });

  it('replaces a missing, unsafe or personal x-request-id with a fresh UUID', async () => {
    t = await makeTestApp();
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    for (const headers of [
      {},
      { 'x-request-id': 'has spaces and "quotes"' },
      { 'x-request-id': 'x'.repeat(129) },
      { 'x-request-id': '' },
      { 'x-request-id': '13812345678' },
      { 'x-request-id': 'a@b.example.com' },
    ]) {
      const response = await t.app.inject({ method: 'GET', url: '/healthz', headers });
      expect(response.headers['x-request-id'], JSON.stringify(headers)).toMatch(uuid);
    }
    const first = await t.app.inject({ method: 'GET', url: '/healthz' });
    const second = await t.app.inject({ method: 'GET', url: '/healthz' });
    expect(first.headers['x-request-id']).not.toBe(second.headers['x-request-id']);
  });
});
