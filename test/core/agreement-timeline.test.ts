/**
 * What the gateway and the CLI derive from agreement states: the next instant chain time changes an
 * agreement (`nextDueCheck`, which drives the scheduler), and the action behind each history value
 * (`agreementTimeline`). Both are checked against core's own state machine.
 */

import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  nextDueCheck,
  transition,
  type AgreementAction,
  type AgreementActionName,
  type AgreementCaller,
  type AgreementHistoryEntry,
  type AgreementState,
  type AgreementTerms,
} from '../../core/agreement';
import { agreementTimeline, formatAmount } from '../../core/agreement-timeline';

const sha = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;
const DOCUMENT = sha('document');
const ID = 'med-t-1';
const creditor: AgreementCaller = { org: 'LawOrg', account: 'creditor-1', role: 'depositor' };
const debtor: AgreementCaller = { org: 'PlatformOrg', account: 'debtor-1', role: 'platform' };
const court: AgreementCaller = { org: 'CourtOrg', account: 'judge-1', role: 'court' };
const bank: AgreementCaller = { org: 'BankOrg', account: 'settlement', role: 'payment' };
const gateway: AgreementCaller = { org: 'NodeOrg', account: 'gateway', role: 'gateway' };
const GRACE = 3 * 86_400;

const terms: AgreementTerms = {
  agreementId: ID,
  parties: [
    { role: 'creditor', org: 'LawOrg', account: 'creditor-1', identityCommitment: sha('a') },
    { role: 'debtor', org: 'PlatformOrg', account: 'debtor-1', identityCommitment: sha('b') },
  ],
  instalments: [
    { amount: 100_000, currency: 'CNY', dueTime: '2026-02-01T00:00:00Z' },
    { amount: 50_000, currency: 'CNY', dueTime: '2026-03-01T00:00:00Z' },
  ],
  gracePeriodSeconds: GRACE,
  documentDigest: DOCUMENT,
  mediationBody: { org: 'MediationOrg' },
  requiresCourtConfirmation: true,
};

/** Runs actions through core, as the contract would, keeping the history it would write. */
class Chain {
  state: AgreementState | undefined;
  readonly history: AgreementHistoryEntry[] = [];
  readonly actions: AgreementActionName[] = [];
  #n = 0;

