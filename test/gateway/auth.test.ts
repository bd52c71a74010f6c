import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bearer, getWith, itemFor, makeTestApp, postJson, type TestApp } from './helpers';

const DIGEST = `sha256:${'a'.repeat(64)}`;

describe('authentication and roles', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeTestApp();
  });
  afterEach(async () => {
    await t.close();
  });

  it('answers 401 UNAUTHENTICATED without a key, before reading the body', async () => {
    const response = await postJson(t.app, '/v1/evidence', undefined, '{broken');
    expect(response.statusCode).toBe(401);
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(response.json()).toEqual({
      statusCode: 401,
      code: 'UNAUTHENTICATED',
      message: 'an API key is required',
    });
    expect(t.ledger.submits).toHaveLength(0);
  });

  it('answers 401 UNAUTHENTICATED for an unknown or malformed key', async () => {
    for (const key of [`ek_${'x'.repeat(43)}`, 'garbage', 'ek_']) {
      const response = await getWith(t.app, `/v1/evidence/${DIGEST}`, key);
      expect(response.statusCode).toBe(401);
      expect(response.json()).toEqual({
        statusCode: 401,
        code: 'UNAUTHENTICATED',
        message: 'the API key is not valid',
      });
    }
    const basic = await t.app.inject({
      method: 'GET',
      url: `/v1/evidence/${DIGEST}`,
      headers: { authorization: 'Basic abc' },
    });
    expect(basic.json().code).toBe('UNAUTHENTICATED');
  });

  it('accepts the key as a Bearer token or as x-api-key', async () => {
    const key = await t.keyFor('auditor');
    const viaBearer = await t.app.inject({
      method: 'GET',
      url: `/v1/evidence/${DIGEST}`,
      headers: bearer(key),
    });
    const viaHeader = await t.app.inject({
      method: 'GET',
      url: `/v1/evidence/${DIGEST}`,
      headers: { 'x-api-key': key },
    });
    expect(viaBearer.statusCode).toBe(404);
    expect(viaHeader.statusCode).toBe(404);
    expect(viaHeader.json().code).toBe('EVIDENCE_NOT_FOUND');
  });

  it('answers 403 FORBIDDEN for a role that may not deposit', async () => {
    for (const role of ['auditor', 'payment'] as const) {
      const response = await postJson(t.app, '/v1/evidence', await t.keyFor(role), itemFor());
      expect(response.statusCode).toBe(403);
      expect(response.json()).toEqual({
        statusCode: 403,
        code: 'FORBIDDEN',
        message: `role ${role} may not do this`,
      });
    }
    expect(t.ledger.submits).toHaveLength(0);
  });

  it('lets depositor, platform, court and admin deposit', async () => {
    for (const role of ['depositor', 'platform', 'court', 'admin'] as const) {
      const response = await postJson(t.app, '/v1/evidence', await t.keyFor(role), itemFor());
      expect(response.statusCode).toBe(201);
    }
  });

  it('answers 403 FORBIDDEN when a non-court annotates, and 403 for non-admins on key routes', async () => {
    const depositor = await t.keyFor('depositor');
    const annotate = await postJson(t.app, `/v1/evidence/${DIGEST}/annotations`, depositor, {
      kind: 'note',
    });
    expect(annotate.statusCode).toBe(403);
    expect(annotate.json().code).toBe('FORBIDDEN');
    const keys = await getWith(t.app, '/v1/admin/keys', depositor);
    expect(keys.statusCode).toBe(403);
    expect(keys.json().code).toBe('FORBIDDEN');
  });

  it('refuses a revoked key on the very next request', async () => {
    const created = await postJson(t.app, '/v1/admin/keys', t.adminKey, {
      org: 'PlatformOrg',
      account: 'lawyer-9',
      role: 'depositor',
    });
    const { id, key } = created.json() as { id: string; key: string };
    expect((await postJson(t.app, '/v1/evidence', key, itemFor())).statusCode).toBe(201);
    const revoked = await t.app.inject({
      method: 'DELETE',
      url: `/v1/admin/keys/${id}`,
      headers: bearer(t.adminKey),
    });
    expect(revoked.statusCode).toBe(200);
    expect(revoked.json()).toMatchObject({
      id,
      org: 'PlatformOrg',
      account: 'lawyer-9',
      role: 'depositor',
    });
    expect(revoked.json().revokedAt).toMatch(/Z$/);
    const after = await postJson(t.app, '/v1/evidence', key, itemFor());
    expect(after.statusCode).toBe(401);
    expect(after.json().code).toBe('UNAUTHENTICATED');
  });
});

describe('admin key routes', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeTestApp();
  });
  afterEach(async () => {
    await t.close();
  });

  it('creates a key (201, shown once, not cached) that works at once', async () => {
    const response = await postJson(t.app, '/v1/admin/keys', t.adminKey, {
      org: 'CourtOrg',
      account: 'judge-1',
      role: 'court',
    });
    expect(response.statusCode).toBe(201);
    expect(response.headers['cache-control']).toBe('no-store');
    const body = response.json() as Record<string, string>;
    expect(Object.keys(body).sort()).toEqual(['account', 'id', 'key', 'org', 'role']);
    expect(body).toMatchObject({ org: 'CourtOrg', account: 'judge-1', role: 'court' });
    expect(body.key).toMatch(/^ek_[A-Za-z0-9_-]{43}$/);
    expect(t.keys.authenticate(body.key as string)).toMatchObject({
      role: 'court',
      keyId: body.id,
    });
  });

  it('lists keys without keys or hashes', async () => {
    await t.keyFor('platform', 'ShopOrg', 'shop-1');
    const response = await getWith(t.app, '/v1/admin/keys', t.adminKey);
    expect(response.statusCode).toBe(200);
    const { keys } = response.json() as { keys: Record<string, unknown>[] };
    expect(keys).toHaveLength(2);
    for (const key of keys) {
      expect(Object.keys(key).sort()).toEqual(['account', 'createdAt', 'id', 'org', 'role']);
    }
    expect(keys[1]).toMatchObject({ org: 'ShopOrg', account: 'shop-1', role: 'platform' });
    expect(response.body).not.toMatch(/keyHash|ek_/);
  });

  it('refuses a key for the gateway role or with bad names, naming every field', async () => {
    const response = await postJson(t.app, '/v1/admin/keys', t.adminKey, {
      org: 'Bad Org',
      account: '',
      role: 'gateway',
      extra: 1,
    });
    expect(response.statusCode).toBe(400);
    const body = response.json() as { code: string; fields: { path: string; rule: string }[] };
    expect(body.code).toBe('VALIDATION_FAILED');
    expect(body.fields.map((f) => [f.path, f.rule])).toEqual([
      ['/extra', 'additionalProperties'],
      ['/org', 'pattern'],
      ['/account', 'pattern'],
      ['/role', 'enum'],
    ]);
  });

  it('answers 404 NOT_FOUND when revoking an unknown id', async () => {
    const response = await t.app.inject({
      method: 'DELETE',
      url: '/v1/admin/keys/AAAAAAAAAAAA',
      headers: bearer(t.adminKey),
    });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({
      statusCode: 404,
      code: 'NOT_FOUND',
      message: 'no principal has this id',
    });
  });
});
