/**
 * The agreement routes through `app.inject()` on the real embedded ledger, with chain time moved by
 * the test: the whole lifecycle (signatures, activation, payments on time and late, default by
 * chain time, enforcement requested and filed; and the completed path), reads with the full
 * history, the party listing and who may see what.
 */

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { UTC_TIME_PATTERN, type AgreementState } from '../../core/agreement';
import {
  DAY,
  DOCUMENT,
  PEOPLE,
  act,
  activeAgreement,
  expectOk,
  makeAgreementApp,
  read,
  termsFor,
  type AgreementApp,
} from './agreement-helpers';
import { getWith } from './helpers';

interface HistoryBody {
  agreement: AgreementState;
  history: {
    txId: string;
    time: string;
    isDelete: boolean;
    value: AgreementState;
    action: string;
  }[];
}

describe('agreement routes: lifecycle on the embedded ledger', () => {
  let t: AgreementApp;
  beforeEach(async () => {
    t = await makeAgreementApp();
  });
  afterEach(async () => {
    await t.close();
  });

  it('creates, signs, activates, takes payments on time and late, defaults, requests enforcement and records the filing', async () => {
    const id = 'med-2026-0001';
    const created = await expectOk(
      act(t, t.cast.mediator, undefined, undefined, termsFor(id)),
      201,
    );
    expect(created.agreement).toMatchObject({ agreementId: id, status: 'draft' });
    expect(created.agreement.createdBy).toEqual({ org: 'MediationOrg', account: 'mediator-1' });
    expect(created.transition).toMatchObject({
      agreementId: id,
      from: null,
      to: 'draft',
      action: 'create',
    });
    expect(created.transition!.txId).toMatch(/^[0-9a-f]{64}$/);
    expect(created.transition!.time).toBe('2026-01-01T00:00:00.000Z');

    t.clock.advance(3_600_000);
    const first = await expectOk(act(t, t.cast.creditor, id, 'sign', { documentDigest: DOCUMENT }));
    expect(first.agreement.status).toBe('draft');
    expect(first.transition).toMatchObject({ from: 'draft', to: 'draft', action: 'sign' });
    t.clock.advance(3_600_000);
    const active = await expectOk(act(t, t.cast.debtor, id, 'sign', { documentDigest: DOCUMENT }));
    expect(active.agreement.status).toBe('active');
    expect(active.agreement.activatedAt).toBe('2026-01-01T02:00:00.000Z');
    expect(active.transition).toMatchObject({ from: 'draft', to: 'active', action: 'sign' });

    // On time: the bank pays instalment 0 in two parts before it falls due.
    t.clock.set('2026-01-20T00:00:00Z');
    const part = await expectOk(
      act(t, t.cast.bank, id, 'payments', {
        instalmentIndex: 0,
        amount: 100_000,
        reference: 'ICBC:20260120-1',
      }),
    );
    expect(part.agreement.instalments[0]).toMatchObject({
      status: 'partly-paid',
      paidAmount: 100_000,
    });
    const rest = await expectOk(
      act(t, t.cast.creditor, id, 'payment-confirmations', {
        instalmentIndex: 0,
        amount: 200_000,
        reference: 'WIRE:20260121-7',
      }),
    );
    expect(rest.agreement.instalments[0]).toMatchObject({ status: 'paid', paidAmount: 300_000 });
    expect(rest.agreement.instalments[0]!.payments.map((p) => p.source)).toEqual([
      'payment',
      'creditor',
    ]);
    expect(rest.transition).toMatchObject({
      from: 'active',
      to: 'active',
      action: 'confirmPayment',
    });

    // A replayed payment changes nothing: no transition.
    const replay = await expectOk(
      act(t, t.cast.bank, id, 'payments', {
        instalmentIndex: 0,
        amount: 100_000,
        reference: 'ICBC:20260120-1',
      }),
    );
    expect(replay.transition).toBeNull();
    expect(replay.agreement.updatedTxId).toBe(rest.agreement.updatedTxId);

    // Late but inside grace: instalment 1 falls due, then a partial payment is accepted.
    t.clock.set('2026-03-02T00:00:00Z');
    const due = await expectOk(act(t, t.cast.debtor, id, 'check-due'));
    expect(due.agreement.instalments[1]!.status).toBe('due');
    const late = await expectOk(
      act(t, t.cast.bank, id, 'payments', {
        instalmentIndex: 1,
        amount: 50_000,
        reference: 'ICBC:20260302-9',
      }),
    );
    expect(late.agreement.instalments[1]).toMatchObject({ status: 'due', paidAmount: 50_000 });

    // Past grace: the default is recorded by chain time.
    t.clock.set('2026-03-04T00:00:01Z');
    const defaulted = await expectOk(act(t, t.cast.court, id, 'check-due'));
    expect(defaulted.agreement.status).toBe('defaulted');
    expect(defaulted.agreement.default).toEqual({
      instalmentIndex: 1,
      since: '2026-03-04T00:00:00.000Z',
      detectedAt: '2026-03-04T00:00:01.000Z',
      txId: defaulted.transition!.txId,
    });

    t.clock.advance(DAY);
    const requested = await act(t, t.cast.creditor, id, 'enforcement');
    expect(requested.statusCode).toBe(200);
    const enforcement = requested.json() as {
      agreement: AgreementState;
      application: {
        digests: string[];
        receipt: { record: { evidenceType: string; depositor: unknown } };
      };
    };
    expect(enforcement.agreement.status).toBe('enforcement-requested');
    expect(enforcement.agreement.enforcement).toMatchObject({
      applicationDigest: enforcement.application.digests[0],
      requestedBy: 0,
    });
    expect(enforcement.application.receipt.record).toMatchObject({
      evidenceType: 'application',
      depositor: { org: 'LawOrg', account: 'creditor-1' },
    });

    t.clock.advance(DAY);
    const filed = await expectOk(
      act(t, t.cast.court, id, 'filing', { caseNumber: '(2026)京0105执1234号' }),
    );
    expect(filed.agreement.status).toBe('enforcement-filed');
    expect(filed.agreement.enforcement).toMatchObject({
      caseNumber: '(2026)京0105执1234号',
      filedBy: { org: 'CourtOrg', account: 'judge-1' },
    });

    const response = await read(t, id, t.cast.creditor);
    expect(response.statusCode).toBe(200);
    const body = response.json() as HistoryBody;
    expect(body.agreement).toEqual(filed.agreement);
    expect(body.history.map((entry) => [entry.action, entry.value.status])).toEqual([
      ['create', 'draft'],
      ['sign', 'draft'],
      ['sign', 'active'],
      ['recordPayment', 'active'],
      ['confirmPayment', 'active'],
      ['checkDue', 'active'],
      ['recordPayment', 'active'],
      ['checkDue', 'defaulted'],
      ['requestEnforcement', 'enforcement-requested'],
      ['acknowledgeFiling', 'enforcement-filed'],
    ]);
    expect(body.history.every((entry) => entry.value.updatedTxId === entry.txId)).toBe(true);
    expect(body.history.at(-1)!.value).toEqual(filed.agreement);
  });

  it('completes when every instalment is paid, and the scheduler stops watching it', async () => {
    const id = 'med-2026-0002';
    await activeAgreement(t, id);
    expect(t.app.agreements.scheduler.watching).toBe(1);
    t.clock.set('2026-01-31T23:59:59Z');
    await expectOk(
      act(t, t.cast.bank, id, 'payments', {
        instalmentIndex: 0,
        amount: 300_000,
        reference: 'ICBC:1',
      }),
    );
    t.clock.set('2026-03-02T00:00:00Z');
    const done = await expectOk(
      act(t, t.cast.bank, id, 'payments', {
        instalmentIndex: 1,
        amount: 200_000,
        reference: 'ICBC:2',
      }),
    );
    expect(done.agreement.status).toBe('completed');
    expect(done.agreement.instalments.map((i) => i.status)).toEqual(['paid', 'paid-late']);
    expect(done.agreement.completedAt).toBe('2026-03-02T00:00:00.000Z');
    expect(done.transition).toMatchObject({
      from: 'active',
      to: 'completed',
      action: 'recordPayment',
    });
    expect(t.app.agreements.scheduler.watching).toBe(0);
  });

  it('needs a court confirmation when the terms ask for one, then activates', async () => {
    const id = 'med-2026-0003';
    await expectOk(
      act(
        t,
        t.cast.creditor,
        undefined,
        undefined,
        termsFor(id, { requiresCourtConfirmation: true }),
      ),
      201,
    );
    await expectOk(act(t, t.cast.creditor, id, 'sign', { documentDigest: DOCUMENT }));
    const waiting = await expectOk(act(t, t.cast.debtor, id, 'sign', { documentDigest: DOCUMENT }));
    expect(waiting.agreement.status).toBe('awaiting-confirmation');
    const confirmed = await expectOk(
      act(t, t.cast.court, id, 'confirm', { caseNumber: '(2026)京0105民特12号' }),
    );
    expect(confirmed.agreement.status).toBe('active');
    expect(confirmed.agreement.confirmation).toMatchObject({ caseNumber: '(2026)京0105民特12号' });
  });

  it('reopens mediation from a default, and terminates by every party', async () => {
    const id = 'med-2026-0004';
    await activeAgreement(t, id);
    t.clock.set('2026-02-05T00:00:00Z');
    expect((await expectOk(act(t, t.cast.creditor, id, 'check-due'))).agreement.status).toBe(
      'defaulted',
    );
    const reopened = await expectOk(
      act(t, t.cast.court, id, 'reopen', {
        reason: 'payment-plan-revised',
        reference: '(2026)京0105民特13号',
      }),
    );
    expect(reopened.agreement.status).toBe('active');
    expect(reopened.agreement.default).toBeUndefined();
    const one = await expectOk(
      act(t, t.cast.creditor, id, 'terminate', { reason: 'settled-off-chain' }),
    );
    expect(one.agreement.status).toBe('active');
    const all = await expectOk(
      act(t, t.cast.debtor, id, 'terminate', { reason: 'settled-off-chain' }),
    );
    expect(all.agreement.status).toBe('terminated');
    expect(all.agreement.termination).toMatchObject({ by: 'parties', reason: 'settled-off-chain' });
    const history = (await read(t, id)).json() as HistoryBody;
    expect(history.history.map((entry) => entry.action)).toEqual([
      'create',
      'sign',
      'sign',
      'checkDue',
      'reopenMediation',
      'terminate',
      'terminate',
    ]);
  });
});

