/**
 * Every refusal of the agreement routes through the HTTP layer, on the real embedded ledger: the
 * role gate, the chaincode's own checks (roles and parties again, status, the action's rules) and
 * the schemas. Each asserts status and code (STYLE.md item 24), and that nothing was written.
 */

import type { LightMyRequestResponse } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DOCUMENT,
  act,
  activeAgreement,
  expectOk,
  makeAgreementApp,
  read,
  sha,
  termsFor,
  type AgreementApp,
} from './agreement-helpers';
import { getWith, postJson } from './helpers';

async function refusal(pending: Promise<LightMyRequestResponse>): Promise<[number, string]> {
  const response = await pending;
  const body = response.json() as { statusCode: number; code: string };
  expect(body.statusCode).toBe(response.statusCode);
  return [response.statusCode, body.code];
}

describe('agreement routes: refusals', () => {
  let t: AgreementApp;
  let height: number;
  const ID = 'med-2026-0100';

  beforeEach(async () => {
    t = await makeAgreementApp();
  });
  afterEach(async () => {
    await t.close();
  });

  /** Asserts the refusal and that the chain did not grow. */
  async function refused(
    pending: () => Promise<LightMyRequestResponse>,
    expected: [number, string],
  ): Promise<void> {
    height = (await t.ledger.info()).height;
    expect(await refusal(pending())).toEqual(expected);
    expect((await t.ledger.info()).height).toBe(height);
  }

  it('401 UNAUTHENTICATED without a valid key, on every route', async () => {
    await activeAgreement(t, ID);
    for (const [method, url] of [
      ['POST', '/v1/agreements'],
      ['GET', '/v1/agreements'],
      ['GET', '/v1/agreements/events'],
      ['GET', `/v1/agreements/${ID}`],
      ['POST', `/v1/agreements/${ID}/sign`],
      ['POST', `/v1/agreements/${ID}/enforcement`],
      ['GET', `/v1/agreements/${ID}/enforcement-application`],
    ] as const) {
      for (const headers of [{}, { authorization: 'Bearer ek_not-a-key' }]) {
        const response = await t.app.inject({ method, url, headers });
        expect([response.statusCode, response.json().code]).toEqual([401, 'UNAUTHENTICATED']);
      }
    }
  });

  it('403 FORBIDDEN at the role gate: payment may not create, only courts confirm, file and reopen, only role payment records payments', async () => {
    await activeAgreement(t, ID);
    await refused(
      () => act(t, t.cast.bank, undefined, undefined, termsFor('med-x')),
      [403, 'FORBIDDEN'],
    );
    await refused(
      () => act(t, t.cast.creditor, ID, 'confirm', { caseNumber: '(2026)京0105民特1号' }),
      [403, 'FORBIDDEN'],
    );
    await refused(
      () => act(t, t.cast.admin, ID, 'filing', { caseNumber: '(2026)京0105执1号' }),
      [403, 'FORBIDDEN'],
    );
    await refused(
      () => act(t, t.cast.mediator, ID, 'reopen', { reason: 'other' }),
      [403, 'FORBIDDEN'],
    );
    await refused(
      () =>
        act(t, t.cast.creditor, ID, 'payments', { instalmentIndex: 0, amount: 1, reference: 'R1' }),
      [403, 'FORBIDDEN'],
    );
    await refused(() => act(t, t.cast.bank, ID, 'check-due'), [403, 'FORBIDDEN']);
  });

  it('403 FORBIDDEN from the chaincode: the right role but the wrong party role or none', async () => {
    // A depositor who is neither party, mediation body nor court may not create it.
    await refused(
      () => act(t, t.cast.stranger, undefined, undefined, termsFor(ID)),
      [403, 'FORBIDDEN'],
    );
    await activeAgreement(t, ID);
    // A debtor may not confirm a payment or request enforcement; a stranger may not check or terminate.
    await refused(
      () =>
        act(t, t.cast.debtor, ID, 'payment-confirmations', {
          instalmentIndex: 0,
          amount: 1,
          reference: 'R1',
        }),
      [403, 'FORBIDDEN'],
    );
    await refused(() => act(t, t.cast.debtor, ID, 'enforcement'), [403, 'FORBIDDEN']);
    await refused(() => act(t, t.cast.stranger, ID, 'check-due'), [403, 'FORBIDDEN']);
    await refused(
      () => act(t, t.cast.stranger, ID, 'terminate', { reason: 'other' }),
      [403, 'FORBIDDEN'],
    );
  });

  it('403 NOT_A_PARTY when the action needs a party and the caller is none', async () => {
    await expectOk(act(t, t.cast.mediator, undefined, undefined, termsFor(ID)), 201);
    await refused(
      () => act(t, t.cast.stranger, ID, 'sign', { documentDigest: DOCUMENT }),
      [403, 'NOT_A_PARTY'],
    );
    await refused(
      () => act(t, t.cast.court, ID, 'sign', { documentDigest: DOCUMENT }),
      [403, 'NOT_A_PARTY'],
    );
    await expectOk(act(t, t.cast.creditor, ID, 'sign', { documentDigest: DOCUMENT }));
    await expectOk(act(t, t.cast.debtor, ID, 'sign', { documentDigest: DOCUMENT }));
    await refused(
      () =>
        act(t, t.cast.stranger, ID, 'payment-confirmations', {
          instalmentIndex: 0,
          amount: 1,
          reference: 'R1',
        }),
      [403, 'NOT_A_PARTY'],
    );
    await refused(() => act(t, t.cast.stranger, ID, 'enforcement'), [403, 'NOT_A_PARTY']);
  });

  it('404 AGREEMENT_NOT_FOUND for an unknown id, on reads and transitions', async () => {
    for (const pending of [
      () => act(t, t.cast.creditor, 'med-none', 'sign', { documentDigest: DOCUMENT }),
      () => act(t, t.cast.court, 'med-none', 'check-due'),
      () => act(t, t.cast.creditor, 'med-none', 'enforcement'),
      () => act(t, t.cast.court, 'med-none', 'terminate', { reason: 'court-order' }),
      () => read(t, 'med-none'),
      () => getWith(t.app, '/v1/agreements/med-none/enforcement-application', t.cast.court),
    ]) {
      await refused(pending, [404, 'AGREEMENT_NOT_FOUND']);
    }
    // The scheduler does not keep watching an id whose create never happened.
    expect(t.app.agreements.scheduler.watching).toBe(0);
  });

  it('409 AGREEMENT_EXISTS for a second create with the same id', async () => {
    await expectOk(act(t, t.cast.mediator, undefined, undefined, termsFor(ID)), 201);
    await refused(
      () => act(t, t.cast.creditor, undefined, undefined, termsFor(ID)),
      [409, 'AGREEMENT_EXISTS'],
    );
  });

  it('409 ALREADY_SIGNED, 400 DOCUMENT_MISMATCH, then 409 INVALID_TRANSITION once active', async () => {
    await expectOk(act(t, t.cast.mediator, undefined, undefined, termsFor(ID)), 201);
    await expectOk(act(t, t.cast.creditor, ID, 'sign', { documentDigest: DOCUMENT }));
    await refused(
      () => act(t, t.cast.creditor, ID, 'sign', { documentDigest: DOCUMENT }),
      [409, 'ALREADY_SIGNED'],
    );
    await refused(
      () => act(t, t.cast.debtor, ID, 'sign', { documentDigest: sha('another document') }),
      [400, 'DOCUMENT_MISMATCH'],
    );
    // Not yet active: payments, confirmation and enforcement are not possible.
    await refused(
      () => act(t, t.cast.bank, ID, 'payments', { instalmentIndex: 0, amount: 1, reference: 'R1' }),
      [409, 'INVALID_TRANSITION'],
    );
    await refused(
      () => act(t, t.cast.court, ID, 'confirm', { caseNumber: '(2026)京0105民特1号' }),
      [409, 'INVALID_TRANSITION'],
    );
    await expectOk(act(t, t.cast.debtor, ID, 'sign', { documentDigest: DOCUMENT }));
    await refused(
      () => act(t, t.cast.debtor, ID, 'sign', { documentDigest: DOCUMENT }),
      [409, 'INVALID_TRANSITION'],
    );
    // Active, not defaulted: no enforcement (and nothing is deposited), no filing, no reopening.
    await refused(() => act(t, t.cast.creditor, ID, 'enforcement'), [409, 'INVALID_TRANSITION']);
    await refused(
      () => act(t, t.cast.court, ID, 'filing', { caseNumber: '(2026)京0105执1号' }),
      [409, 'INVALID_TRANSITION'],
    );
    await refused(
      () => act(t, t.cast.court, ID, 'reopen', { reason: 'other' }),
      [409, 'INVALID_TRANSITION'],
    );
    await refused(
      () => getWith(t.app, `/v1/agreements/${ID}/enforcement-application`, t.cast.creditor),
      [404, 'NOT_FOUND'],
    );
  });

  it('404 INSTALMENT_NOT_FOUND, 409 OVERPAYMENT and 409 PAYMENT_REFERENCE_CONFLICT for payments', async () => {
    await activeAgreement(t, ID);
    const pay = (instalmentIndex: number, amount: number, reference: string) =>
      act(t, t.cast.bank, ID, 'payments', { instalmentIndex, amount, reference });
    await refused(() => pay(2, 1, 'R1'), [404, 'INSTALMENT_NOT_FOUND']);
    await refused(() => pay(0, 300_001, 'R1'), [409, 'OVERPAYMENT']);
    await expectOk(pay(0, 100_000, 'R1'));
    await refused(() => pay(0, 200_001, 'R2'), [409, 'OVERPAYMENT']);
    await refused(() => pay(0, 5, 'R1'), [409, 'PAYMENT_REFERENCE_CONFLICT']);
    await refused(() => pay(1, 100_000, 'R1'), [409, 'PAYMENT_REFERENCE_CONFLICT']);
  });

  it('409 INVALID_TRANSITION for a payment after chain time passed the grace period, before any checkDue', async () => {
    await activeAgreement(t, ID);
    t.clock.set('2026-02-04T00:00:01Z');
    await refused(
      () =>
        act(t, t.cast.bank, ID, 'payments', {
          instalmentIndex: 0,
          amount: 300_000,
          reference: 'LATE',
        }),
      [409, 'INVALID_TRANSITION'],
    );
  });

  it('409 ALREADY_REQUESTED when a party asks twice to terminate', async () => {
    await activeAgreement(t, ID);
    await expectOk(act(t, t.cast.debtor, ID, 'terminate', { reason: 'withdrawn' }));
    await refused(
      () => act(t, t.cast.debtor, ID, 'terminate', { reason: 'withdrawn' }),
      [409, 'ALREADY_REQUESTED'],
    );
    const court = await expectOk(act(t, t.cast.court, ID, 'terminate', { reason: 'court-order' }));
    expect(court.agreement.termination).toMatchObject({ by: 'court', reason: 'court-order' });
    // Final: nothing more is possible.
    await refused(
      () => act(t, t.cast.creditor, ID, 'terminate', { reason: 'withdrawn' }),
      [409, 'INVALID_TRANSITION'],
    );
  });

  it('400 VALIDATION_FAILED naming every bad field, from the schema and from the chaincode rules', async () => {
    const schema = await postJson(t.app, '/v1/agreements', t.cast.mediator, {
      ...termsFor(ID),
      gracePeriodSeconds: -1,
      extra: true,
    });
    expect([schema.statusCode, schema.json().code]).toEqual([400, 'VALIDATION_FAILED']);
    expect(
      schema
        .json()
        .fields.map((f: { path: string }) => f.path)
        .sort(),
    ).toEqual(['/extra', '/gracePeriodSeconds']);
    // The schema holds, the rules do not: a due time before the creating transaction, no debtor.
    const terms = termsFor(ID);
    const rules = await postJson(t.app, '/v1/agreements', t.cast.mediator, {
      ...terms,
      parties: [terms.parties[0], { ...terms.parties[1]!, role: 'creditor' }],
      instalments: [{ amount: 1, currency: 'CNY', dueTime: '2025-12-31T00:00:00Z' }],
    });
    expect([rules.statusCode, rules.json().code]).toEqual([400, 'VALIDATION_FAILED']);
    expect(
      rules.json().fields.map((f: { path: string; rule: string }) => [f.path, f.rule]),
    ).toEqual([
      ['/parties', 'partyRoles'],
      ['/instalments/0/dueTime', 'dueTimeFuture'],
    ]);
    await activeAgreement(t, ID);
    for (const [action, body, paths] of [
      ['sign', { documentDigest: 'sha256:00' }, ['/documentDigest']],
      ['confirm', { caseNumber: '张三' }, ['/caseNumber']],
      [
        'payments',
        { instalmentIndex: '0', amount: 0, reference: '13800138000' },
        ['/instalmentIndex', '/amount', '/reference'],
      ],
      ['reopen', { reason: 'because' }, ['/reason']],
      ['terminate', { reason: 'other', note: 'x' }, ['/note']],
      ['check-due', { now: 1 }, ['/now']],
      ['enforcement', { applicationDigest: DOCUMENT }, ['/applicationDigest']],
    ] as const) {
      const key =
        action === 'payments'
          ? t.cast.bank
          : action === 'reopen' || action === 'confirm'
            ? t.cast.court
            : t.cast.creditor;
      const response = await act(t, key, ID, action, body);
      expect([action, response.statusCode, response.json().code]).toEqual([
        action,
        400,
        'VALIDATION_FAILED',
      ]);
      expect(
        response
          .json()
          .fields.map((f: { path: string }) => f.path)
          .sort(),
      ).toEqual([...paths].sort());
    }
    const param = await act(t, t.cast.creditor, '1234', 'sign', { documentDigest: DOCUMENT });
    expect([param.statusCode, param.json().code, param.json().fields[0].path]).toEqual([
      400,
      'VALIDATION_FAILED',
      '/id',
    ]);
  });

  it('400 INVALID_JSON and 415 UNSUPPORTED_MEDIA_TYPE for bodies that are not JSON', async () => {
    await activeAgreement(t, ID);
    const broken = await postJson(
      t.app,
      `/v1/agreements/${ID}/sign`,
      t.cast.creditor,
      '{"documentDigest":',
    );
    expect([broken.statusCode, broken.json().code]).toEqual([400, 'INVALID_JSON']);
    const text = await t.app.inject({
      method: 'POST',
      url: `/v1/agreements/${ID}/terminate`,
      headers: { authorization: `Bearer ${t.cast.creditor}`, 'content-type': 'text/plain' },
      payload: 'withdrawn',
    });
    expect([text.statusCode, text.json().code]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
  });

  it('400 VALIDATION_FAILED naming the query parameter or header at fault', async () => {
    const half = await getWith(t.app, '/v1/agreements?org=LawOrg', t.cast.court);
    expect(half.statusCode).toBe(400);
    expect(half.json().fields).toEqual([
      expect.objectContaining({ path: '/account', rule: 'dependencies' }),
    ]);
    const long = await t.app.inject({
      method: 'GET',
      url: '/v1/agreements/events',
      headers: { authorization: `Bearer ${t.cast.court}`, 'last-event-id': '9'.repeat(65) },
    });
    expect(long.statusCode).toBe(400);
    expect(long.json().fields).toEqual([
      expect.objectContaining({ path: '/last-event-id', rule: 'maxLength' }),
    ]);
  });
});
