import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  agreementKey,
  partyIndexKey,
  type AgreementHistoryEntry,
  type AgreementState,
  type AgreementTerms,
  type TransitionEvent,
} from '../../core/agreement';
import { canonicalJson } from '../../core/canonical';
import { parseWireError } from '../../core/errors';
import { AgreementContract } from '../../chaincode/agreement-contract';
import { FakeWorld, type FakeCaller } from './fake-context';

const sha = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;
const DOCUMENT = sha('signed agreement');
const APPLICATION = sha('enforcement application');
const ID = 'med-2026-0007';

const creditor: FakeCaller = { mspId: 'LawOrg', account: 'creditor-1', role: 'depositor' };
const debtor: FakeCaller = { mspId: 'PlatformOrg', account: 'debtor-1', role: null };
const court: FakeCaller = { mspId: 'CourtOrg', account: 'judge-1', role: 'court' };
const bank: FakeCaller = { mspId: 'BankOrg', account: 'settlement', role: 'payment' };
const mediator: FakeCaller = { mspId: 'MediationOrg', account: 'mediator-1', role: 'platform' };
const scheduler: FakeCaller = { mspId: 'NodeOrg', account: 'gateway', role: 'gateway' };
const stranger: FakeCaller = { mspId: 'OtherOrg', account: 'someone', role: 'depositor' };

const at = (iso: string) => Date.parse(iso) / 1000;
const GRACE = 3 * 86_400;

function terms(overrides: Partial<AgreementTerms> = {}): AgreementTerms {
  return {
    agreementId: ID,
    parties: [
      {
        role: 'creditor',
        org: 'LawOrg',
        account: 'creditor-1',
        identityCommitment: sha('s1|creditor'),
      },
      {
        role: 'debtor',
        org: 'PlatformOrg',
        account: 'debtor-1',
        identityCommitment: sha('s2|debtor'),
      },
    ],
    instalments: [
      { amount: 300_000, currency: 'CNY', dueTime: '2026-02-01T00:00:00Z' },
      { amount: 200_000, currency: 'CNY', dueTime: '2026-03-01T00:00:00Z' },
    ],
    gracePeriodSeconds: GRACE,
    documentDigest: DOCUMENT,
    mediationBody: { org: 'MediationOrg', reference: '(2026)京0105民诉前调88号' },
    requiresCourtConfirmation: false,
    ...overrides,
  };
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (
      /^([A-Z_]+):/.exec((error as Error).message)?.[1] ?? `untyped: ${(error as Error).message}`
    );
  }
  return 'no error';
}

function parsed(json: string): AgreementState {
  return JSON.parse(json) as AgreementState;
}

function events(world: FakeWorld): TransitionEvent[] {
  return world.events
    .filter((e) => e.name === 'AgreementTransition')
    .map((e) => JSON.parse(e.payload) as TransitionEvent);
}

/** A world with an active agreement (created, signed by both parties). */
async function activeWorld(overrides: Partial<AgreementTerms> = {}) {
  const world = new FakeWorld();
  world.seconds = at('2026-01-01T00:00:00Z');
  const contract = new AgreementContract();
  await contract.create(world.context(mediator), canonicalJson(terms(overrides)));
  world.seconds += 3600;
  await contract.sign(world.context(creditor), ID, DOCUMENT);
  world.seconds += 3600;
  await contract.sign(world.context(debtor), ID, DOCUMENT);
  return { world, contract };
}