describe('agreement routes: who may see what', () => {
  let t: AgreementApp;
  beforeEach(async () => {
    t = await makeAgreementApp();
  });
  afterEach(async () => {
    await t.close();
  });

  it('shows an agreement to its parties, creator, mediation body, courts and admins only', async () => {
    await activeAgreement(t, 'med-2026-0010');
    for (const key of [
      t.cast.creditor,
      t.cast.debtor,
      t.cast.mediator,
      t.cast.court,
      t.cast.admin,
    ]) {
      expect((await read(t, 'med-2026-0010', key)).statusCode).toBe(200);
    }
    for (const key of [t.cast.stranger, t.cast.bank]) {
      const response = await read(t, 'med-2026-0010', key);
      expect(response.statusCode).toBe(404);
      expect(response.json()).toMatchObject({ code: 'AGREEMENT_NOT_FOUND' });
    }
  });

  it("lists a party's agreements to that party, a court or an admin", async () => {
    await activeAgreement(t, 'med-2026-0011');
    await activeAgreement(t, 'med-2026-0012');
    const own = await getWith(t.app, '/v1/agreements', t.cast.debtor);
    expect(own.statusCode).toBe(200);
    expect(own.json()).toEqual({
      org: 'PlatformOrg',
      account: 'debtor-1',
      agreements: [
        {
          agreementId: 'med-2026-0011',
          status: 'active',
          createdAt: expect.any(String),
          updatedAt: expect.any(String),
        },
        {
          agreementId: 'med-2026-0012',
          status: 'active',
          createdAt: expect.any(String),
          updatedAt: expect.any(String),
        },
      ],
    });
    const query = `/v1/agreements?org=${PEOPLE.creditor.org}&account=${PEOPLE.creditor.account}`;
    expect((await getWith(t.app, query, t.cast.court)).json()).toMatchObject({
      agreements: [{ agreementId: 'med-2026-0011' }, { agreementId: 'med-2026-0012' }],
    });
    expect((await getWith(t.app, query, t.cast.admin)).statusCode).toBe(200);
    expect((await getWith(t.app, query, t.cast.creditor)).statusCode).toBe(200);
    for (const key of [t.cast.debtor, t.cast.stranger, t.cast.mediator]) {
      const refused = await getWith(t.app, query, key);
      expect([refused.statusCode, refused.json().code]).toEqual([403, 'FORBIDDEN']);
    }
    const nobody = await getWith(t.app, '/v1/agreements?org=NoOrg&account=nobody', t.cast.court);
    expect(nobody.json()).toEqual({ org: 'NoOrg', account: 'nobody', agreements: [] });
    const half = await getWith(t.app, '/v1/agreements?org=NoOrg', t.cast.court);
    expect([half.statusCode, half.json().code]).toEqual([400, 'VALIDATION_FAILED']);
  });
});

