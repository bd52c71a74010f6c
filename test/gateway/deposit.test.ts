import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { digestBytes } from '../../core/digest';
import type { Receipt } from '../../core/receipt';
import { verifyReceipt } from '../../core/verify';
import { getWith, itemFor, makeTestApp, postJson, type TestApp } from './helpers';

interface DepositBody {
  status: string;
  digest: string;
  receipt: Receipt;
}

function expectVerified(t: TestApp, receipt: unknown, file?: Buffer): void {
  const verdict = verifyReceipt(
    receipt,
    t.ledger.trust(),
    file ? { fileDigests: digestBytes(file) } : {},
  );
  expect(verdict.verdict, JSON.stringify(verdict.checks)).toBe('VERIFIED');
}

describe('POST /v1/evidence', () => {
  let t: TestApp;
  let key: string;
  beforeEach(async () => {
    t = await makeTestApp();
    key = await t.keyFor('platform', 'ShopOrg', 'shop-1');
  });
  afterEach(async () => {
    await t.close();
  });

  it('answers 201 created with a receipt that verifies against the trust file and the file', async () => {
    const file = randomBytes(500);
    const item = itemFor(file, {
      evidenceType: 'contract',
      mediaType: 'application/pdf',
      size: 500,
    });
    const response = await postJson(t.app, '/v1/evidence', key, item);
    expect(response.statusCode).toBe(201);
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    const body = response.json() as DepositBody;
    expect(Object.keys(body).sort()).toEqual(['digest', 'receipt', 'status']);
    expect(body.status).toBe('created');
    expect(body.digest).toBe(item.digests[0]);
    expect(body.receipt.record).toEqual({
      ...item,
      depositor: { org: 'ShopOrg', account: 'shop-1' },
    });
    expect(t.ledger.resolved.has(body.receipt.ledger.txId)).toBe(true);
    expectVerified(t, body.receipt, file);
  });

  it('normalises digest order (sha256 first) in the committed record', async () => {
    const item = itemFor();
    const response = await postJson(t.app, '/v1/evidence', key, {
      digests: [...item.digests].reverse(),
    });
    expect(response.statusCode).toBe(201);
    expect((response.json() as DepositBody).receipt.record.digests).toEqual(item.digests);
  });

  it('is idempotent: the same principal again gets 200 existing and the same receipt', async () => {
    const item = itemFor();
    const first = await postJson(t.app, '/v1/evidence', key, item);
    const again = await postJson(t.app, '/v1/evidence', key, { ...item, evidenceType: 'other' });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ ...(first.json() as DepositBody), status: 'existing' });
    const receipt = await getWith(t.app, `/v1/evidence/${item.digests[0]}/receipt`, key);
    expect(receipt.statusCode).toBe(200);
    expect(receipt.json()).toEqual((first.json() as DepositBody).receipt);
  });

  it('records a second principal as an attestation and keeps the first time', async () => {
    const file = randomBytes(80);
    const item = itemFor(file);
    const first = (await postJson(t.app, '/v1/evidence', key, item)).json() as DepositBody;
    const notary = await t.keyFor('depositor', 'NotaryOrg', 'notary-1');
    const second = await postJson(t.app, '/v1/evidence', notary, item);
    expect(second.statusCode).toBe(201);
    const attested = second.json() as DepositBody;
    expect(attested.status).toBe('attested');
    expect(attested.receipt.record.depositor).toEqual({ org: 'NotaryOrg', account: 'notary-1' });
    expect(attested.receipt.ledger.txId).not.toBe(first.receipt.ledger.txId);
    expectVerified(t, attested.receipt, file);

    const state = await getWith(t.app, `/v1/evidence/${item.digests[0]}`, notary);
    expect(state.statusCode).toBe(200);
    const body = state.json() as { time: string; txId: string; attestations: { txId: string }[] };
    expect(body.time).toBe(first.receipt.ledger.time);
    expect(body.txId).toBe(first.receipt.ledger.txId);
    expect(body.attestations.map((a) => a.txId)).toEqual([attested.receipt.ledger.txId]);

    // Each principal's receipt is their own placement; the notary again gets "existing".
    const again = await postJson(t.app, '/v1/evidence', notary, item);
    expect(again.statusCode).toBe(200);
    expect((again.json() as DepositBody).receipt).toEqual(attested.receipt);
    expect(
      (await getWith(t.app, `/v1/evidence/${item.digests[0]}/receipt`, notary)).json(),
    ).toEqual(attested.receipt);
    expect((await getWith(t.app, `/v1/evidence/${item.digests[0]}/receipt`, key)).json()).toEqual(
      first.receipt,
    );
    // Someone who made neither deposit gets the first one.
    const auditor = await t.keyFor('auditor');
    expect(
      (await getWith(t.app, `/v1/evidence/${item.digests[0]}/receipt`, auditor)).json(),
    ).toEqual(first.receipt);
  });
});