describe('AgreementContract: lifecycle', () => {
  it('creates, signs, defaults by chain time, requests enforcement and records the filing', async () => {
    const { world, contract } = await activeWorld();
    const read = async () => parsed(await contract.readAgreement(world.context(stranger), ID));
    expect((await read()).status).toBe('active');

    world.seconds = at('2026-01-20T00:00:00Z');
    const paid = parsed(
      await contract.recordPayment(world.context(bank), ID, '0', '100000', 'ICBC:20260120-1'),
    );
    expect(paid.instalments[0]).toMatchObject({ status: 'partly-paid', paidAmount: 100_000 });

    world.seconds = at('2026-02-02T00:00:00Z');
    const writesBefore = world.history.get(agreementKey(ID))!.length;
    const eventsBefore = world.events.length;
    const due = parsed(await contract.checkDue(world.context(scheduler), ID));
    expect(due.instalments[0]!.status).toBe('due');
    const unchanged = await contract.checkDue(world.context(scheduler), ID);
    expect(unchanged).toBe(canonicalJson(due));
    expect(world.history.get(agreementKey(ID))!.length).toBe(writesBefore + 1);
    expect(world.events.length).toBe(eventsBefore + 1);

    world.seconds = at('2026-02-04T00:00:01Z');
    const defaulted = parsed(await contract.checkDue(world.context(debtor), ID));
    expect(defaulted.status).toBe('defaulted');
    expect(defaulted.default).toMatchObject({
      instalmentIndex: 0,
      since: '2026-02-04T00:00:00.000Z',
    });

    world.seconds += 60;
    const requested = parsed(
      await contract.requestEnforcement(world.context(creditor), ID, APPLICATION),
    );
    expect(requested.enforcement).toMatchObject({ applicationDigest: APPLICATION, requestedBy: 0 });

    world.seconds += 86_400;
    const filed = parsed(
      await contract.acknowledgeFiling(world.context(court), ID, '(2026)京0105执555号'),
    );
    expect(filed.status).toBe('enforcement-filed');
    expect(filed.enforcement).toMatchObject({
      caseNumber: '(2026)京0105执555号',
      filedAt: new Date(world.seconds * 1000).toISOString(),
    });
    expect(await read()).toEqual(filed);

    const transitions = events(world).map((e) => [e.from, e.to, e.action]);
    expect(transitions).toEqual([
      [null, 'draft', 'create'],
      ['draft', 'draft', 'sign'],
      ['draft', 'active', 'sign'],
      ['active', 'active', 'recordPayment'],
      ['active', 'active', 'checkDue'],
      ['active', 'defaulted', 'checkDue'],
      ['defaulted', 'enforcement-requested', 'requestEnforcement'],
      ['enforcement-requested', 'enforcement-filed', 'acknowledgeFiling'],
    ]);
    for (const event of events(world)) expect(event.agreementId).toBe(ID);

    const history = JSON.parse(
      await contract.agreementHistory(world.context(stranger), ID),
    ) as AgreementHistoryEntry[];
    expect(history.map((h) => h.value!.status)).toEqual(transitions.map((t) => t[1]));
    expect(history.map((h) => h.txId)).toEqual(events(world).map((e) => e.txId));
  });

  it('completes with court confirmation, bank records and creditor confirmations', async () => {
    const { world, contract } = await activeWorld({ requiresCourtConfirmation: true });
    expect(parsed(await contract.readAgreement(world.context(court), ID)).status).toBe(
      'awaiting-confirmation',
    );
    world.seconds += 86_400;
    const confirmed = parsed(
      await contract.confirm(world.context(court), ID, '(2026)京0105民特9号'),
    );
    expect(confirmed.status).toBe('active');
    expect(confirmed.confirmation?.caseNumber).toBe('(2026)京0105民特9号');
    world.seconds = at('2026-01-31T00:00:00Z');
    await contract.recordPayment(world.context(bank), ID, '0', '300000', 'ICBC:A-1');
    world.seconds = at('2026-03-02T00:00:00Z');
    const done = parsed(
      await contract.confirmPayment(world.context(creditor), ID, '1', '200000', 'CASH:R-2'),
    );
    expect(done.status).toBe('completed');
    expect(done.instalments.map((i) => i.status)).toEqual(['paid', 'paid-late']);
    expect(done.instalments[1]!.payments[0]!.by).toEqual({ org: 'LawOrg', account: 'creditor-1' });
  });

  it('reopens mediation and terminates by all parties', async () => {
    const { world, contract } = await activeWorld();
    world.seconds = at('2026-02-05T00:00:00Z');
    await contract.checkDue(world.context(scheduler), ID);
    const note = canonicalJson({
      reason: 'payment-plan-revised',
      documentDigest: sha('revised plan'),
    });
    const reopened = parsed(await contract.reopenMediation(world.context(court), ID, note));
    expect(reopened.status).toBe('active');
    expect(reopened.reopenings[0]).toMatchObject({
      reason: 'payment-plan-revised',
      by: { org: 'CourtOrg' },
    });
    world.seconds += 60;
    expect(
      parsed(await contract.terminate(world.context(debtor), ID, 'settled-off-chain')).status,
    ).toBe('active');
    const ended = parsed(
      await contract.terminate(world.context(creditor), ID, 'settled-off-chain'),
    );
    expect(ended.termination).toMatchObject({ by: 'parties', reason: 'settled-off-chain' });
    expect(events(world).at(-1)).toMatchObject({
      from: 'active',
      to: 'terminated',
      action: 'terminate',
    });
  });

  it('indexes agreements by party', async () => {
    const { world, contract } = await activeWorld();
    await contract.create(
      world.context(court),
      canonicalJson(terms({ agreementId: 'med-2026-0008' })),
    );
    const list = async (caller: FakeCaller, org: string, account: string) =>
      JSON.parse(await contract.agreementsOfParty(world.context(caller), org, account)) as string[];
    expect(await list(stranger, 'LawOrg', 'creditor-1')).toEqual([ID, 'med-2026-0008']);
    expect(await list(stranger, 'PlatformOrg', 'debtor-1')).toEqual([ID, 'med-2026-0008']);
    expect(await list(stranger, 'MediationOrg', 'mediator-1')).toEqual([]);
    expect(world.state.get(partyIndexKey('LawOrg', 'creditor-1'))!.toString()).toBe(
      `["${ID}","med-2026-0008"]`,
    );
    try {
      await contract.agreementsOfParty(world.context(stranger), '张三', '13800138000');
      expect.fail('accepted personal data as a party');
    } catch (error) {
      const wire = parseWireError((error as Error).message);
      expect(wire?.code).toBe('VALIDATION_FAILED');
      expect(wire?.fields?.map((f) => f.path)).toEqual(['/org', '/account']);
    }
  });

  it('writes identical bytes in two worlds given identical transactions', async () => {
    const one = await activeWorld();
    const two = await activeWorld();
    expect(one.world.state.get(agreementKey(ID))).toEqual(two.world.state.get(agreementKey(ID)));
    expect(one.world.events).toEqual(two.world.events);
  });
});

