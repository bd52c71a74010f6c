import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashApiKey, openKeyStore } from '../../gateway/auth/api-keys';
import { bearer, getWith, itemFor, postJson } from './helpers';
import { makeEmbeddedApp, newSigner, signedInject, type EmbeddedTestApp } from './security-helpers';

type Json = Record<string, unknown>;

describe('principals administration', () => {
  let t: EmbeddedTestApp;
  beforeEach(async () => {
    t = await makeEmbeddedApp();
  });
  afterEach(async () => {
    await t.close();
  });

  const create = (body: unknown, key = t.adminKey) =>
    postJson(t.app, '/v1/admin/principals', key, body);
  const patch = (id: string, body: unknown) =>
    t.app.inject({
      method: 'PATCH',
      url: `/v1/admin/principals/${id}`,
      headers: { ...bearer(t.adminKey), 'content-type': 'application/json' },
      payload: JSON.stringify(body),
    });

  it('creates a principal with an API key and a public key; the key is shown once', async () => {
    const who = newSigner('sm2-sm3', 'shop-platform');
    const response = await create({
      org: 'ShopOrg',
      account: 'shop-1',
      role: 'platform',
      publicKey: who.publicKey,
    });
    expect(response.statusCode).toBe(201);
    expect(response.headers['cache-control']).toBe('no-store');
    const body = response.json() as { principal: Json; key: string };
    expect(body.key).toMatch(/^ek_[A-Za-z0-9_-]{43}$/);
    expect(body.principal).toMatchObject({
      org: 'ShopOrg',
      account: 'shop-1',
      role: 'platform',
      apiKey: true,
      publicKey: { algorithm: 'sm2-sm3', keyId: who.keyId, userId: 'shop-platform' },
    });
    const listed = await getWith(t.app, '/v1/admin/principals', t.adminKey);
    expect(listed.statusCode).toBe(200);
    expect(listed.body).not.toMatch(/keyHash|ek_/);
    expect(listed.body).not.toContain(hashApiKey(body.key));
    const one = await getWith(
      t.app,
      `/v1/admin/principals/${body.principal.id as string}`,
      t.adminKey,
    );
    expect(one.json()).toEqual(body.principal);
    // The keys file holds the hash and the public key, never the API key.
    const file = await fs.readFile(t.config.keysFile, 'utf8');
    expect(file).not.toContain(body.key);
    expect(file).toContain(hashApiKey(body.key));
    expect(JSON.parse(file).version).toBe(2);
  });

  it('creates signature-only principals (no API key issued)', async () => {
    const who = newSigner('ed25519');
    const response = await create({
      org: 'NotaryOrg',
      account: 'notary-1',
      role: 'depositor',
      apiKey: false,
      publicKey: who.publicKey,
      requireSignature: true,
    });
    expect(response.statusCode).toBe(201);
    expect(response.json()).not.toHaveProperty('key');
    expect(response.json().principal).toMatchObject({ apiKey: false, requireSignature: true });
    const deposit = await signedInject(t.app, who, {
      method: 'POST',
      url: '/v1/evidence',
      body: itemFor(),
    });
    expect(deposit.statusCode).toBe(201);
    expect(deposit.json().receipt.record.depositor).toEqual({
      org: 'NotaryOrg',
      account: 'notary-1',
    });
  });

  it('refuses principals without credentials, unusable requirements, bad keys and PII names', async () => {
    const cases: Array<[unknown, Array<[string, string]>]> = [
      [{ org: 'A', account: 'b', role: 'platform', apiKey: false }, [['', 'credential']]],
      [
        { org: 'A', account: 'b', role: 'platform', requireSignature: true },
        [['/requireSignature', 'publicKey']],
      ],
      [
        {
          org: 'A',
          account: 'b',
          role: 'platform',
          publicKey: { algorithm: 'ed25519', key: 'xx' },
        },
        [['/publicKey/key', 'publicKey']],
      ],
      [{ org: 'A', account: '13812345678', role: 'platform' }, [['/account', 'personalData']]],
      [
        { org: 'A', account: 'zhang.san@example.com', role: 'platform' },
        [['/account', 'personalData']],
      ],
      [{ org: 'A', account: '张三', role: 'platform' }, [['/account', 'pattern']]],
    ];
    for (const [body, fields] of cases) {
      const response = await create(body);
      expect(response.statusCode, JSON.stringify(body)).toBe(400);
      const json = response.json() as { code: string; fields: { path: string; rule: string }[] };
      expect(json.code).toBe('VALIDATION_FAILED');
      expect(json.fields.map((f) => [f.path, f.rule])).toEqual(fields);
    }
  });

  it('answers 409 CONFLICT for a public key that belongs to another principal', async () => {
    const who = newSigner('ed25519');
    const body = { org: 'A', account: 'one', role: 'platform', publicKey: who.publicKey };
    expect((await create(body)).statusCode).toBe(201);
    const again = await create({ ...body, account: 'two' });
    expect([again.statusCode, again.json().code]).toEqual([409, 'CONFLICT']);
  });

  it('rotates an API key: the old one is refused at once, the new one works', async () => {
    const created = (await create({ org: 'A', account: 'rotating', role: 'auditor' })).json() as {
      principal: { id: string };
      key: string;
    };
    const url = `/v1/evidence/sha256:${'d'.repeat(64)}`;
    expect((await getWith(t.app, url, created.key)).statusCode).toBe(404);
    const rotated = await t.app.inject({
      method: 'POST',
      url: `/v1/admin/principals/${created.principal.id}/rotate`,
      headers: bearer(t.adminKey),
    });
    expect(rotated.statusCode).toBe(200);
    expect(rotated.headers['cache-control']).toBe('no-store');
    const { key, principal } = rotated.json() as { key: string; principal: Json };
    expect(key).not.toBe(created.key);
    expect(principal.keyRotatedAt).toEqual(expect.any(String));
    const old = await getWith(t.app, url, created.key);
    expect([old.statusCode, old.json().code]).toEqual([401, 'UNAUTHENTICATED']);
    expect((await getWith(t.app, url, key)).statusCode).toBe(404);
  });

  it('revokes at once: the next request with any credential of the principal is 401', async () => {
    const who = newSigner('ecdsa-p256-sha256');
    const created = (
      await create({ org: 'A', account: 'leaving', role: 'platform', publicKey: who.publicKey })
    ).json() as { principal: { id: string }; key: string };
    expect((await postJson(t.app, '/v1/evidence', created.key, itemFor())).statusCode).toBe(201);
    const revoked = await t.app.inject({
      method: 'DELETE',
      url: `/v1/admin/principals/${created.principal.id}`,
      headers: bearer(t.adminKey),
    });
    expect(revoked.statusCode).toBe(200);
    expect(revoked.json().revokedAt).toEqual(expect.any(String));
    const viaKey = await postJson(t.app, '/v1/evidence', created.key, itemFor());
    expect([viaKey.statusCode, viaKey.json().code]).toEqual([401, 'UNAUTHENTICATED']);
    const viaSignature = await signedInject(t.app, who, {
      method: 'POST',
      url: '/v1/evidence',
      body: itemFor(),
    });
    expect([viaSignature.statusCode, viaSignature.json().code]).toEqual([401, 'UNAUTHENTICATED']);
    const rotate = await t.app.inject({
      method: 'POST',
      url: `/v1/admin/principals/${created.principal.id}/rotate`,
      headers: bearer(t.adminKey),
    });
    expect([rotate.statusCode, rotate.json().code]).toEqual([409, 'CONFLICT']);
  });

  it('applies a role change to the next request, in the gateway and in the chaincode', async () => {
    const depositor = await t.keyFor('depositor');
    const deposited = await postJson(t.app, '/v1/evidence', depositor, itemFor());
    const digest = deposited.json().digest as string;
    const judge = (await create({ org: 'CourtOrg', account: 'judge-7', role: 'court' })).json() as {
      principal: { id: string };
      key: string;
    };
    const annotate = () =>
      postJson(t.app, `/v1/evidence/${digest}/annotations`, judge.key, {
        kind: 'court-hold',
        reference: '(2026)京0105民初1234号',
      });
    expect((await annotate()).statusCode).toBe(201);

    const changed = await patch(judge.principal.id, { role: 'depositor' });
    expect(changed.statusCode).toBe(200);
    expect(changed.json().role).toBe('depositor');
    const refused = await annotate();
    expect([refused.statusCode, refused.json().code]).toEqual([403, 'FORBIDDEN']);

    // The chaincode decides on the client identity's role again: a caller that got past the
    // gateway with a stale principal is still refused on chain.
    const stale = { keyId: judge.principal.id, org: 'CourtOrg', account: 'judge-7' };
    await expect(
      t.app.evidence.annotate(
        digest as `sha256:${string}`,
        { kind: 'note' },
        { ...stale, role: 'depositor' },
      ),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(
      t.app.evidence.annotate(
        digest as `sha256:${string}`,
        { kind: 'note' },
        { ...stale, role: 'court' },
      ),
    ).resolves.toMatchObject({ kind: 'note', by: { org: 'CourtOrg', account: 'judge-7' } });

    expect((await patch(judge.principal.id, { role: 'court' })).statusCode).toBe(200);
    expect((await annotate()).statusCode).toBe(201);
  });

  it('answers 401 without a key and 403 for roles other than admin', async () => {
    const none = await t.app.inject({ method: 'GET', url: '/v1/admin/principals' });
    expect([none.statusCode, none.json().code]).toEqual([401, 'UNAUTHENTICATED']);
    for (const role of ['platform', 'court', 'auditor', 'depositor'] as const) {
      const response = await create(
        { org: 'A', account: 'x', role: 'admin' },
        await t.keyFor(role),
      );
      expect([response.statusCode, response.json().code], role).toEqual([403, 'FORBIDDEN']);
    }
    const unknown = await getWith(t.app, '/v1/admin/principals/AAAAAAAAAAAA', t.adminKey);
    expect([unknown.statusCode, unknown.json().code]).toEqual([404, 'NOT_FOUND']);
  });

  it('reads a version 1 keys file and keeps public keys across a reopen', async () => {
    const file = path.join(t.dir, 'v1-keys.json');
    const key = `ek_${'A'.repeat(43)}`;
    await fs.writeFile(
      file,
      JSON.stringify({
        type: 'judicial-evidence-api-keys',
        version: 1,
        keys: [
          {
            id: 'legacy-key-1',
            org: 'OldOrg',
            account: 'old',
            role: 'platform',
            keyHash: hashApiKey(key),
            createdAt: '2025-01-01T00:00:00.000Z',
          },
        ],
      }),
    );
    const { keys } = await openKeyStore({ file, org: 'NodeOrg' });
    expect(keys.authenticate(key)).toEqual({
      keyId: 'legacy-key-1',
      org: 'OldOrg',
      account: 'old',
      role: 'platform',
    });
    const who = newSigner('ed25519');
    await keys.createPrincipal({
      org: 'NewOrg',
      account: 'new',
      role: 'depositor',
      apiKey: false,
      publicKey: who.publicKey,
    });
    const reopened = await openKeyStore({ file, org: 'NodeOrg' });
    expect(reopened.keys.byPublicKey(who.keyId)?.principal).toMatchObject({ account: 'new' });
    expect(reopened.keys.authenticate(key)?.account).toBe('old');
  });
});
