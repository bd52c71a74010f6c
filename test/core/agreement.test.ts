import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  AGREEMENT_ACTIONS,
  AGREEMENT_REFUSAL_CODES,
  AGREEMENT_STATUSES,
  agreementTermsErrors,
  parseUtcTime,
  refusalError,
  transition,
  type AgreementAction,
  type AgreementActionName,
  type AgreementCaller,
  type AgreementState,
  type AgreementStatus,
  type AgreementTerms,
  type Outcome,
  type Refusal,
  type TransitionEvent,
} from '../../core/agreement';
import { canonicalBytes } from '../../core/canonical';
import { AGREEMENT_CODES, ERROR_CODES, parseWireError } from '../../core/errors';

const sha = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;

const DOCUMENT = sha('mediation agreement, signed PDF');
const APPLICATION = sha('enforcement application');
const ID = 'med-2026:0001';

const creditor: AgreementCaller = { org: 'LawOrg', account: 'creditor-1', role: 'depositor' };
const debtor: AgreementCaller = { org: 'PlatformOrg', account: 'debtor-1', role: 'depositor' };
const court: AgreementCaller = { org: 'CourtOrg', account: 'judge-1', role: 'court' };
const bank: AgreementCaller = { org: 'BankOrg', account: 'settlement', role: 'payment' };
const mediator: AgreementCaller = { org: 'MediationOrg', account: 'mediator-1', role: 'platform' };
const scheduler: AgreementCaller = { org: 'NodeOrg', account: 'gateway', role: 'gateway' };
const stranger: AgreementCaller = { org: 'OtherOrg', account: 'someone', role: 'depositor' };

const DAY = 86_400;
const GRACE = 7 * DAY;

function terms(overrides: Partial<AgreementTerms> = {}): AgreementTerms {
  return {
    agreementId: ID,
    parties: [
      {
        role: 'creditor',
        org: 'LawOrg',
        account: 'creditor-1',
        identityCommitment: sha('salt-a|creditor'),
      },
      {
        role: 'debtor',
        org: 'PlatformOrg',
        account: 'debtor-1',
        identityCommitment: sha('salt-b|debtor'),
      },
    ],
    instalments: [
      { amount: 100_000, currency: 'CNY', dueTime: '2026-02-01T00:00:00Z' },
      { amount: 50_000, currency: 'CNY', dueTime: '2026-03-01T00:00:00Z' },
    ],
    gracePeriodSeconds: GRACE,
    documentDigest: DOCUMENT,
    mediationBody: { org: 'MediationOrg', reference: '(2026)京0105民诉前调1234号' },
    requiresCourtConfirmation: false,
    ...overrides,
  };
}

/** Transaction facts at an RFC 3339 instant (seconds may be given as an offset). */
let txCounter = 0;
function tx(time: string) {
  txCounter += 1;
  return {
    txId: txCounter.toString(16).padStart(64, '0'),
    time: new Date(Date.parse(time)).toISOString(),
  };
}

function plus(time: string, seconds: number): string {
  return new Date(Date.parse(time) + seconds * 1000).toISOString();
}

function ok(outcome: Outcome): { state: AgreementState; event: TransitionEvent | undefined } {
  if (!outcome.ok) throw new Error(`refused: ${outcome.refusal.code}: ${outcome.refusal.message}`);
  return outcome;
}

function refusalOf(outcome: Outcome): Refusal {
  if (outcome.ok) throw new Error(`accepted, now ${outcome.state.status}`);
  return outcome.refusal;
}

function step(
  state: AgreementState | undefined,
  action: AgreementAction,
  caller: AgreementCaller,
  time: string,
) {
  return ok(transition(state, action, caller, tx(time))).state;
}

const id = { agreementId: ID };
const pay = (instalmentIndex: string, amount: string, reference: string) =>
  ({ kind: 'recordPayment', ...id, instalmentIndex, amount, reference }) as const;
const sign = { kind: 'sign', ...id, documentDigest: DOCUMENT } as const;
const checkDue = { kind: 'checkDue', ...id } as const;

function created(overrides: Partial<AgreementTerms> = {}): AgreementState {
  return step(
    undefined,
    { kind: 'create', terms: terms(overrides) },
    mediator,
    '2026-01-01T00:00:00Z',
  );
}

function active(overrides: Partial<AgreementTerms> = {}): AgreementState {
  const signed = step(created(overrides), sign, creditor, '2026-01-02T00:00:00Z');
  return step(signed, sign, debtor, '2026-01-02T01:00:00Z');
}

/** Grace for instalment 0 ends 2026-02-08T00:00:00Z. */
const GRACE_END_0 = '2026-02-08T00:00:00.000Z';

function defaulted(): AgreementState {
  return step(active(), checkDue, scheduler, plus(GRACE_END_0, 1));
}