  apply(action: AgreementAction, caller: AgreementCaller, time: string): AgreementState {
    const txId = (++this.#n).toString(16).padStart(64, '0');
    const outcome = transition(this.state, action, caller, { txId, time });
    if (!outcome.ok) throw new Error(`${outcome.refusal.code}: ${outcome.refusal.message}`);
    if (outcome.event) {
      this.state = outcome.state;
      this.history.push({ txId, time, isDelete: false, value: outcome.state });
      this.actions.push(outcome.event.action);
    }
    return outcome.state;
  }
}

function activeChain(): Chain {
  const chain = new Chain();
  chain.apply({ kind: 'create', terms }, creditor, '2026-01-01T00:00:00.000Z');
  chain.apply(
    { kind: 'sign', agreementId: ID, documentDigest: DOCUMENT },
    creditor,
    '2026-01-01T01:00:00.000Z',
  );
  chain.apply(
    { kind: 'sign', agreementId: ID, documentDigest: DOCUMENT },
    debtor,
    '2026-01-01T02:00:00.000Z',
  );
  chain.apply(
    { kind: 'confirm', agreementId: ID, caseNumber: '(2026)京0105民特1号' },
    court,
    '2026-01-02T00:00:00.000Z',
  );
  return chain;
}

const iso = (ms: number) => new Date(ms).toISOString();

describe('nextDueCheck', () => {
  it('is undefined before activation, then the due time, then one millisecond past the grace period', () => {
    const chain = new Chain();
    const draft = chain.apply({ kind: 'create', terms }, creditor, '2026-01-01T00:00:00.000Z');
    expect(nextDueCheck(draft)).toBeUndefined();
    const active = activeChain().state!;
    expect(nextDueCheck(active)).toBe(Date.parse('2026-02-01T00:00:00Z'));
    const due = transition(active, { kind: 'checkDue', agreementId: ID }, gateway, {
      txId: 'x',
      time: '2026-02-01T00:00:00.000Z',
    });
    expect(due.ok && nextDueCheck(due.state)).toBe(Date.parse('2026-02-04T00:00:00.001Z'));
  });

  it('is the exact instant checkDue starts to change the agreement, all the way to completion', () => {
    const chain = activeChain();
    const checks: string[] = [];
    for (let step = 0; step < 6; step++) {
      const state = chain.state!;
      const at = nextDueCheck(state);
      if (at === undefined) break;
      const before = transition(state, { kind: 'checkDue', agreementId: ID }, gateway, {
        txId: 'before',
        time: iso(at - 1),
      });
      expect(before.ok && before.event).toBeUndefined();
      const after = chain.apply({ kind: 'checkDue', agreementId: ID }, gateway, iso(at));
      checks.push(`${iso(at)} ${after.status} ${after.instalments.map((i) => i.status).join(',')}`);
    }
    expect(checks).toEqual([
      '2026-02-01T00:00:00.000Z active due,scheduled',
      '2026-02-04T00:00:00.001Z defaulted overdue,scheduled',
      '2026-03-01T00:00:00.000Z defaulted overdue,due',
      '2026-03-04T00:00:00.001Z defaulted overdue,overdue',
    ]);
    expect(nextDueCheck(chain.state!)).toBeUndefined();
  });

  it('restarts the grace period at a reopening, and ends with every instalment paid', () => {
    const chain = activeChain();
    chain.apply({ kind: 'checkDue', agreementId: ID }, gateway, '2026-02-10T00:00:00.000Z');
    const reopened = chain.apply(
      { kind: 'reopenMediation', agreementId: ID, note: { reason: 'payment-plan-revised' } },
      court,
      '2026-02-20T00:00:00.000Z',
    );
    expect(reopened.instalments[0]!.status).toBe('due');
    expect(nextDueCheck(reopened)).toBe(Date.parse('2026-02-23T00:00:00.001Z'));
    const pay = (index: string, amount: string, reference: string, time: string) =>
      chain.apply(
        { kind: 'recordPayment', agreementId: ID, instalmentIndex: index, amount, reference },
        bank,
        time,
      );
    pay('0', '100000', 'R0', '2026-02-21T00:00:00.000Z');
    expect(nextDueCheck(chain.state!)).toBe(Date.parse('2026-03-01T00:00:00Z'));
    const done = pay('1', '50000', 'R1', '2026-02-22T00:00:00.000Z');
    expect(done.status).toBe('completed');
    expect(nextDueCheck(done)).toBeUndefined();
  });
});

describe('agreementTimeline', () => {
  it('recovers the action of every committed value, for every kind of transaction', () => {
    const chain = activeChain();
    chain.apply(
      {
        kind: 'confirmPayment',
        agreementId: ID,
        instalmentIndex: '0',
        amount: '1000',
        reference: 'C1',
      },
      creditor,
      '2026-01-10T00:00:00.000Z',
    );
    chain.apply(
      {
        kind: 'recordPayment',
        agreementId: ID,
        instalmentIndex: '0',
        amount: '2000',
        reference: 'B1',
      },
      bank,
      '2026-01-11T00:00:00.000Z',
    );
    chain.apply({ kind: 'checkDue', agreementId: ID }, gateway, '2026-02-05T00:00:00.000Z');
    chain.apply(
      { kind: 'requestEnforcement', agreementId: ID, applicationDigest: sha('application') },
      creditor,
      '2026-02-06T00:00:00.000Z',
    );
    chain.apply(
      { kind: 'reopenMediation', agreementId: ID, note: { reason: 'enforcement-withdrawn' } },
      court,
      '2026-02-07T00:00:00.000Z',
    );
    chain.apply({ kind: 'checkDue', agreementId: ID }, gateway, '2026-02-11T00:00:00.000Z');
    chain.apply(
      { kind: 'requestEnforcement', agreementId: ID, applicationDigest: sha('application 2') },
      creditor,
      '2026-02-12T00:00:00.000Z',
    );
    chain.apply(
      { kind: 'acknowledgeFiling', agreementId: ID, caseNumber: '(2026)京0105执3号' },
      court,
      '2026-02-13T00:00:00.000Z',
    );
    const other = activeChain();
    other.apply(
      { kind: 'terminate', agreementId: ID, reason: 'withdrawn' },
      debtor,
      '2026-01-05T00:00:00.000Z',
    );
    other.apply(
      { kind: 'terminate', agreementId: ID, reason: 'withdrawn' },
      creditor,
      '2026-01-06T00:00:00.000Z',
    );

    for (const run of [chain, other]) {
      const timeline = agreementTimeline(run.history);
      expect(timeline.map((entry) => entry.action)).toEqual(run.actions);
      expect(timeline.map((entry) => entry.to)).toEqual(run.history.map((h) => h.value!.status));
      expect(timeline[0]!.from).toBeNull();
      expect(timeline.every((entry) => entry.details.length > 0)).toBe(true);
    }
    const details = agreementTimeline(chain.history).flatMap((entry) => entry.details);
    expect(details).toContain(
      'instalment 0: 10.00 CNY (reference C1) confirmed by LawOrg/creditor-1',
    );
    expect(details).toContain('defaulted: instalment 0 overdue since 2026-02-04T00:00:00.000Z');
    expect(details).toContain('enforcement case filed under (2026)京0105执3号 by CourtOrg/judge-1');
    expect(agreementTimeline(other.history).at(-1)!.details).toContain(
      'terminated: every party asked to',
    );
  });
});

describe('formatAmount', () => {
  it('writes minor units in the currency’s decimals', () => {
    expect(formatAmount(150_000, 'CNY')).toBe('1500.00 CNY');
    expect(formatAmount(5, 'CNY')).toBe('0.05 CNY');
    expect(formatAmount(0, 'USD')).toBe('0.00 USD');
    expect(formatAmount(5, 'JPY')).toBe('5 JPY');
    expect(formatAmount(1, 'KWD')).toBe('0.001 KWD');
    expect(formatAmount(999_999_999_999_999, 'CNY')).toBe('9999999999999.99 CNY');
  });
});