describe('POST /v1/evidence/batch', () => {
  let t: TestApp;
  let key: string;
  beforeEach(async () => {
    t = await makeTestApp();
    key = await t.keyFor('depositor', 'LawOrg', 'lawyer-1');
  });
  afterEach(async () => {
    await t.close();
  });

  it('deposits every item in one transaction, each with a receipt that verifies', async () => {
    const files = Array.from({ length: 7 }, () => randomBytes(100));
    const response = await postJson(t.app, '/v1/evidence/batch', key, {
      items: files.map((file) => itemFor(file)),
    });
    expect(response.statusCode).toBe(200);
    const { results } = response.json() as { results: (DepositBody & { index: number })[] };
    expect(results.map((r) => [r.index, r.status])).toEqual(files.map((_, i) => [i, 'created']));
    expect(t.ledger.submits).toHaveLength(1);
    results.forEach((result, index) => {
      expect(result.receipt.record.depositor).toEqual({ org: 'LawOrg', account: 'lawyer-1' });
      expect(result.receipt.inclusion.treeSize).toBe(7);
      expectVerified(t, result.receipt, files[index]);
    });
  });

  it('reports bad items with their pointers and still deposits the good ones', async () => {
    const good = itemFor();
    const otherGood = itemFor();
    const response = await postJson(t.app, '/v1/evidence/batch', key, {
      items: [
        good,
        { digests: ['sha256:XYZ'] },
        42,
        { digests: [`sm3:${'a'.repeat(64)}`] },
        { ...otherGood, depositor: { org: 'Other', account: 'x' } },
        otherGood,
      ],
    });
    expect(response.statusCode).toBe(200);
    const { results } = response.json() as { results: Record<string, unknown>[] };
    expect(results).toHaveLength(6);
    expect(results[0]).toMatchObject({ index: 0, status: 'created', digest: good.digests[0] });
    expect(results[1]).toEqual({
      index: 1,
      error: {
        code: 'VALIDATION_FAILED',
        message: 'evidence item is invalid (1 problem)',
        fields: [
          {
            path: '/items/1/digests/0',
            rule: 'pattern',
            message: 'must match pattern "^(sha256|sm3):[0-9a-f]{64}$"',
          },
        ],
      },
    });
    expect(results[2]).toMatchObject({
      index: 2,
      error: { code: 'VALIDATION_FAILED', fields: [{ path: '/items/2', rule: 'type' }] },
    });
    expect(results[3]).toMatchObject({
      index: 3,
      error: {
        code: 'VALIDATION_FAILED',
        fields: [{ path: '/items/3/digests', rule: 'digestPrimary' }],
      },
    });
    expect(results[4]).toMatchObject({
      index: 4,
      error: {
        code: 'VALIDATION_FAILED',
        fields: [{ path: '/items/4/depositor', rule: 'additionalProperties' }],
      },
    });
    expect(results[5]).toMatchObject({ index: 5, status: 'created', digest: otherGood.digests[0] });
    expect(t.ledger.submits).toHaveLength(1);
  });

  it('answers existing for items already deposited by the caller, with their first receipt', async () => {
    const old = itemFor();
    const first = (await postJson(t.app, '/v1/evidence', key, old)).json() as DepositBody;
    const fresh = itemFor();
    const response = await postJson(t.app, '/v1/evidence/batch', key, { items: [fresh, old] });
    const { results } = response.json() as { results: (DepositBody & { index: number })[] };
    expect(results.map((r) => r.status)).toEqual(['created', 'existing']);
    expect(results[1]?.receipt).toEqual(first.receipt);
  });

  it('defers a digest repeated in one request to the next transaction instead of failing it', async () => {
    const item = itemFor();
    const response = await postJson(t.app, '/v1/evidence/batch', key, { items: [item, item] });
    expect(response.statusCode).toBe(200);
    const { results } = response.json() as { results: (DepositBody & { index: number })[] };
    expect(results.map((r) => r.status)).toEqual(['created', 'existing']);
    expect(results[1]?.receipt).toEqual(results[0]?.receipt);
    expect(t.ledger.submits).toHaveLength(2);
  });

  it('acknowledges without receipts on receipts=none; the receipt route then gives each one', async () => {
    const old = itemFor();
    const first = (await postJson(t.app, '/v1/evidence', key, old)).json() as DepositBody;
    const files = Array.from({ length: 5 }, () => randomBytes(64));
    const response = await postJson(t.app, '/v1/evidence/batch?receipts=none', key, {
      items: [...files.map((file) => itemFor(file)), old, { digests: ['sha256:bad'] }],
    });
    expect(response.statusCode).toBe(200);
    const { results } = response.json() as {
      results: { index: number; status?: string; digest?: string; txId?: string; error?: object }[];
    };
    expect(results).toHaveLength(7);
    const created = results.slice(0, 5);
    for (const result of created) {
      expect(Object.keys(result).sort()).toEqual(['digest', 'index', 'status', 'txId']);
      expect(result.status).toBe('created');
    }
    expect(new Set(created.map((r) => r.txId)).size).toBe(1);
    // The existing item names the transaction of the caller's first deposit.
    expect(results[5]).toEqual({
      index: 5,
      status: 'existing',
      digest: old.digests[0],
      txId: first.receipt.ledger.txId,
    });
    expect(results[6]).toMatchObject({ index: 6, error: { code: 'VALIDATION_FAILED' } });
    for (const [index, result] of created.entries()) {
      const receipt = await getWith(t.app, `/v1/evidence/${result.digest}/receipt`, key);
      expect(receipt.statusCode).toBe(200);
      const body = receipt.json() as Receipt;
      expect(body.ledger.txId).toBe(result.txId);
      expect(body.inclusion.leafIndex).toBe(index);
      expectVerified(t, body, files[index]);
    }
  });

  it('gives the receipts of a transaction receipts=none acknowledged in one request', async () => {
    const files = Array.from({ length: 4 }, () => randomBytes(64));
    const acked = await postJson(t.app, '/v1/evidence/batch?receipts=none', key, {
      items: files.map((file) => itemFor(file)),
    });
    const { results } = acked.json() as { results: { digest: string; txId: string }[] };
    const txId = results[0]!.txId;
    const response = await getWith(t.app, `/v1/transactions/${txId}/receipts`, key);
    expect(response.statusCode, response.body).toBe(200);
    const body = response.json() as { txId: string; blockNumber: number; receipts: Receipt[] };
    expect(body.txId).toBe(txId);
    expect(body.receipts.map((r) => r.record.digests[0])).toEqual(results.map((r) => r.digest));
    body.receipts.forEach((receipt, index) => {
      expect(receipt.ledger).toMatchObject({ txId, blockNumber: body.blockNumber });
      expectVerified(t, receipt, files[index]);
    });
    // Another depositor has no receipt there; a court sees every one.
    const other = await t.keyFor('depositor', 'LawOrg', 'lawyer-2');
    const refused = await getWith(t.app, `/v1/transactions/${txId}/receipts`, other);
    expect(refused.statusCode).toBe(404);
    expect(refused.json()).toMatchObject({ code: 'NOT_FOUND' });
    const court = await t.keyFor('court', 'CourtOrg', 'judge-1');
    const seen = await getWith(t.app, `/v1/transactions/${txId}/receipts`, court);
    expect((seen.json() as { receipts: unknown[] }).receipts).toHaveLength(4);
    // No such transaction; a malformed id; no key.
    expect(
      (await getWith(t.app, `/v1/transactions/${'0'.repeat(64)}/receipts`, key)).statusCode,
    ).toBe(404);
    const malformed = await getWith(t.app, '/v1/transactions/not-a-tx/receipts', key);
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json()).toMatchObject({
      code: 'VALIDATION_FAILED',
      fields: [expect.objectContaining({ path: '/txId' })],
    });
    expect(
      (await t.app.inject({ method: 'GET', url: `/v1/transactions/${txId}/receipts` })).statusCode,
    ).toBe(401);
  });

  it('refuses an unknown receipts mode with 400 naming it, depositing nothing', async () => {
    const response = await postJson(t.app, '/v1/evidence/batch?receipts=some', key, {
      items: [itemFor()],
    });
    expect(response.statusCode).toBe(400);
    const body = response.json() as { code: string; fields: { path: string }[] };
    expect(body.code).toBe('VALIDATION_FAILED');
    expect(body.fields.map((f) => f.path)).toEqual(['/receipts']);
    expect(t.ledger.submits).toHaveLength(0);
  });

  it('splits a request larger than GROUP_COMMIT_MAX over several transactions', async () => {
    await t.close();
    t = await makeTestApp({ config: { groupCommitMax: 4 } });
    key = await t.keyFor('depositor');
    const files = Array.from({ length: 10 }, () => randomBytes(32));
    const response = await postJson(t.app, '/v1/evidence/batch', key, {
      items: files.map((f) => itemFor(f)),
    });
    const { results } = response.json() as { results: (DepositBody & { index: number })[] };
    expect(results.every((r) => r.status === 'created')).toBe(true);
    expect(t.ledger.submits).toHaveLength(3);
    expect(results.map((r) => r.receipt.inclusion.treeSize)).toEqual([
      4, 4, 4, 4, 4, 4, 4, 4, 2, 2,
    ]);
    results.forEach((result, index) => expectVerified(t, result.receipt, files[index]));
  });
});