/** A state in every status, and the chain time at which it was reached. */
function reach(status: AgreementStatus): { state: AgreementState; time: string } {
  const at = (state: AgreementState) => ({ state, time: state.updatedAt });
  switch (status) {
    case 'draft':
      return at(created());
    case 'awaiting-confirmation': {
      const draft = created({ requiresCourtConfirmation: true });
      return at(
        step(
          step(draft, sign, creditor, '2026-01-02T00:00:00Z'),
          sign,
          debtor,
          '2026-01-02T01:00:00Z',
        ),
      );
    }
    case 'active':
      return at(active());
    case 'defaulted':
      return at(defaulted());
    case 'enforcement-requested':
      return at(
        step(
          defaulted(),
          { kind: 'requestEnforcement', ...id, applicationDigest: APPLICATION },
          creditor,
          '2026-02-10T00:00:00Z',
        ),
      );
    case 'enforcement-filed': {
      const requested = reach('enforcement-requested').state;
      return at(
        step(
          requested,
          { kind: 'acknowledgeFiling', ...id, caseNumber: '(2026)京0105执1234号' },
          court,
          '2026-02-11T00:00:00Z',
        ),
      );
    }
    case 'completed': {
      const once = step(active(), pay('0', '100000', 'ICBC:TX-1'), bank, '2026-01-10T00:00:00Z');
      return at(step(once, pay('1', '50000', 'ICBC:TX-2'), bank, '2026-01-11T00:00:00Z'));
    }
    case 'terminated':
      return at(
        step(
          created(),
          { kind: 'terminate', ...id, reason: 'court-order' },
          court,
          '2026-01-03T00:00:00Z',
        ),
      );
  }
}

/** An authorised caller and well-formed arguments for each action. */
const ATTEMPTS: Record<AgreementActionName, { caller: AgreementCaller; action: AgreementAction }> =
  {
    create: {
      caller: mediator,
      action: {
        kind: 'create',
        terms: terms({
          instalments: [{ amount: 1, currency: 'CNY', dueTime: '2030-01-01T00:00:00Z' }],
        }),
      },
    },
    sign: { caller: debtor, action: sign },
    confirm: {
      caller: court,
      action: { kind: 'confirm', ...id, caseNumber: '(2026)京0105民特12号' },
    },
    recordPayment: { caller: bank, action: pay('0', '1000', 'ICBC:TABLE-1') },
    confirmPayment: {
      caller: creditor,
      action: {
        kind: 'confirmPayment',
        ...id,
        instalmentIndex: '0',
        amount: '1000',
        reference: 'WIRE:TABLE-2',
      },
    },
    checkDue: { caller: scheduler, action: checkDue },
    requestEnforcement: {
      caller: creditor,
      action: { kind: 'requestEnforcement', ...id, applicationDigest: APPLICATION },
    },
    acknowledgeFiling: {
      caller: court,
      action: { kind: 'acknowledgeFiling', ...id, caseNumber: '(2026)京0105执1234号' },
    },
    reopenMediation: {
      caller: court,
      action: { kind: 'reopenMediation', ...id, note: { reason: 'payment-plan-revised' } },
    },
    terminate: { caller: court, action: { kind: 'terminate', ...id, reason: 'court-order' } },
  };

/** Every allowed (status, action) pair and the status it leads to; all others are refused. */
const ALLOWED: Record<AgreementStatus, Partial<Record<AgreementActionName, AgreementStatus>>> = {
  draft: { sign: 'draft', checkDue: 'draft', terminate: 'terminated' },
  'awaiting-confirmation': {
    confirm: 'active',
    checkDue: 'awaiting-confirmation',
    terminate: 'terminated',
  },
  active: {
    recordPayment: 'active',
    confirmPayment: 'active',
    checkDue: 'active',
    terminate: 'terminated',
  },
  defaulted: {
    checkDue: 'defaulted',
    requestEnforcement: 'enforcement-requested',
    reopenMediation: 'active',
    terminate: 'terminated',
  },
  'enforcement-requested': {
    checkDue: 'enforcement-requested',
    acknowledgeFiling: 'enforcement-filed',
    reopenMediation: 'active',
    terminate: 'terminated',
  },
  'enforcement-filed': { checkDue: 'enforcement-filed' },
  completed: { checkDue: 'completed' },
  terminated: { checkDue: 'terminated' },
};

describe('transition: every (status, action) pair', () => {
  const pairs = AGREEMENT_STATUSES.flatMap((status) =>
    AGREEMENT_ACTIONS.map((action) => [status, action] as const),
  );

  it.each(pairs)('%s + %s', (status, name) => {
    const { state, time } = reach(status);
    expect(state.status).toBe(status);
    const { caller, action } = ATTEMPTS[name];
    const outcome = transition(state, action, caller, tx(plus(time, 1)));
    const expected = ALLOWED[status][name];
    if (name === 'create') {
      expect(refusalOf(outcome).code).toBe('AGREEMENT_EXISTS');
    } else if (expected === undefined) {
      expect(refusalOf(outcome).code).toBe('INVALID_TRANSITION');
    } else {
      expect(ok(outcome).state.status).toBe(expected);
    }
  });

  it.each(AGREEMENT_ACTIONS)('no agreement + %s', (name) => {
    const { caller, action } = ATTEMPTS[name];
    const outcome = transition(undefined, action, caller, tx('2026-01-01T00:00:00Z'));
    if (name === 'create') expect(ok(outcome).state.status).toBe('draft');
    else expect(refusalOf(outcome).code).toBe('AGREEMENT_NOT_FOUND');
  });

  it('sets an event naming from, to, action and transaction on every change', () => {
    const outcome = transition(created(), sign, creditor, {
      txId: 'ab'.repeat(32),
      time: '2026-01-02T00:00:00.000Z',
    });
    expect(ok(outcome).event).toEqual({
      agreementId: ID,
      from: 'draft',
      to: 'draft',
      action: 'sign',
      txId: 'ab'.repeat(32),
    });
    const first = transition(undefined, { kind: 'create', terms: terms() }, mediator, {
      txId: 'cd'.repeat(32),
      time: '2026-01-01T00:00:00.000Z',
    });
    expect(ok(first).event).toEqual({
      agreementId: ID,
      from: null,
      to: 'draft',
      action: 'create',
      txId: 'cd'.repeat(32),
    });
  });
});

