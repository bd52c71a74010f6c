import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Receipt } from '../../core/receipt';
import { parseTrustFile } from '../../core/trust';
import { bearer, getWith, itemFor, makeTestApp, postJson, type TestApp } from './helpers';

interface DepositBody {
  status: string;
  digest: string;
  receipt: Receipt;
}

describe('reading evidence', () => {
  let t: TestApp;
  let key: string;
  let court: string;
  beforeEach(async () => {
    t = await makeTestApp();
    key = await t.keyFor('platform', 'ShopOrg', 'shop-1');
    court = await t.keyFor('court', 'CourtOrg', 'judge-1');
  });
  afterEach(async () => {
    await t.close();
  });

  async function deposit(): Promise<DepositBody> {
    return (
      await postJson(t.app, '/v1/evidence', key, itemFor(undefined, { evidenceType: 'chat' }))
    ).json() as DepositBody;
  }

  it('GET /v1/evidence/:digest returns the state to any role', async () => {
    const { digest, receipt } = await deposit();
    const auditor = await t.keyFor('auditor');
    const response = await getWith(t.app, `/v1/evidence/${digest}`, auditor);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      type: 'evidence',
      record: receipt.record,
      txId: receipt.ledger.txId,
      time: receipt.ledger.time,
      batchRoot: receipt.inclusion.root,
      leafIndex: 0,
      batchSize: 1,
      attestations: [],
      annotations: [],
    });
  });

  it('answers 404 EVIDENCE_NOT_FOUND for a digest not on chain, on every read route', async () => {
    const digest = itemFor().digests[0];
    for (const url of [
      `/v1/evidence/${digest}`,
      `/v1/evidence/${digest}/receipt`,
      `/v1/evidence/${digest}/history`,
    ]) {
      const response = await getWith(t.app, url, key);
      expect(response.statusCode).toBe(404);
      expect(response.json()).toEqual({
        statusCode: 404,
        code: 'EVIDENCE_NOT_FOUND',
        message: `${digest} is not on chain`,
      });
    }
    const annotate = await postJson(t.app, `/v1/evidence/${digest}/annotations`, court, {
      kind: 'note',
    });
    expect(annotate.statusCode).toBe(404);
    expect(annotate.json().code).toBe('EVIDENCE_NOT_FOUND');
  });

  it('lets a court annotate (201), appending, and shows annotations in state and history', async () => {
    const { digest } = await deposit();
    const hold = await postJson(t.app, `/v1/evidence/${digest}/annotations`, court, {
      kind: 'court-hold',
      reference: '(2026)京0491民初123号',
    });
    expect(hold.statusCode).toBe(201);
    const annotation = hold.json() as { txId: string; time: string };
    expect(annotation).toEqual({
      kind: 'court-hold',
      reference: '(2026)京0491民初123号',
      by: { org: 'CourtOrg', account: 'judge-1' },
      txId: annotation.txId,
      time: annotation.time,
    });
    expect(t.ledger.submits.at(-1)?.identity).toEqual({
      mspId: 'CourtOrg',
      id: 'judge-1',
      role: 'court',
    });
    const release = await postJson(t.app, `/v1/evidence/${digest}/annotations`, court, {
      kind: 'release',
    });
    expect(release.statusCode).toBe(201);
    const state = (await getWith(t.app, `/v1/evidence/${digest}`, key)).json() as {
      annotations: unknown[];
    };
    expect(state.annotations).toEqual([hold.json(), release.json()]);

    const history = await getWith(t.app, `/v1/evidence/${digest}/history`, key);
    expect(history.statusCode).toBe(200);
    const body = history.json() as {
      digest: string;
      entries: { txId: string; isDelete: boolean }[];
    };
    expect(body.digest).toBe(digest);
    expect(body.entries).toHaveLength(3);
    expect(body.entries[1]?.txId).toBe(annotation.txId);
    expect(body.entries.every((entry) => entry.isDelete === false)).toBe(true);
  });

  it('GET /v1/evidence/:digest/receipt returns a receipt equal to the deposit one', async () => {
    const { digest, receipt } = await deposit();
    const response = await getWith(t.app, `/v1/evidence/${digest}/receipt`, key);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual(receipt);
  });

  it('serialises only declared properties (the response schema is the leak guard)', async () => {
    const { digest } = await deposit();
    const evaluate = t.ledger.evaluate.bind(t.ledger);
    t.ledger.evaluate = (async (...args: Parameters<typeof evaluate>) => {
      const value = (await evaluate(...args)) as Record<string, unknown> | null;
      return value && !Array.isArray(value)
        ? {
            ...value,
            realName: 'Zhang San',
            record: { ...(value.record as object), phone: '13800000000' },
          }
        : value;
    }) as typeof t.ledger.evaluate;
    const state = await getWith(t.app, `/v1/evidence/${digest}`, key);
    expect(state.statusCode).toBe(200);
    expect(state.body).not.toMatch(/Zhang|13800000000|realName|phone/);
    const publicFacts = await getWith(t.app, `/v1/public/evidence/${digest}`);
    expect(publicFacts.body).not.toMatch(/Zhang|13800000000|realName|phone|ShopOrg|shop-1/);
  });
});