describe('AgreementContract: refusals', () => {
  it('answers each refusal with its code and writes nothing', async () => {
    const { world, contract } = await activeWorld();
    const snapshot = new Map(world.state);
    const eventCount = world.events.length;
    const refusals: Array<[string, () => Promise<unknown>]> = [
      ['INVALID_JSON', () => contract.create(world.context(mediator), '{terms')],
      [
        'AGREEMENT_EXISTS',
        () =>
          contract.create(
            world.context(mediator),
            canonicalJson(
              terms({
                instalments: [{ amount: 1, currency: 'CNY', dueTime: '2027-01-01T00:00:00Z' }],
              }),
            ),
          ),
      ],
      [
        'FORBIDDEN',
        () =>
          contract.create(
            world.context(stranger),
            canonicalJson(terms({ agreementId: 'other-1' })),
          ),
      ],
      ['AGREEMENT_NOT_FOUND', () => contract.sign(world.context(debtor), 'nope', DOCUMENT)],
      ['INVALID_TRANSITION', () => contract.sign(world.context(debtor), ID, DOCUMENT)],
      ['NOT_A_PARTY', () => contract.confirmPayment(world.context(stranger), ID, '0', '1', 'X:1')],
      ['FORBIDDEN', () => contract.recordPayment(world.context(creditor), ID, '0', '1', 'X:1')],
      ['FORBIDDEN', () => contract.confirmPayment(world.context(debtor), ID, '0', '1', 'X:1')],
      ['OVERPAYMENT', () => contract.recordPayment(world.context(bank), ID, '0', '300001', 'X:1')],
      [
        'INSTALMENT_NOT_FOUND',
        () => contract.recordPayment(world.context(bank), ID, '7', '1', 'X:1'),
      ],
      [
        'VALIDATION_FAILED',
        () => contract.recordPayment(world.context(bank), ID, 'one', '1', 'X:1'),
      ],
      [
        'INVALID_TRANSITION',
        () => contract.requestEnforcement(world.context(creditor), ID, APPLICATION),
      ],
      [
        'FORBIDDEN',
        () => contract.acknowledgeFiling(world.context(creditor), ID, '(2026)京0105执1号'),
      ],
      ['FORBIDDEN', () => contract.checkDue(world.context(stranger), ID)],
      ['INVALID_JSON', () => contract.reopenMediation(world.context(court), ID, 'not json')],
      [
        'INVALID_TRANSITION',
        () => contract.reopenMediation(world.context(court), ID, '{"reason":"other"}'),
      ],
      [
        'VALIDATION_FAILED',
        () => contract.terminate(world.context(court), ID, 'because I said so'),
      ],
      ['VALIDATION_FAILED', () => contract.readAgreement(world.context(court), '13800138000')],
    ];
    for (const [expected, attempt] of refusals) expect(await codeOf(attempt())).toBe(expected);
    expect(world.state).toEqual(snapshot);
    expect(world.events.length).toBe(eventCount);
  });

  it('refuses a second signature and a different document', async () => {
    const world = new FakeWorld();
    world.seconds = at('2026-01-01T00:00:00Z');
    const contract = new AgreementContract();
    await contract.create(world.context(creditor), canonicalJson(terms()));
    await contract.sign(world.context(creditor), ID, DOCUMENT);
    expect(await codeOf(contract.sign(world.context(creditor), ID, DOCUMENT))).toBe(
      'ALREADY_SIGNED',
    );
    expect(await codeOf(contract.sign(world.context(debtor), ID, sha('other')))).toBe(
      'DOCUMENT_MISMATCH',
    );
    expect(await codeOf(contract.sign(world.context(stranger), ID, DOCUMENT))).toBe('NOT_A_PARTY');
  });

  it('names every bad field of the terms in the error text', async () => {
    const world = new FakeWorld();
    world.seconds = at('2026-01-01T00:00:00Z');
    const bad = {
      ...terms(),
      agreementId: '110105199003071234',
      parties: [{ role: 'creditor', org: '张三', account: 'a', identityCommitment: sha('x') }],
    };
    try {
      await new AgreementContract().create(world.context(court), JSON.stringify(bad));
      expect.fail('accepted bad terms');
    } catch (error) {
      const wire = parseWireError((error as Error).message);
      expect(wire?.code).toBe('VALIDATION_FAILED');
      expect(wire?.fields?.map((f) => f.path).sort()).toEqual(
        ['/agreementId', '/parties', '/parties/0/org'].sort(),
      );
    }
    expect(world.state.size).toBe(0);
  });

  it('returns null for an absent agreement and an empty history', async () => {
    const world = new FakeWorld();
    const contract = new AgreementContract();
    expect(await contract.readAgreement(world.context(stranger), 'absent-1')).toBe('null');
    expect(await contract.agreementHistory(world.context(stranger), 'absent-1')).toBe('[]');
    expect(await codeOf(contract.agreementHistory(world.context(stranger), '张三'))).toBe(
      'VALIDATION_FAILED',
    );
  });
});