interface OpenApiOperation {
  parameters?: { name: string; in: string; description?: string }[];
  requestBody?: {
    required?: boolean;
    content: Record<string, { schema: Record<string, unknown> }>;
  };
  [extension: `x-${string}`]: unknown;
}

describe('agreement routes in the OpenAPI document', () => {
  let t: AgreementApp;
  let operations: Map<string, OpenApiOperation>;
  beforeAll(async () => {
    t = await makeAgreementApp();
    const doc = (await getWith(t.app, '/openapi.json')).json<{
      paths: Record<string, Record<string, OpenApiOperation>>;
    }>();
    operations = new Map(
      Object.entries(doc.paths).flatMap(([path, item]) =>
        Object.entries(item).map(([method, operation]) => [
          `${method.toUpperCase()} ${path}`,
          operation,
        ]),
      ),
    );
  });
  afterAll(async () => {
    await t.close();
  });

  it('lists the bodies of check-due, enforcement and a key rotation as optional, every other as required', async () => {
    const optional = [
      'POST /v1/admin/node-keys',
      'POST /v1/agreements/{id}/check-due',
      'POST /v1/agreements/{id}/enforcement',
    ];
    const withBody = [...operations].filter(([, operation]) => operation.requestBody);
    expect(
      withBody
        .filter(([, operation]) => operation.requestBody?.required !== true)
        .map(([k]) => k)
        .sort(),
    ).toEqual(optional);
    for (const [name, operation] of withBody) {
      expect(operation.requestBody?.required, name).toBe(!optional.includes(name));
      expect(
        Object.keys(operation).filter((key) => key.startsWith('x-')),
        name,
      ).toEqual([]);
    }
    expect(withBody.map(([name]) => name)).toEqual(
      expect.arrayContaining([
        'POST /v1/agreements',
        'POST /v1/agreements/{id}/sign',
        'POST /v1/agreements/{id}/payments',
        'POST /v1/agreements/{id}/terminate',
        'POST /v1/evidence',
        'POST /v1/anchors',
      ]),
    );

    // As documented: both take a request without any body.
    await activeAgreement(t, 'med-2026-0020');
    const noBody = (action: string) =>
      t.app.inject({
        method: 'POST',
        url: `/v1/agreements/med-2026-0020/${action}`,
        headers: { authorization: `Bearer ${t.cast.creditor}` },
      });
    expect((await noBody('check-due')).statusCode).toBe(200);
    expect((await noBody('enforcement')).json()).toMatchObject({ code: 'INVALID_TRANSITION' });
  });

  it('says in both party parameters of the listing that org and account go together', () => {
    const parameters = operations.get('GET /v1/agreements')?.parameters ?? [];
    const described = Object.fromEntries(parameters.map((p) => [`${p.in} ${p.name}`, p]));
    expect(described['query org']?.description).toMatch(/together with account/);
    expect(described['query account']?.description).toMatch(/together with org/);
  });

  it('describes dueTime as a real UTC instant, beside the pattern the schema checks', async () => {
    const terms = operations.get('POST /v1/agreements')?.requestBody?.content['application/json']
      ?.schema as {
      properties: { instalments: { items: { properties: { dueTime: Record<string, unknown> } } } };
    };
    const dueTime = terms.properties.instalments.items.properties.dueTime;
    expect(dueTime).toEqual({
      type: 'string',
      pattern: UTC_TIME_PATTERN,
      description: expect.stringMatching(/real instant in UTC.*2027-01-31T00:00:00Z/),
    });

    const impossible = await act(
      t,
      t.cast.mediator,
      undefined,
      undefined,
      termsFor('med-2026-0021', {
        instalments: [{ amount: 1, currency: 'CNY', dueTime: '0000-00-00T00:00:00Z' }],
      }),
    );
    expect(impossible.statusCode).toBe(400);
    expect(impossible.json()).toMatchObject({
      code: 'VALIDATION_FAILED',
      fields: [{ path: '/instalments/0/dueTime', rule: 'dateTime' }],
    });
  });
});
