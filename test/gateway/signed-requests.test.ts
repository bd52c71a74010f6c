import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KeyRole } from '../../gateway/auth/api-keys';
import { bearer, itemFor, makeTestApp, type TestApp } from './helpers';
import { newSigner, nonce, signedHeaders, signedInject, type TestSigner } from './security-helpers';

const DIGEST = `sha256:${'c'.repeat(64)}`;
const WINDOW = 300_000;

describe('signed requests', () => {
  let t: TestApp;
  let now: number;

  beforeEach(async () => {
    now = Date.UTC(2026, 5, 1, 12, 0, 0);
    t = await makeTestApp({ deps: { requestClock: () => now } });
    now += 1000;
  });
  afterEach(async () => {
    await t.close();
  });

  async function principal(
    who: TestSigner,
    role: KeyRole = 'platform',
    extra: { requireSignature?: boolean; apiKey?: boolean } = {},
  ): Promise<{ id: string; key?: string }> {
    const created = await t.keys.createPrincipal({
      org: 'PlatformOrg',
      account: `signer-${who.keyId.slice(7, 15)}`,
      role,
      publicKey: who.publicKey,
      apiKey: extra.apiKey ?? false,
      ...(extra.requireSignature ? { requireSignature: true } : {}),
    });
    return { id: created.info.id, ...(created.key ? { key: created.key } : {}) };
  }

  function codeOf(response: { statusCode: number; json(): unknown }): [number, string] {
    return [response.statusCode, (response.json() as { code: string }).code];
  }

  for (const algorithm of ['ed25519', 'ecdsa-p256-sha256', 'sm2-sm3'] as const) {
    it(`deposits with a ${algorithm} signature and refuses the same request replayed`, async () => {
      const who = newSigner(algorithm, algorithm === 'sm2-sm3' ? 'platform-a@court' : undefined);
      await principal(who);
      const call = {
        method: 'POST' as const,
        url: '/v1/evidence',
        body: itemFor(),
        nonce: nonce(),
      };
      const { headers, body } = signedHeaders(who, call, now);
      const first = await t.app.inject({
        method: 'POST',
        url: '/v1/evidence',
        headers,
        payload: body,
      });
      expect(first.statusCode).toBe(201);
      expect(first.json().receipt.record.depositor).toEqual({
        org: 'PlatformOrg',
        account: `signer-${who.keyId.slice(7, 15)}`,
      });
      const replay = await t.app.inject({
        method: 'POST',
        url: '/v1/evidence',
        headers,
        payload: body,
      });
      expect(replay.statusCode).toBe(401);
      expect(replay.json()).toEqual({
        statusCode: 401,
        code: 'REPLAYED_NONCE',
        message: expect.any(String),
      });
    });
  }

  it('refuses a nonce used before with another request of the same principal', async () => {
    const who = newSigner('ed25519');
    await principal(who);
    const shared = nonce();
    const first = await signedInject(
      t.app,
      who,
      { method: 'GET', url: `/v1/evidence/${DIGEST}`, nonce: shared },
      now,
    );
    expect(codeOf(first)).toEqual([404, 'EVIDENCE_NOT_FOUND']);
    const second = await signedInject(
      t.app,
      who,
      { method: 'POST', url: '/v1/evidence', body: itemFor(), nonce: shared },
      now,
    );
    expect(codeOf(second)).toEqual([401, 'REPLAYED_NONCE']);
    expect(t.ledger.submits).toHaveLength(0);
  });

  it('answers 401 STALE_TIMESTAMP outside the window either way, and before the node started', async () => {
    const who = newSigner('ed25519');
    await principal(who);
    const url = `/v1/evidence/${DIGEST}`;
    now += 10 * WINDOW;
    for (const timestamp of [now - WINDOW - 1, now + WINDOW + 1]) {
      const response = await signedInject(t.app, who, { method: 'GET', url, timestamp }, now);
      expect(codeOf(response)).toEqual([401, 'STALE_TIMESTAMP']);
    }
    for (const timestamp of [now - WINDOW, now + WINDOW]) {
      const response = await signedInject(t.app, who, { method: 'GET', url, timestamp }, now);
      expect(codeOf(response)).toEqual([404, 'EVIDENCE_NOT_FOUND']);
    }
  });

  it('refuses requests signed before the node started, inside the window (restart guard)', async () => {
    const who = newSigner('ed25519');
    await principal(who);
    const startedAt = now - 1000;
    const response = await signedInject(
      t.app,
      who,
      { method: 'GET', url: `/v1/evidence/${DIGEST}`, timestamp: startedAt - 1 },
      now,
    );
    expect(codeOf(response)).toEqual([401, 'STALE_TIMESTAMP']);
  });

  it('answers 401 BAD_SIGNATURE when body, target, method or signature were changed', async () => {
    const who = newSigner('ecdsa-p256-sha256');
    await principal(who);
    const other = newSigner('ecdsa-p256-sha256');
    const item = itemFor();
    const cases = [
      {
        method: 'POST' as const,
        url: '/v1/evidence',
        body: item,
        sendBody: JSON.stringify(itemFor()),
      },
      {
        method: 'POST' as const,
        url: '/v1/evidence',
        body: item,
        sendBody: `${JSON.stringify(item)} `,
      },
    ];
    for (const call of cases) {
      expect(codeOf(await signedInject(t.app, who, call, now))).toEqual([401, 'BAD_SIGNATURE']);
    }
    // Signed for one target, sent to another.
    const signed = signedHeaders(who, { method: 'GET', url: `/v1/evidence/${DIGEST}?a=1` }, now);
    const moved = await t.app.inject({
      method: 'GET',
      url: `/v1/evidence/${DIGEST}?a=2`,
      headers: signed.headers,
    });
    expect(codeOf(moved)).toEqual([401, 'BAD_SIGNATURE']);
    // Signed as a GET, sent as a DELETE to an admin route: the role check never sees it.
    const asGet = signedHeaders(who, { method: 'GET', url: '/v1/admin/keys/AAAAAAAAAAAA' }, now);
    const asDelete = await t.app.inject({
      method: 'DELETE',
      url: '/v1/admin/keys/AAAAAAAAAAAA',
      headers: asGet.headers,
    });
    expect(codeOf(asDelete)).toEqual([401, 'BAD_SIGNATURE']);
    // Another key's signature under this key id.
    const forged = signedHeaders(other, { method: 'GET', url: `/v1/evidence/${DIGEST}` }, now);
    const mixed = await t.app.inject({
      method: 'GET',
      url: `/v1/evidence/${DIGEST}`,
      headers: { ...forged.headers, 'x-evidence-key-id': who.keyId },
    });
    expect(codeOf(mixed)).toEqual([401, 'BAD_SIGNATURE']);
    expect(t.ledger.submits).toHaveLength(0);
  });

  it('answers 401 BAD_SIGNATURE for missing or malformed signature headers', async () => {
    const who = newSigner('ed25519');
    await principal(who);
    const url = `/v1/evidence/${DIGEST}`;
    const good = signedHeaders(who, { method: 'GET', url }, now).headers;
    const variants: Record<string, string | undefined>[] = [
      { 'x-evidence-nonce': undefined },
      { 'x-evidence-timestamp': undefined },
      { 'x-evidence-signature': undefined },
      { 'x-evidence-key-id': undefined },
      { 'x-evidence-nonce': 'short' },
      { 'x-evidence-nonce': 'has spaces in the nonce' },
      { 'x-evidence-timestamp': '2026-06-01T12:00:00Z' },
      { 'x-evidence-timestamp': '-1' },
      { 'x-evidence-key-id': 'not-a-key-id' },
    ];
    for (const variant of variants) {
      const headers: Record<string, string> = { ...good };
      for (const [name, value] of Object.entries(variant)) {
        if (value === undefined) delete headers[name];
        else headers[name] = value;
      }
      const response = await t.app.inject({ method: 'GET', url, headers });
      expect(codeOf(response), JSON.stringify(variant)).toEqual([401, 'BAD_SIGNATURE']);
    }
  });

  it('does not let a bad signature burn the nonce of a valid request', async () => {
    const who = newSigner('ed25519');
    await principal(who);
    const shared = nonce();
    const bad = await signedInject(
      t.app,
      who,
      { method: 'POST', url: '/v1/evidence', body: itemFor(), sendBody: '{}', nonce: shared },
      now,
    );
    expect(codeOf(bad)).toEqual([401, 'BAD_SIGNATURE']);
    const good = await signedInject(
      t.app,
      who,
      { method: 'POST', url: '/v1/evidence', body: itemFor(), nonce: shared },
      now,
    );
    expect(good.statusCode).toBe(201);
  });

  it('answers 401 UNAUTHENTICATED for an unknown key id and 403 FORBIDDEN for a wrong role', async () => {
    const stranger = newSigner('ed25519');
    const unknown = await signedInject(
      t.app,
      stranger,
      { method: 'GET', url: `/v1/evidence/${DIGEST}` },
      now,
    );
    expect(codeOf(unknown)).toEqual([401, 'UNAUTHENTICATED']);
    const auditor = newSigner('sm2-sm3');
    await principal(auditor, 'auditor');
    const deposit = await signedInject(
      t.app,
      auditor,
      { method: 'POST', url: '/v1/evidence', body: itemFor() },
      now,
    );
    expect(codeOf(deposit)).toEqual([403, 'FORBIDDEN']);
    const read = await signedInject(
      t.app,
      auditor,
      { method: 'GET', url: `/v1/evidence/${DIGEST}` },
      now,
    );
    expect(codeOf(read)).toEqual([404, 'EVIDENCE_NOT_FOUND']);
  });

  it('refuses API-key-only requests of a principal that must sign (401 SIGNATURE_REQUIRED)', async () => {
    const who = newSigner('ed25519');
    const { id, key } = await principal(who, 'platform', { apiKey: true, requireSignature: true });
    const viaKey = await t.app.inject({
      method: 'GET',
      url: `/v1/evidence/${DIGEST}`,
      headers: bearer(key as string),
    });
    expect(codeOf(viaKey)).toEqual([401, 'SIGNATURE_REQUIRED']);
    const signed = await signedInject(
      t.app,
      who,
      { method: 'GET', url: `/v1/evidence/${DIGEST}` },
      now,
    );
    expect(codeOf(signed)).toEqual([404, 'EVIDENCE_NOT_FOUND']);
    // The admin lifts the requirement: the API key works on the next request.
    await t.keys.update(id, { requireSignature: false });
    const again = await t.app.inject({
      method: 'GET',
      url: `/v1/evidence/${DIGEST}`,
      headers: bearer(key as string),
    });
    expect(codeOf(again)).toEqual([404, 'EVIDENCE_NOT_FOUND']);
  });

  it('refuses a revoked or re-keyed principal at once', async () => {
    const who = newSigner('ed25519');
    const { id } = await principal(who);
    const url = `/v1/evidence/${DIGEST}`;
    expect(codeOf(await signedInject(t.app, who, { method: 'GET', url }, now))).toEqual([
      404,
      'EVIDENCE_NOT_FOUND',
    ]);
    const next = newSigner('sm2-sm3');
    await t.keys.update(id, { publicKey: next.publicKey });
    expect(codeOf(await signedInject(t.app, who, { method: 'GET', url }, now))).toEqual([
      401,
      'UNAUTHENTICATED',
    ]);
    expect(codeOf(await signedInject(t.app, next, { method: 'GET', url }, now))).toEqual([
      404,
      'EVIDENCE_NOT_FOUND',
    ]);
    await t.keys.revoke(id);
    expect(codeOf(await signedInject(t.app, next, { method: 'GET', url }, now))).toEqual([
      401,
      'UNAUTHENTICATED',
    ]);
  });

  it('refuses signed requests with 503 OVERLOADED while the nonce cache is full, then recovers', async () => {
    await t.close();
    now = Date.UTC(2026, 5, 1, 12, 0, 0);
    t = await makeTestApp({
      config: { nonceCacheMax: 1000 },
      deps: { requestClock: () => now },
    });
    now += 1000;
    const who = newSigner('ed25519');
    await principal(who);
    const url = `/v1/evidence/${DIGEST}`;
    for (let i = 0; i < 1000; i++) {
      const response = await signedInject(t.app, who, { method: 'GET', url }, now);
      expect(response.statusCode).toBe(404);
    }
    const full = await signedInject(t.app, who, { method: 'GET', url }, now);
    expect(codeOf(full)).toEqual([503, 'OVERLOADED']);
    expect(full.headers['retry-after']).toBeDefined();
    // Once the remembered requests' timestamps left the window, their nonces are swept.
    now += WINDOW + 1;
    const later = await signedInject(t.app, who, { method: 'GET', url }, now);
    expect(codeOf(later)).toEqual([404, 'EVIDENCE_NOT_FOUND']);
  });
});