describe('transition: signing and confirmation', () => {
  it('creates a draft with every instalment scheduled and nothing signed', () => {
    const state = created();
    expect(state).toMatchObject({
      type: 'agreement',
      agreementId: ID,
      status: 'draft',
      createdBy: { org: 'MediationOrg', account: 'mediator-1' },
      createdAt: '2026-01-01T00:00:00.000Z',
      signatures: [],
      reopenings: [],
      terminationRequests: [],
    });
    expect(state.instalments).toEqual([
      { status: 'scheduled', paidAmount: 0, payments: [] },
      { status: 'scheduled', paidAmount: 0, payments: [] },
    ]);
  });

  it('lets a party or a court create, and nobody else', () => {
    expect(
      ok(
        transition(
          undefined,
          { kind: 'create', terms: terms() },
          debtor,
          tx('2026-01-01T00:00:00Z'),
        ),
      ).state.status,
    ).toBe('draft');
    expect(
      ok(
        transition(
          undefined,
          { kind: 'create', terms: terms() },
          court,
          tx('2026-01-01T00:00:00Z'),
        ),
      ).state.status,
    ).toBe('draft');
    for (const caller of [stranger, bank, scheduler]) {
      expect(
        refusalOf(
          transition(
            undefined,
            { kind: 'create', terms: terms() },
            caller,
            tx('2026-01-01T00:00:00Z'),
          ),
        ).code,
      ).toBe('FORBIDDEN');
    }
  });

  it('activates when the last party signs, recording each signature', () => {
    const state = active();
    expect(state.status).toBe('active');
    expect(state.activatedAt).toBe('2026-01-02T01:00:00.000Z');
    expect(state.signatures.map((s) => [s.party, s.time])).toEqual([
      [0, '2026-01-02T00:00:00.000Z'],
      [1, '2026-01-02T01:00:00.000Z'],
    ]);
  });

  it('waits for a court when the terms require confirmation, then records the ruling', () => {
    const waiting = reach('awaiting-confirmation').state;
    expect(waiting.activatedAt).toBeUndefined();
    const confirmed = step(
      waiting,
      { kind: 'confirm', ...id, caseNumber: '(2026)京0105民特12号' },
      court,
      '2026-01-05T00:00:00Z',
    );
    expect(confirmed.status).toBe('active');
    expect(confirmed.activatedAt).toBe('2026-01-05T00:00:00.000Z');
    expect(confirmed.confirmation).toMatchObject({
      caseNumber: '(2026)京0105民特12号',
      by: { org: 'CourtOrg', account: 'judge-1' },
    });
  });

  it('refuses a second signature, a stranger, and a different document', () => {
    const once = step(created(), sign, creditor, '2026-01-02T00:00:00Z');
    expect(refusalOf(transition(once, sign, creditor, tx('2026-01-02T00:01:00Z'))).code).toBe(
      'ALREADY_SIGNED',
    );
    expect(refusalOf(transition(once, sign, stranger, tx('2026-01-02T00:01:00Z'))).code).toBe(
      'NOT_A_PARTY',
    );
    const sameAccountOtherOrg = { ...debtor, org: 'LawOrg' };
    expect(
      refusalOf(transition(once, sign, sameAccountOtherOrg, tx('2026-01-02T00:01:00Z'))).code,
    ).toBe('NOT_A_PARTY');
    const other = { ...sign, documentDigest: sha('another version') };
    expect(refusalOf(transition(once, other, debtor, tx('2026-01-02T00:01:00Z'))).code).toBe(
      'DOCUMENT_MISMATCH',
    );
  });

  it('lets only a court confirm', () => {
    const waiting = reach('awaiting-confirmation').state;
    const confirm = { kind: 'confirm', ...id, caseNumber: '(2026)京0105民特12号' } as const;
    for (const caller of [creditor, debtor, mediator, scheduler]) {
      expect(refusalOf(transition(waiting, confirm, caller, tx('2026-01-05T00:00:00Z'))).code).toBe(
        'FORBIDDEN',
      );
    }
  });
});