describe('public routes', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeTestApp();
  });
  afterEach(async () => {
    await t.close();
  });

  it('GET /v1/public/evidence/:digest gives only non-sensitive facts, without a key', async () => {
    const key = await t.keyFor('platform', 'ShopOrg', 'shop-1');
    const item = itemFor(undefined, { identityCommitment: `sha256:${'c'.repeat(64)}` });
    const { receipt } = (await postJson(t.app, '/v1/evidence', key, item)).json() as DepositBody;
    await postJson(t.app, '/v1/evidence', await t.keyFor('depositor', 'NotaryOrg', 'n-1'), item);
    const response = await getWith(t.app, `/v1/public/evidence/${item.digests[0]}`);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      digest: item.digests[0],
      onChain: true,
      time: receipt.ledger.time,
      txId: receipt.ledger.txId,
      chainId: t.ledger.chainId,
      attestations: 1,
    });
    const missing = await getWith(t.app, `/v1/public/evidence/${itemFor().digests[0]}`);
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe('EVIDENCE_NOT_FOUND');
  });

  it('GET /v1/chain gives the chain info and advances with deposits', async () => {
    const before = await getWith(t.app, '/v1/chain');
    expect(before.statusCode).toBe(200);
    expect(before.json()).toEqual(await t.ledger.info());
    await postJson(t.app, '/v1/evidence', await t.keyFor('platform'), itemFor());
    expect((await getWith(t.app, '/v1/chain')).json().height).toBe(before.json().height + 1);
  });

  it('GET /v1/trust gives a well-formed trust file', async () => {
    const response = await getWith(t.app, '/v1/trust');
    expect(response.statusCode).toBe(200);
    expect(parseTrustFile(response.json())).toEqual(t.ledger.trust());
  });

  it('GET /healthz answers while the process is up; /readyz only while the ledger answers', async () => {
    expect((await getWith(t.app, '/healthz')).json()).toEqual({ status: 'ok' });
    const ready = await getWith(t.app, '/readyz');
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready' });
    await t.ledger.close();
    const notReady = await getWith(t.app, '/readyz');
    expect(notReady.statusCode).toBe(503);
    expect(notReady.headers['retry-after']).toBe('5');
    expect(notReady.json()).toEqual({
      statusCode: 503,
      code: 'LEDGER_UNAVAILABLE',
      message: 'the ledger is not ready',
    });
    expect((await getWith(t.app, '/healthz')).statusCode).toBe(200);
  });

  it('answers LEDGER_CLOSED 503 when the ledger was closed under the app', async () => {
    const key = await t.keyFor('platform');
    await t.ledger.close();
    const response = await postJson(t.app, '/v1/evidence', key, itemFor());
    expect(response.statusCode).toBe(503);
    expect(response.json()).toMatchObject({ code: 'LEDGER_CLOSED' });
  });

  it('serves the OpenAPI document and the docs UI locally', async () => {
    const spec = await getWith(t.app, '/openapi.json');
    expect(spec.statusCode).toBe(200);
    const doc = spec.json() as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
      components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
    };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths).sort()).toEqual(
      expect.arrayContaining([
        '/healthz',
        '/readyz',
        '/v1/admin/keys',
        '/v1/admin/keys/{id}',
        '/v1/chain',
        '/v1/evidence',
        '/v1/evidence/batch',
        '/v1/evidence/{digest}',
        '/v1/evidence/{digest}/annotations',
        '/v1/evidence/{digest}/history',
        '/v1/evidence/{digest}/receipt',
        '/v1/public/evidence/{digest}',
        '/v1/trust',
        '/v1/admin/principals',
        '/v1/admin/principals/{id}',
        '/v1/admin/principals/{id}/rotate',
      ]),
    );
    expect(Object.keys(doc.components.schemas)).toEqual(
      expect.arrayContaining([
        'evidence-item',
        'receipt',
        'trust-file',
        'evidence-state',
        'http-error',
      ]),
    );
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual([
      'apiKeyHeader',
      'bearerAuth',
      'signedRequest',
    ]);

    const docs = await t.app.inject({ method: 'GET', url: '/docs/' });
    expect(docs.statusCode).toBe(200);
    expect(docs.headers['content-type']).toMatch(/^text\/html/);
    expect(docs.body).not.toMatch(/https?:\/\/(?!localhost)[a-z0-9.-]+\/[^"']*\.(js|css)/i);
    const script = await t.app.inject({ method: 'GET', url: '/docs/static/swagger-ui-bundle.js' });
    expect(script.statusCode).toBe(200);
  });

  it('does not need a key for the public routes but does for the others', async () => {
    const digest = itemFor().digests[0];
    expect((await getWith(t.app, `/v1/evidence/${digest}`)).statusCode).toBe(401);
    expect(
      (await t.app.inject({ method: 'GET', url: '/v1/chain', headers: bearer('nonsense') }))
        .statusCode,
    ).toBe(200);
  });
});
