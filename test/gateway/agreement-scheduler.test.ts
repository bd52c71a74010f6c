/**
 * The agreement scheduler on the real embedded ledger: it submits `checkDue` by itself right after
 * each due time and end of grace, and after a restart it checks at once every agreement whose
 * deadline passed while the node was down, including one whose commit the old process never
 * recorded in its watch list.
 */

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { nextDueCheck, type AgreementState } from '../../core/agreement';
import { canonicalJson } from '../../core/canonical';
import {
  DOCUMENT,
  PEOPLE,
  activeAgreement,
  makeAgreementApp,
  read,
  termsFor,
  type AgreementApp,
} from './agreement-helpers';

interface HistoryBody {
  agreement: AgreementState;
  history: { txId: string; action: string; value: AgreementState }[];
}

async function stateOf(t: AgreementApp, id: string): Promise<HistoryBody> {
  const response = await read(t, id);
  expect(response.statusCode).toBe(200);
  return response.json() as HistoryBody;
}

/** Polls until `check` holds (real time), failing after `ms`. */
async function eventually<T>(probe: () => Promise<T>, check: (value: T) => boolean, ms = 10_000) {
  const until = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (check(value)) return value;
    if (Date.now() > until) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('agreement scheduler', () => {
  let t: AgreementApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('watches an active agreement with its next deadline: the due time, then the end of grace', async () => {
    t = await makeAgreementApp();
    const state = await activeAgreement(t, 'med-2026-0200');
    const scheduler = t.app.agreements.scheduler;
    expect(scheduler.watching).toBe(1);
    expect(scheduler.nextDeadline()).toBe(Date.parse('2026-02-01T00:00:00Z'));
    expect(nextDueCheck(state)).toBe(Date.parse('2026-02-01T00:00:00Z'));
    // Nothing is due yet: a run submits nothing and the chain does not grow.
    const height = (await t.ledger.info()).height;
    expect(await scheduler.runDue()).toBe(0);
    expect((await t.ledger.info()).height).toBe(height);
    t.clock.set('2026-02-01T00:00:00Z');
    expect(await scheduler.runDue()).toBe(1);
    expect((await stateOf(t, 'med-2026-0200')).agreement.instalments[0]!.status).toBe('due');
    expect(scheduler.nextDeadline()).toBe(Date.parse('2026-02-04T00:00:00.001Z'));
  });

  it('submits checkDue on its own timer right after the due time and the end of grace', async () => {
    t = await makeAgreementApp({ config: { agreementCheckIntervalMs: 50 } });
    const id = 'med-2026-0201';
    await activeAgreement(t, id);
    t.clock.set('2026-02-01T00:00:00Z');
    const due = await eventually(
      () => stateOf(t!, id),
      (body) => body.agreement.instalments[0]!.status === 'due',
    );
    expect(due.history.at(-1)!.action).toBe('checkDue');
    t.clock.set('2026-02-04T00:00:00.001Z');
    const defaulted = await eventually(
      () => stateOf(t!, id),
      (body) => body.agreement.status === 'defaulted',
    );
    expect(defaulted.agreement.default).toMatchObject({
      instalmentIndex: 0,
      since: '2026-02-04T00:00:00.000Z',
      detectedAt: '2026-02-04T00:00:00.001Z',
    });
    // The scheduler submitted it as the node itself.
    const tx = await t.ledger.transaction(defaulted.agreement.default!.txId);
    expect(tx?.header.creator).toEqual({ mspId: 'NodeOrg', id: 'gateway', role: 'gateway' });
    expect(tx?.header.fn).toBe('checkDue');
  });

  it('after a restart past a due date and its grace, defaults the agreement without any call', async () => {
    t = await makeAgreementApp();
    const id = 'med-2026-0202';
    await activeAgreement(t, id);
    await activeAgreement(t, 'med-2026-0203');
    // Paid in full: it must not default, but stays watched for instalment 1.
    await t.app.inject({
      method: 'POST',
      url: '/v1/agreements/med-2026-0203/payments',
      headers: { authorization: `Bearer ${t.cast.bank}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ instalmentIndex: 0, amount: 300_000, reference: 'ICBC:9' }),
    });
    await t.stop();
    // The node is down while instalment 0 falls due and its grace period ends.
    t.clock.set('2026-02-10T00:00:00Z');
    await t.restart();
    await t.app.agreements.scheduler.idle();
    const body = await stateOf(t, id);
    expect(body.agreement.status).toBe('defaulted');
    expect(body.agreement.default).toMatchObject({
      instalmentIndex: 0,
      since: '2026-02-04T00:00:00.000Z',
      detectedAt: '2026-02-10T00:00:00.000Z',
    });
    expect(body.history.map((entry) => entry.action)).toEqual([
      'create',
      'sign',
      'sign',
      'checkDue',
    ]);
    const tx = await t.ledger.transaction(body.agreement.default!.txId);
    expect(tx?.header.creator.role).toBe('gateway');
    const paid = await stateOf(t, 'med-2026-0203');
    expect(paid.agreement.status).toBe('active');
    expect(paid.agreement.instalments.map((i) => i.status)).toEqual(['paid', 'scheduled']);
    expect(t.app.agreements.scheduler.nextDeadline()).toBe(Date.parse('2026-03-01T00:00:00Z'));
  });

  it('after a crash between a commit and its watch-list update, catches up from the chain', async () => {
    t = await makeAgreementApp();
    const id = 'med-2026-0204';
    // The gateway recorded its intent, then the transactions committed but the process died before
    // it learnt of them: simulated by submitting straight to the ledger.
    await t.app.agreements.scheduler.intend(id);
    const as = (who: (typeof PEOPLE)[keyof typeof PEOPLE]) => ({
      mspId: who.org,
      id: who.account,
      role: who.role,
    });
    await t.ledger.submit(
      'agreement',
      'create',
      [canonicalJson(termsFor(id))],
      as(PEOPLE.mediator),
    );
    await t.ledger.submit('agreement', 'sign', [id, DOCUMENT], as(PEOPLE.creditor));
    await t.ledger.submit('agreement', 'sign', [id, DOCUMENT], as(PEOPLE.debtor));
    // An intent whose transaction never committed is forgotten.
    await t.app.agreements.scheduler.intend('med-never');
    await t.stop();
    t.clock.set('2026-02-04T00:00:01Z');
    await t.restart();
    await t.app.agreements.scheduler.idle();
    expect((await stateOf(t, id)).agreement.status).toBe('defaulted');
    expect(t.app.agreements.scheduler.watching).toBe(1);
  });

  it('rebuilds its watch list from the chain when its own store was lost, and defaults on time', async () => {
    t = await makeAgreementApp();
    await activeAgreement(t, 'med-2026-0206');
    await activeAgreement(t, 'med-2026-0207');
    await t.app.inject({
      method: 'POST',
      url: '/v1/agreements/med-2026-0207/terminate',
      headers: { authorization: `Bearer ${t.cast.court}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ reason: 'court-order' }),
    });
    await t.stop();
    await fs.rm(path.join(t.dir, 'agreements'), { recursive: true, force: true });
    t.clock.set('2026-02-04T00:00:01Z');
    await t.restart();
    await t.app.agreements.scheduler.idle();
    expect((await stateOf(t, 'med-2026-0206')).agreement.status).toBe('defaulted');
    // The terminated one was looked at once and dropped.
    expect(t.app.agreements.scheduler.watching).toBe(1);
  });

  it('stops watching final agreements, and keeps drafts without a deadline', async () => {
    t = await makeAgreementApp();
    await t.app.inject({
      method: 'POST',
      url: '/v1/agreements',
      headers: { authorization: `Bearer ${t.cast.mediator}`, 'content-type': 'application/json' },
      payload: JSON.stringify(termsFor('med-2026-0205')),
    });
    expect(t.app.agreements.scheduler.watching).toBe(1);
    expect(t.app.agreements.scheduler.nextDeadline()).toBeUndefined();
    await t.app.inject({
      method: 'POST',
      url: '/v1/agreements/med-2026-0205/terminate',
      headers: { authorization: `Bearer ${t.cast.court}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ reason: 'court-order' }),
    });
    expect(t.app.agreements.scheduler.watching).toBe(0);
    await t.restart();
    await t.app.agreements.scheduler.idle();
    expect(t.app.agreements.scheduler.watching).toBe(0);
  });
});