describe('transition: time and payments', () => {
  it('pays on time and completes', () => {
    let state = step(active(), pay('0', '100000', 'ICBC:TX-1'), bank, '2026-02-01T00:00:00Z');
    expect(state.instalments[0]).toMatchObject({
      status: 'paid',
      paidAmount: 100_000,
      settledAt: '2026-02-01T00:00:00.000Z',
    });
    expect(state.instalments[0]!.payments[0]).toMatchObject({
      amount: 100_000,
      reference: 'ICBC:TX-1',
      by: { org: 'BankOrg', account: 'settlement' },
      source: 'payment',
      time: '2026-02-01T00:00:00.000Z',
    });
    state = step(state, pay('1', '20000', 'ICBC:TX-2'), bank, '2026-02-10T00:00:00Z');
    expect(state.instalments[1]).toMatchObject({ status: 'partly-paid', paidAmount: 20_000 });
    const confirm = {
      kind: 'confirmPayment',
      ...id,
      instalmentIndex: '1',
      amount: '30000',
      reference: 'CASH:RECEIPT-7',
    } as const;
    state = step(state, confirm, creditor, '2026-02-20T00:00:00Z');
    expect(state.status).toBe('completed');
    expect(state.completedAt).toBe('2026-02-20T00:00:00.000Z');
    expect(state.instalments.map((i) => i.status)).toEqual(['paid', 'paid']);
    expect(state.instalments[1]!.payments[1]!.source).toBe('creditor');
  });

  it('moves instalments scheduled -> due -> overdue by chain time, and defaults after grace', () => {
    const start = active();
    const before = transition(start, checkDue, scheduler, tx('2026-01-31T23:59:59Z'));
    expect(ok(before).event).toBeUndefined();
    expect(ok(before).state).toBe(start);
    const due = step(start, checkDue, scheduler, '2026-02-01T00:00:00Z');
    expect(due.status).toBe('active');
    expect(due.instalments.map((i) => i.status)).toEqual(['due', 'scheduled']);
    const again = transition(due, checkDue, scheduler, tx(GRACE_END_0));
    expect(ok(again).event).toBeUndefined();
    const late = transition(due, checkDue, scheduler, tx(plus(GRACE_END_0, 1)));
    const { state, event } = ok(late);
    expect(state.status).toBe('defaulted');
    expect(state.instalments.map((i) => i.status)).toEqual(['overdue', 'scheduled']);
    expect(state.default).toEqual({
      instalmentIndex: 0,
      since: GRACE_END_0,
      detectedAt: plus(GRACE_END_0, 1),
      txId: event!.txId,
    });
    expect(event).toMatchObject({ from: 'active', to: 'defaulted', action: 'checkDue' });
  });

  it('keeps updating instalments after default without changing the status', () => {
    const later = step(defaulted(), checkDue, scheduler, '2026-03-01T00:00:00Z');
    expect(later.status).toBe('defaulted');
    expect(later.instalments.map((i) => i.status)).toEqual(['overdue', 'due']);
  });

  it('accepts a late payment within grace as paid-late, partial payments included', () => {
    let state = step(active(), pay('0', '40000', 'ICBC:TX-1'), bank, '2026-01-15T00:00:00Z');
    expect(state.instalments[0]!.status).toBe('partly-paid');
    state = step(state, checkDue, creditor, '2026-02-02T00:00:00Z');
    expect(state.instalments[0]).toMatchObject({ status: 'due', paidAmount: 40_000 });
    state = step(state, pay('0', '60000', 'ICBC:TX-2'), bank, '2026-02-05T00:00:00Z');
    expect(state.instalments[0]).toMatchObject({
      status: 'paid-late',
      settledAt: '2026-02-05T00:00:00.000Z',
    });
    state = step(state, checkDue, scheduler, '2026-02-20T00:00:00Z');
    expect(state.status).toBe('active');
  });

  it('refuses a payment once chain time has passed the grace, even before checkDue ran', () => {
    const refusal = refusalOf(
      transition(active(), pay('0', '100000', 'ICBC:LATE'), bank, tx(plus(GRACE_END_0, 1))),
    );
    expect(refusal.code).toBe('INVALID_TRANSITION');
    expect(refusal.message).toContain(GRACE_END_0);
  });

  it('starts the grace clock at activation when signing ends after a due time', () => {
    const draft = created({
      instalments: [{ amount: 100, currency: 'CNY', dueTime: '2026-01-10T00:00:00Z' }],
    });
    const signed = step(
      step(draft, sign, creditor, '2026-01-11T00:00:00Z'),
      sign,
      debtor,
      '2026-01-20T00:00:00Z',
    );
    expect(signed.instalments[0]!.status).toBe('due');
    const graceEnd = plus('2026-01-20T00:00:00Z', GRACE);
    expect(ok(transition(signed, checkDue, scheduler, tx(graceEnd))).event).toBeUndefined();
    const gone = step(signed, checkDue, scheduler, plus(graceEnd, 1));
    expect(gone.default?.since).toBe(graceEnd);
  });

  it('refuses overpayment, unknown instalments and bad payment arguments', () => {
    const start = active();
    expect(
      refusalOf(transition(start, pay('0', '100001', 'ICBC:A'), bank, tx('2026-01-10T00:00:00Z')))
        .code,
    ).toBe('OVERPAYMENT');
    const paid = step(start, pay('0', '100000', 'ICBC:A'), bank, '2026-01-10T00:00:00Z');
    expect(
      refusalOf(transition(paid, pay('0', '1', 'ICBC:B'), bank, tx('2026-01-11T00:00:00Z'))).code,
    ).toBe('OVERPAYMENT');
    expect(
      refusalOf(transition(start, pay('2', '1', 'ICBC:C'), bank, tx('2026-01-10T00:00:00Z'))).code,
    ).toBe('INSTALMENT_NOT_FOUND');
    const bad = refusalOf(
      transition(start, pay('-1', '1.5', '流水号'), bank, tx('2026-01-10T00:00:00Z')),
    );
    expect(bad.code).toBe('VALIDATION_FAILED');
    expect(bad.fields!.map((f) => f.path).sort()).toEqual([
      '/amount',
      '/instalmentIndex',
      '/reference',
    ]);
    for (const [index, amount] of [
      ['01', '1'],
      ['x', '1'],
      ['0', '0'],
      ['0', '-5'],
      ['0', '1e3'],
      ['0', '1000000000000000'],
    ]) {
      expect(
        refusalOf(
          transition(start, pay(index!, amount!, 'ICBC:D'), bank, tx('2026-01-10T00:00:00Z')),
        ).code,
      ).toBe('VALIDATION_FAILED');
    }
  });

  it('treats a repeated payment reference as a replay, and a reused one as a conflict', () => {
    const paid = step(active(), pay('0', '1000', 'ICBC:A'), bank, '2026-01-10T00:00:00Z');
    const replay = ok(
      transition(paid, pay('0', '1000', 'ICBC:A'), bank, tx('2026-01-10T00:00:05Z')),
    );
    expect(replay.event).toBeUndefined();
    expect(replay.state).toBe(paid);
    const creditorSaw = {
      kind: 'confirmPayment',
      ...id,
      instalmentIndex: '0',
      amount: '1000',
      reference: 'ICBC:A',
    } as const;
    expect(
      ok(transition(paid, creditorSaw, creditor, tx('2026-01-11T00:00:00Z'))).event,
    ).toBeUndefined();
    expect(
      refusalOf(transition(paid, pay('0', '999', 'ICBC:A'), bank, tx('2026-01-11T00:00:00Z'))).code,
    ).toBe('PAYMENT_REFERENCE_CONFLICT');
    expect(
      refusalOf(transition(paid, pay('1', '1000', 'ICBC:A'), bank, tx('2026-01-11T00:00:00Z')))
        .code,
    ).toBe('PAYMENT_REFERENCE_CONFLICT');
  });

  it('lets only role payment record and only a creditor party confirm payments', () => {
    const start = active();
    const at = tx('2026-01-10T00:00:00Z');
    for (const caller of [creditor, debtor, court, scheduler]) {
      expect(refusalOf(transition(start, pay('0', '1', 'ICBC:A'), caller, at)).code).toBe(
        'FORBIDDEN',
      );
    }
    const confirm = {
      kind: 'confirmPayment',
      ...id,
      instalmentIndex: '0',
      amount: '1',
      reference: 'X:1',
    } as const;
    expect(refusalOf(transition(start, confirm, debtor, at)).code).toBe('FORBIDDEN');
    expect(refusalOf(transition(start, confirm, stranger, at)).code).toBe('NOT_A_PARTY');
    expect(refusalOf(transition(start, confirm, { ...bank, role: 'payment' }, at)).code).toBe(
      'NOT_A_PARTY',
    );
  });

  it('lets the scheduler roles and the parties check, nobody else', () => {
    const start = active();
    for (const caller of [scheduler, court, { ...stranger, role: 'admin' }, creditor, debtor]) {
      expect(transition(start, checkDue, caller, tx('2026-01-10T00:00:00Z')).ok).toBe(true);
    }
    for (const caller of [stranger, bank, mediator, { ...stranger, role: 'auditor' }]) {
      expect(refusalOf(transition(start, checkDue, caller, tx('2026-01-10T00:00:00Z'))).code).toBe(
        'FORBIDDEN',
      );
    }
  });
});

