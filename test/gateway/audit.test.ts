import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Level } from 'level';
import { afterEach, describe, expect, it } from 'vitest';
import { auditKey, type AuditEntry } from '../../core/audit';
import { openAuditLog } from '../../gateway/audit/audit-log';
import { runCli } from '../verifier-cli/cli-harness';
import { bearer, getWith, itemFor, postJson, tempDir } from './helpers';
import { makeEmbeddedApp, type EmbeddedTestApp } from './security-helpers';

type Entries = { entries: AuditEntry[]; next: number | null };

/** Rewrites entry `seq` of the audit store in `dir` (the node is stopped). */
async function tamper(dir: string, seq: number, change: (entry: AuditEntry) => unknown) {
  const db = new Level<string, string>(path.join(dir, 'audit'), { valueEncoding: 'utf8' });
  const entries = db.sublevel<string, string>('entries', { valueEncoding: 'utf8' });
  const entry = JSON.parse((await entries.get(auditKey(seq))) as string) as AuditEntry;
  const changed = change(entry);
  if (changed === undefined) await entries.del(auditKey(seq));
  else await entries.put(auditKey(seq), JSON.stringify(changed));
  await db.close();
}

describe('audit log', () => {
  let t: EmbeddedTestApp | undefined;
  const dirs: string[] = [];
  afterEach(async () => {
    await t?.close();
    t = undefined;
    for (const dir of dirs.splice(0)) await fs.rm(dir, { recursive: true, force: true });
  });

  it('records who, what, when, the result and the request id of every API request', async () => {
    t = await makeEmbeddedApp();
    const platform = await t.keyFor('platform', 'ShopOrg', 'shop-1');
    const auditor = await t.keyFor('auditor', 'AuditOrg', 'auditor-1');
    const deposited = await postJson(t.app, '/v1/evidence', platform, itemFor());
    expect(deposited.statusCode).toBe(201);
    const digest = deposited.json().digest as string;
    const read = await getWith(t.app, `/v1/evidence/${digest}`, auditor);
    expect(read.statusCode).toBe(200);
    const anonymous = await getWith(t.app, `/v1/evidence/${digest}`);
    const forbidden = await postJson(t.app, '/v1/evidence', auditor, itemFor());
    const publicRead = await getWith(t.app, `/v1/public/evidence/${digest}`);
    await getWith(t.app, '/healthz');

    const listed = await getWith(t.app, '/v1/audit?from=0&limit=1000', auditor);
    expect(listed.statusCode).toBe(200);
    const { entries, next } = listed.json() as Entries;
    expect(next).toBeNull();
    expect(entries.map((e) => e.seq)).toEqual(entries.map((_, i) => i));
    const requests = entries.filter((e) => e.route !== '/v1/audit');
    const shape = requests.map((e) => [e.method, e.route, e.status, e.code ?? null]);
    expect(shape).toEqual([
      ['POST', '/v1/evidence', 201, null],
      ['GET', '/v1/evidence/:digest', 200, null],
      ['GET', '/v1/evidence/:digest', 401, 'UNAUTHENTICATED'],
      ['POST', '/v1/evidence', 403, 'FORBIDDEN'],
      ['GET', '/v1/public/evidence/:digest', 200, null],
    ]);
    const [deposit, stateRead, , refused, publicEntry] = requests as AuditEntry[];
    expect(deposit?.digests).toEqual([digest]);
    expect(deposit?.principal).toMatchObject({
      org: 'ShopOrg',
      account: 'shop-1',
      role: 'platform',
      via: 'api-key',
    });
    expect(deposit?.requestId).toBe(deposited.headers['x-request-id']);
    expect(stateRead?.params).toEqual({ digest });
    expect(stateRead?.requestId).toBe(read.headers['x-request-id']);
    expect(refused?.requestId).toBe(forbidden.headers['x-request-id']);
    expect(publicEntry?.principal).toBeNull();
    expect(publicEntry?.requestId).toBe(publicRead.headers['x-request-id']);
    expect(anonymous.statusCode).toBe(401);
    expect(Date.parse(deposit?.time as string)).toBeGreaterThan(Date.now() - 60_000);

    const verified = await getWith(t.app, '/v1/audit/verify', auditor);
    expect(verified.statusCode).toBe(200);
    expect(verified.json()).toMatchObject({ intact: true, anchor: { seq: -1 } });
  });

  it('is read by auditors only', async () => {
    t = await makeEmbeddedApp();
    const anonymous = await getWith(t.app, '/v1/audit');
    expect([anonymous.statusCode, anonymous.json().code]).toEqual([401, 'UNAUTHENTICATED']);
    for (const role of ['admin', 'platform', 'court', 'depositor'] as const) {
      const key = role === 'admin' ? t.adminKey : await t.keyFor(role);
      for (const url of ['/v1/audit', '/v1/audit/verify']) {
        const response = await getWith(t.app, url, key);
        expect([response.statusCode, response.json().code], `${role} ${url}`).toEqual([
          403,
          'FORBIDDEN',
        ]);
      }
    }
    const bad = await getWith(t.app, '/v1/audit?limit=5000', await t.keyFor('auditor'));
    expect([bad.statusCode, bad.json().code]).toEqual([400, 'VALIDATION_FAILED']);
  });

  it('covers every API route, including routes added by other features, without changes', async () => {
    t = await makeEmbeddedApp();
    const doc = (await getWith(t.app, '/openapi.json')).json() as {
      paths: Record<string, Record<string, unknown>>;
    };
    const calls: Array<[string, string]> = [];
    for (const [route, methods] of Object.entries(doc.paths)) {
      if (!route.startsWith('/v1/') || route.endsWith('/events')) continue;
      for (const method of Object.keys(methods)) {
        const url = route
          .replace('{digest}', `sha256:${'f'.repeat(64)}`)
          .replace(/\{[A-Za-z]+\}/g, 'AAAAAAAAAAAA');
        const upper = method.toUpperCase();
        const hasBody = ['POST', 'PUT', 'PATCH'].includes(upper);
        const response = await t.app.inject({
          method: upper as 'GET',
          url,
          headers: {
            ...bearer(t.adminKey),
            ...(hasBody ? { 'content-type': 'application/json' } : {}),
          },
          ...(hasBody ? { payload: '{}' } : {}),
        });
        expect(response.statusCode, `${upper} ${url}`).toBeLessThan(500);
        calls.push([upper, route.replace(/\{([A-Za-z]+)\}/g, ':$1')]);
      }
    }
    expect(calls.length).toBeGreaterThan(10);
    await t.audit.flush();
    const recorded = (await t.audit.read(0, 10_000)).map((e) => `${e.method} ${e.route}`);
    for (const [method, route] of calls) expect(recorded).toContain(`${method} ${route}`);
  });

  it('reports the exact position of a corrupted or deleted entry, online and offline', async () => {
    t = await makeEmbeddedApp();
    const auditor = await t.keyFor('auditor');
    const key = await t.keyFor('platform');
    for (let i = 0; i < 10; i++) await postJson(t.app, '/v1/evidence', key, itemFor());
    await t.audit.flush();
    const dir = t.dir;
    const intact = await runCli(['audit', 'verify', '--data-dir', dir, '--json'], { cwd: dir });
    expect(intact.status).toBe(0);
    expect(intact.json()).toMatchObject({ verdict: 'INTACT', intact: true, checked: 10 });

    // Stop the node, change one field of entry 6 (keeping its stored hash), start again.
    await t.app.close();
    await t.audit.close();
    await tamper(dir, 6, (entry) => ({ ...entry, status: 200 }));
    const offline = await runCli(['audit', 'verify', '--data-dir', dir, '--json'], { cwd: dir });
    expect(offline.status).toBe(1);
    expect(offline.json()).toMatchObject({
      verdict: 'BROKEN',
      intact: false,
      checked: 6,
      failure: { seq: 6, reason: 'hash' },
    });
    const text = await runCli(['audit', 'verify', '--data-dir', dir], { cwd: dir });
    expect(text.stdout).toMatch(/^BROKEN at entry 6 \(hash\)/);

    const reopened = await openAuditLog({ dataDir: dir, retentionDays: 183 });
    expect((await reopened.verify()).failure).toEqual({ seq: 6, reason: 'hash' });
    await reopened.close();

    await tamper(dir, 3, () => undefined);
    const deleted = await runCli(['audit', 'verify', '--data-dir', dir, '--json'], { cwd: dir });
    expect(deleted.json()).toMatchObject({ failure: { seq: 3, reason: 'sequence' } });
    expect(auditor).toBeDefined();
    await t.ledger.close();
    await fs.rm(dir, { recursive: true, force: true });
    t = undefined;
  });

  it('prunes past the retention period and stays verifiable from the new anchor', async () => {
    const dir = await tempDir('audit-retention-');
    dirs.push(dir);
    let now = new Date('2026-01-01T00:00:00Z');
    const log = await openAuditLog({ dataDir: dir, retentionDays: 183, now: () => now });
    for (let day = 0; day < 300; day += 10) {
      now = new Date(Date.UTC(2026, 0, 1 + day));
      log.append({ type: 'request', method: 'GET', route: '/v1/chain', status: 200 });
      await log.flush();
    }
    now = new Date(Date.UTC(2026, 0, 1 + 300));
    const pruned = await log.prune();
    // Entries of days 0..110 are older than 183 days at day 300.
    expect(pruned).toBe(12);
    const status = await log.status();
    expect(status.anchor.seq).toBe(11);
    const verified = await log.verify();
    expect(verified).toMatchObject({ intact: true, checked: 18, anchor: { seq: 11 } });
    expect((await log.read(0, 100))[0]?.seq).toBe(12);
    await log.close();
    const offline = await runCli(['audit', 'verify', '--data-dir', dir, '--json'], { cwd: dir });
    expect(offline.status).toBe(0);
    expect(offline.json()).toMatchObject({ intact: true, anchor: { seq: 11 } });
  });

  it('records a gap entry instead of growing without bound when appends outrun the disk', async () => {
    const dir = await tempDir('audit-gap-');
    dirs.push(dir);
    const log = await openAuditLog({ dataDir: dir, retentionDays: 183, maxQueued: 5 });
    for (let i = 0; i < 12; i++) log.append({ type: 'request', route: '/v1/chain', status: 200 });
    await log.flush();
    const entries = await log.read(0, 100);
    expect(entries.map((e) => e.type)).toEqual([...Array(5).fill('request'), 'gap']);
    expect(entries[5]?.dropped).toBe(7);
    expect((await log.verify()).intact).toBe(true);
    await log.close();
  });

  it('records every one of many concurrent deposits, and only when the hook is on', async () => {
    // What the audit log costs a deposit is measured by the benchmark (BENCHMARKS.md), not here.
    for (const audited of [false, true]) {
      t = await makeEmbeddedApp({ auditHook: audited });
      const key = await t.keyFor('platform');
      await Promise.all(
        Array.from({ length: 10 }, async () => {
          for (let i = 0; i < 30; i++) {
            const response = await postJson(t!.app, '/v1/evidence', key, itemFor());
            expect(response.statusCode).toBe(201);
          }
        }),
      );
      await t.audit.flush();
      const recorded = (await t.audit.read(0, 10_000)).filter((e) => e.route === '/v1/evidence');
      expect(recorded).toHaveLength(audited ? 300 : 0);
      if (audited) {
        expect(new Set(recorded.map((entry) => entry.requestId)).size).toBe(300);
        expect(await t.audit.verify()).toMatchObject({ intact: true });
      }
      await t.close();
      t = undefined;
    }
  });
});