describe('transition: default, enforcement, reopening, termination', () => {
  it('goes from default to an enforcement request to a filed case', () => {
    const requested = reach('enforcement-requested').state;
    expect(requested.enforcement).toMatchObject({
      applicationDigest: APPLICATION,
      requestedBy: 0,
      requestedAt: '2026-02-10T00:00:00.000Z',
    });
    const filed = step(
      requested,
      { kind: 'acknowledgeFiling', ...id, caseNumber: '（2026）京0105执1234号' },
      court,
      '2026-02-12T00:00:00Z',
    );
    expect(filed.status).toBe('enforcement-filed');
    expect(filed.enforcement).toMatchObject({
      applicationDigest: APPLICATION,
      caseNumber: '（2026）京0105执1234号',
      filedBy: { org: 'CourtOrg', account: 'judge-1' },
      filedAt: '2026-02-12T00:00:00.000Z',
    });
    expect(filed.default?.instalmentIndex).toBe(0);
  });

  it('lets only a creditor request enforcement and only a court acknowledge the filing', () => {
    const state = defaulted();
    const request = { kind: 'requestEnforcement', ...id, applicationDigest: APPLICATION } as const;
    expect(refusalOf(transition(state, request, debtor, tx('2026-02-10T00:00:00Z'))).code).toBe(
      'FORBIDDEN',
    );
    expect(refusalOf(transition(state, request, stranger, tx('2026-02-10T00:00:00Z'))).code).toBe(
      'NOT_A_PARTY',
    );
    expect(refusalOf(transition(state, request, court, tx('2026-02-10T00:00:00Z'))).code).toBe(
      'NOT_A_PARTY',
    );
    const requested = reach('enforcement-requested').state;
    const file = { kind: 'acknowledgeFiling', ...id, caseNumber: '(2026)京0105执1234号' } as const;
    expect(refusalOf(transition(requested, file, creditor, tx('2026-02-12T00:00:00Z'))).code).toBe(
      'FORBIDDEN',
    );
  });

  it('reopens mediation: active again, default cleared, a fresh grace period from the reopening', () => {
    const reopenedAt = '2026-02-10T00:00:00Z';
    const note = {
      reason: 'payment-plan-revised',
      documentDigest: sha('ruling'),
      reference: '(2026)京0105民特12号',
    };
    const reopened = step(
      reach('enforcement-requested').state,
      { kind: 'reopenMediation', ...id, note },
      court,
      reopenedAt,
    );
    expect(reopened.status).toBe('active');
    expect(reopened.default).toBeUndefined();
    expect(reopened.enforcement).toBeUndefined();
    expect(reopened.instalments[0]!.status).toBe('due');
    expect(reopened.reopenings).toEqual([
      {
        ...note,
        by: { org: 'CourtOrg', account: 'judge-1' },
        txId: reopened.updatedTxId,
        time: '2026-02-10T00:00:00.000Z',
      },
    ]);
    const graceEnd = plus(reopenedAt, GRACE);
    expect(ok(transition(reopened, checkDue, scheduler, tx(graceEnd))).event).toBeUndefined();
    const paidLate = step(reopened, pay('0', '100000', 'ICBC:LATE'), bank, graceEnd);
    expect(paidLate.instalments[0]!.status).toBe('paid-late');
    const again = step(reopened, checkDue, scheduler, plus(graceEnd, 1));
    expect(again.status).toBe('defaulted');
    expect(again.default?.since).toBe(graceEnd);
    const party = { kind: 'reopenMediation', ...id, note: { reason: 'other' } } as const;
    expect(
      refusalOf(transition(defaulted(), party, creditor, tx('2026-02-10T00:00:00Z'))).code,
    ).toBe('FORBIDDEN');
  });

  it('terminates at once by a court, with the reason', () => {
    const ended = step(
      active(),
      { kind: 'terminate', ...id, reason: 'agreement-void' },
      court,
      '2026-01-20T00:00:00Z',
    );
    expect(ended.status).toBe('terminated');
    expect(ended.termination).toMatchObject({
      by: 'court',
      reason: 'agreement-void',
      principal: { org: 'CourtOrg', account: 'judge-1' },
    });
  });

  it('terminates by the parties only when every party has asked, each once', () => {
    const ask = (reason: string) => ({ kind: 'terminate', ...id, reason }) as const;
    const one = step(active(), ask('settled-off-chain'), debtor, '2026-01-20T00:00:00Z');
    expect(one.status).toBe('active');
    expect(one.terminationRequests).toMatchObject([{ party: 1, reason: 'settled-off-chain' }]);
    expect(
      refusalOf(transition(one, ask('withdrawn'), debtor, tx('2026-01-21T00:00:00Z'))).code,
    ).toBe('ALREADY_REQUESTED');
    expect(
      refusalOf(transition(one, ask('withdrawn'), stranger, tx('2026-01-21T00:00:00Z'))).code,
    ).toBe('FORBIDDEN');
    const both = step(one, ask('settled-off-chain'), creditor, '2026-01-22T00:00:00Z');
    expect(both.status).toBe('terminated');
    expect(both.termination).toMatchObject({
      by: 'parties',
      reason: 'settled-off-chain',
      principal: { org: 'LawOrg' },
    });
    expect(
      refusalOf(transition(both, ask('withdrawn'), court, tx('2026-01-23T00:00:00Z'))).code,
    ).toBe('INVALID_TRANSITION');
  });
});

describe('agreement terms validation', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');

  it('accepts the reference terms and case-number references', () => {
    expect(agreementTermsErrors(terms(), now)).toEqual([]);
    for (const reference of [
      '(2021)最高法民终123号',
      '（2026）京0105民初1234号',
      '〔2026〕沪73知民初9号',
      'MED-2026/0001',
    ]) {
      expect(
        agreementTermsErrors(terms({ mediationBody: { org: 'MediationOrg', reference } }), now),
      ).toEqual([]);
    }
  });

  it('names every bad field at once, schema and rules together', () => {
    const bad = {
      ...terms(),
      agreementId: 'has space',
      parties: [
        { role: 'creditor', org: 'LawOrg', account: 'a', identityCommitment: sha('x') },
        { role: 'creditor', org: 'LawOrg', account: 'a', identityCommitment: sha('y') },
      ],
      instalments: [
        { amount: 0, currency: 'cny', dueTime: '2026-03-01T00:00:00Z' },
        { amount: 1.5, currency: 'CNY', dueTime: '2026-02-01T00:00:00Z' },
        { amount: 1, currency: 'CNY', dueTime: '2026-02-30T00:00:00Z' },
        { amount: 1, currency: 'CNY', dueTime: '2025-12-31T00:00:00Z' },
        { amount: 1, currency: 'CNY', dueTime: '2026-05-01T00:00:00+08:00' },
      ],
      gracePeriodSeconds: -1,
      documentDigest: 'md5:abc',
      extra: true,
    };
    const fields = agreementTermsErrors(bad, now);
    const byPath = Object.fromEntries(fields.map((f) => [f.path, f.rule]));
    expect(byPath).toEqual({
      '/agreementId': 'pattern',
      '/parties/1': 'partyUnique',
      '/parties': 'partyRoles',
      '/instalments/0/amount': 'minimum',
      '/instalments/0/currency': 'pattern',
      '/instalments/1/amount': 'type',
      '/instalments/1/dueTime': 'dueTimeOrder',
      '/instalments/2/dueTime': 'dateTime',
      '/instalments/3/dueTime': 'dueTimeFuture',
      '/instalments/4/dueTime': 'pattern',
      '/gracePeriodSeconds': 'minimum',
      '/documentDigest': 'pattern',
      '/extra': 'additionalProperties',
    });
  });

  it('refuses terms that are not an object, or miss every field', () => {
    expect(agreementTermsErrors(null, now).map((f) => f.rule)).toEqual(['type']);
    expect(
      agreementTermsErrors({}, now)
        .map((f) => f.path)
        .sort(),
    ).toEqual(
      [
        '/agreementId',
        '/documentDigest',
        '/gracePeriodSeconds',
        '/instalments',
        '/mediationBody',
        '/parties',
        '/requiresCourtConfirmation',
      ].sort(),
    );
  });
});

describe('no field admits a name, an ID-card number or a phone number', () => {
  const PERSONAL = [
    '张三',
    '欧阳娜娜',
    '110105199003071234',
    '11010519900307123X',
    '13800138000',
    '+86 138 0013 8000',
    '010-62345678',
    'zhang.san@example.com',
    '(2026)张三1号',
    '张三(2026)京0105民初1234号',
    '(2026)京0105民初1234号 张三',
  ];

  type Mutate = (value: string) => unknown;
  const base = terms();
  const TERM_FIELDS: Record<string, Mutate> = {
    '/agreementId': (v) => ({ ...base, agreementId: v }),
    '/parties/0/role': (v) => ({
      ...base,
      parties: [{ ...base.parties[0], role: v }, base.parties[1]],
    }),
    '/parties/0/org': (v) => ({
      ...base,
      parties: [{ ...base.parties[0], org: v }, base.parties[1]],
    }),
    '/parties/1/account': (v) => ({
      ...base,
      parties: [base.parties[0], { ...base.parties[1], account: v }],
    }),
    '/parties/1/identityCommitment': (v) => ({
      ...base,
      parties: [base.parties[0], { ...base.parties[1], identityCommitment: v }],
    }),
    '/instalments/0/currency': (v) => ({
      ...base,
      instalments: [{ ...base.instalments[0], currency: v }],
    }),
    '/instalments/0/dueTime': (v) => ({
      ...base,
      instalments: [{ ...base.instalments[0], dueTime: v }],
    }),
    '/documentDigest': (v) => ({ ...base, documentDigest: v }),
    '/mediationBody/org': (v) => ({ ...base, mediationBody: { org: v } }),
    '/mediationBody/reference': (v) => ({
      ...base,
      mediationBody: { org: 'MediationOrg', reference: v },
    }),
  };

  const cases = Object.keys(TERM_FIELDS).flatMap((path) =>
    PERSONAL.map((value) => [path, value] as const),
  );
  it.each(cases)('terms %s = %s', (path, value) => {
    const refusal = refusalOf(
      transition(
        undefined,
        { kind: 'create', terms: TERM_FIELDS[path]!(value) },
        court,
        tx('2026-01-01T00:00:00Z'),
      ),
    );
    expect(refusal.code).toBe('VALIDATION_FAILED');
    expect(refusal.fields!.map((f) => f.path)).toContain(path);
  });

  const state = active();
  const ARG_FIELDS: Record<string, { caller: AgreementCaller; action: Mutate }> = {
    'sign /agreementId': { caller: debtor, action: (v) => ({ ...sign, agreementId: v }) },
    'sign /documentDigest': { caller: debtor, action: (v) => ({ ...sign, documentDigest: v }) },
    'confirm /caseNumber': {
      caller: court,
      action: (v) => ({ kind: 'confirm', ...id, caseNumber: v }),
    },
    'recordPayment /reference': { caller: bank, action: (v) => pay('0', '1', v) },
    'requestEnforcement /applicationDigest': {
      caller: creditor,
      action: (v) => ({ kind: 'requestEnforcement', ...id, applicationDigest: v }),
    },
    'acknowledgeFiling /caseNumber': {
      caller: court,
      action: (v) => ({ kind: 'acknowledgeFiling', ...id, caseNumber: v }),
    },
    'reopenMediation /note/reason': {
      caller: court,
      action: (v) => ({ kind: 'reopenMediation', ...id, note: { reason: v } }),
    },
    'reopenMediation /note/reference': {
      caller: court,
      action: (v) => ({ kind: 'reopenMediation', ...id, note: { reason: 'other', reference: v } }),
    },
    'reopenMediation /note/documentDigest': {
      caller: court,
      action: (v) => ({
        kind: 'reopenMediation',
        ...id,
        note: { reason: 'other', documentDigest: v },
      }),
    },
    'terminate /reason': {
      caller: court,
      action: (v) => ({ kind: 'terminate', ...id, reason: v }),
    },
  };
  const argCases = Object.keys(ARG_FIELDS).flatMap((name) =>
    PERSONAL.map((value) => [name, value] as const),
  );
  it.each(argCases)('%s = %s', (name, value) => {
    const { caller, action } = ARG_FIELDS[name]!;
    const refusal = refusalOf(
      transition(state, action(value) as AgreementAction, caller, tx('2026-01-10T00:00:00Z')),
    );
    expect(refusal.code).toBe('VALIDATION_FAILED');
    expect(refusal.fields!.map((f) => f.path)).toContain(name.slice(name.indexOf(' ') + 1));
  });
});

describe('determinism', () => {
  function run(): Uint8Array[] {
    const out: Uint8Array[] = [];
    const facts = (n: number, time: string) => ({ txId: n.toString(16).padStart(64, '0'), time });
    const steps: Array<[AgreementAction, AgreementCaller, string]> = [
      [{ kind: 'create', terms: terms() }, mediator, '2026-01-01T00:00:00.000Z'],
      [sign, creditor, '2026-01-02T00:00:00.000Z'],
      [sign, debtor, '2026-01-02T01:00:00.000Z'],
      [pay('0', '40000', 'ICBC:1'), bank, '2026-01-15T00:00:00.000Z'],
      [checkDue, scheduler, '2026-02-09T00:00:00.000Z'],
      [
        { kind: 'requestEnforcement', ...id, applicationDigest: APPLICATION },
        creditor,
        '2026-02-10T00:00:00.000Z',
      ],
    ];
    let state: AgreementState | undefined;
    steps.forEach(([action, caller, time], n) => {
      const result = ok(transition(state, action, caller, facts(n, time)));
      state = result.state;
      out.push(canonicalBytes(state), canonicalBytes(result.event));
    });
    return out;
  }

  it('gives identical canonical bytes for identical inputs', () => {
    expect(run()).toEqual(run());
  });

  it('does not depend on the key order of the submitted terms', () => {
    const reversed = Object.fromEntries(Object.entries(terms()).reverse());
    const facts = { txId: '0'.repeat(64), time: '2026-01-01T00:00:00.000Z' };
    const a = ok(transition(undefined, { kind: 'create', terms: terms() }, mediator, facts)).state;
    const b = ok(transition(undefined, { kind: 'create', terms: reversed }, mediator, facts)).state;
    expect(Buffer.from(canonicalBytes(b))).toEqual(Buffer.from(canonicalBytes(a)));
  });
});

describe('agreement codes', () => {
  it('are all known to core/errors.ts and survive the wire', () => {
    for (const code of AGREEMENT_REFUSAL_CODES) {
      expect(ERROR_CODES).toContain(code);
      const fields =
        code === 'VALIDATION_FAILED'
          ? [{ path: '/agreementId', rule: 'pattern', message: 'bad' }]
          : undefined;
      const error = refusalError({ code, message: 'because', ...(fields ? { fields } : {}) });
      const back = parseWireError(`transaction returned with failure: ${error.toWire()}`);
      expect(back?.code).toBe(code);
      expect(back?.message).toBe('because');
      expect(back?.fields).toEqual(fields);
    }
    expect([...AGREEMENT_CODES].sort()).toEqual(
      AGREEMENT_REFUSAL_CODES.filter((c) => c !== 'FORBIDDEN' && c !== 'VALIDATION_FAILED').sort(),
    );
  });
});

describe('parseUtcTime', () => {
  it('reads RFC 3339 UTC and refuses instants that do not exist', () => {
    expect(parseUtcTime('2026-02-01T00:00:00Z')).toBe(Date.UTC(2026, 1, 1));
    expect(parseUtcTime('2026-02-01T00:00:00.5Z')).toBe(Date.UTC(2026, 1, 1) + 500);
    for (const text of [
      '2026-02-29T00:00:00Z',
      '2026-01-01T24:00:00Z',
      '2026-06-30T23:59:60Z',
      '0099-01-01T00:00:00Z',
      '2026-01-01',
    ]) {
      expect(parseUtcTime(text)).toBeUndefined();
    }
  });
});
