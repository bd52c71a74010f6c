/**
 * `evidence agreement show`: against a real gateway (the embedded ledger, listening on 127.0.0.1
 * port 0) for the output, and against stub servers for what a gateway must not be trusted with.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgreementState } from '../../core/agreement';
import type { TimelineEntry } from '../../core/agreement-timeline';
import {
  act,
  activeAgreement,
  expectOk,
  makeAgreementApp,
  type AgreementApp,
} from '../gateway/agreement-helpers';
import { deadUrl, forbiddenFetch, runCli, startServer, tempDir } from './cli-harness';

const temp = tempDir();
afterAll(() => temp.cleanup());

const ID = 'med-2026-0400';

describe('evidence agreement show (real gateway)', () => {
  let t: AgreementApp;
  let url: string;
  let filed: AgreementState;

  beforeAll(async () => {
    t = await makeAgreementApp();
    url = await t.app.listen({ host: '127.0.0.1', port: 0 });
    await activeAgreement(t, ID);
    t.clock.set('2026-01-20T00:00:00Z');
    await expectOk(
      act(t, t.cast.bank, ID, 'payments', {
        instalmentIndex: 0,
        amount: 100_000,
        reference: 'ICBC:20260120-1',
      }),
    );
    t.clock.set('2026-02-05T00:00:00Z');
    await t.app.agreements.scheduler.runDue();
    await expectOk(act(t, t.cast.creditor, ID, 'enforcement'));
    filed = (
      await expectOk(act(t, t.cast.court, ID, 'filing', { caseNumber: '(2026)京0105执5号' }))
    ).agreement;
  });
  afterAll(async () => {
    await t.close();
  });

  const show = (...extra: string[]) => ['agreement', 'show', ID, '--gateway', url, ...extra];

  it('prints status, parties, schedule with payments, default, enforcement and the timeline', async () => {
    const run = await runCli(show('--key', t.cast.creditor), {
      cwd: temp.dir,
      fetch: globalThis.fetch,
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const out = run.stdout;
    expect(out).toMatch(/^agreement {4}med-2026-0400$/m);
    expect(out).toMatch(/^status {7}enforcement-filed$/m);
    expect(out).toMatch(
      /^ {2}0 {2}creditor LawOrg\/creditor-1 {2}sha256:[0-9a-f]{12}…[0-9a-f]{4} {2}signed /m,
    );
    expect(out).toMatch(/^ {2}1 {2}debtor {3}PlatformOrg\/debtor-1 /m);
    expect(out).toMatch(
      /^ {2}#0 {2}due 2026-02-01T00:00:00Z +3000\.00 CNY {2}overdue +paid 1000\.00 CNY$/m,
    );
    expect(out).toMatch(
      /^ {2}#1 {2}due 2026-03-01T00:00:00Z +2000\.00 CNY {2}scheduled +paid 0\.00 CNY$/m,
    );
    expect(out).toContain('1000.00 CNY  ref ICBC:20260120-1  recorded by BankOrg/settlement');
    expect(out).toContain(`  instalment 0 overdue beyond grace since 2026-02-04T00:00:00.000Z`);
    expect(out).toContain(`  recorded 2026-02-05T00:00:00.000Z (tx ${filed.default!.txId})`);
    expect(out).toContain(`  application ${filed.enforcement!.applicationDigest}`);
    expect(out).toContain(`  filed under (2026)京0105执5号`);
    const history = out.slice(out.indexOf('\nHistory\n'));
    expect([...history.matchAll(/^ {2}\S+ {2}(\w+) /gm)].map((m) => m[1])).toEqual([
      'create',
      'sign',
      'sign',
      'recordPayment',
      'checkDue',
      'requestEnforcement',
      'acknowledgeFiling',
    ]);
    expect(history).toContain(`      tx ${filed.updatedTxId}`);
    expect(history).toContain(
      '      defaulted: instalment 0 overdue since 2026-02-04T00:00:00.000Z',
    );
  });

  it('--json prints the agreement and its timeline; the key may come from EVIDENCE_API_KEY', async () => {
    const run = await runCli([...show(), '--json'], {
      cwd: temp.dir,
      fetch: globalThis.fetch,
      env: { EVIDENCE_API_KEY: t.cast.court },
    });
    expect(run.status).toBe(0);
    const body = run.json<{
      gateway: string;
      agreement: AgreementState;
      timeline: TimelineEntry[];
    }>();
    expect(body.gateway).toBe(`${url}/`);
    expect(body.agreement).toEqual(filed);
    expect(body.timeline.map((e) => [e.action, e.to])).toEqual([
      ['create', 'draft'],
      ['sign', 'draft'],
      ['sign', 'active'],
      ['recordPayment', 'active'],
      ['checkDue', 'defaulted'],
      ['requestEnforcement', 'enforcement-requested'],
      ['acknowledgeFiling', 'enforcement-filed'],
    ]);
  });

  it('exits 1 AGREEMENT_NOT_FOUND for an unknown agreement or one the key may not see', async () => {
    for (const [id, key] of [
      ['med-none', t.cast.court],
      [ID, t.cast.stranger],
    ] as const) {
      const run = await runCli(['agreement', 'show', id, '--gateway', url, '--key', key], {
        cwd: temp.dir,
        fetch: globalThis.fetch,
      });
      expect([run.status, run.errorCodes]).toEqual([1, ['AGREEMENT_NOT_FOUND']]);
    }
    const bad = await runCli(show('--key', 'ek_wrong'), { cwd: temp.dir, fetch: globalThis.fetch });
    expect([bad.status, bad.errorCodes]).toEqual([2, ['UNAUTHENTICATED']]);
  });
});

describe('evidence agreement show (flags and untrusted gateways)', () => {
  it('refuses bad command lines with USAGE (exit 2) before any network use', async () => {
    for (const argv of [
      ['agreement'],
      ['agreement', 'list'],
      ['agreement', 'show'],
      ['agreement', 'show', ID],
      ['agreement', 'show', ID, '--gateway', 'http://127.0.0.1:9'],
      ['agreement', 'show', '12345', '--gateway', 'http://127.0.0.1:9', '--key', 'k'],
      ['agreement', 'show', ID, 'extra', '--gateway', 'http://127.0.0.1:9', '--key', 'k'],
      ['agreement', 'show', ID, '--gateway', 'ftp://x', '--key', 'k'],
      ['agreement', 'show', ID, '--gateway', 'http://127.0.0.1:9', '--key', 'k', '--bogus'],
    ]) {
      const fetch = forbiddenFetch();
      const run = await runCli(argv, { cwd: temp.dir, fetch });
      expect([argv.join(' '), run.status, run.errorCodes]).toEqual([argv.join(' '), 2, ['USAGE']]);
      expect(fetch.calls).toHaveLength(0);
    }
  });

  it('exits 3 GATEWAY_RESPONSE_INVALID when the answer is not an agreement, listing the bad fields', async () => {
    const server = await startServer(() => ({
      status: 200,
      body: { agreement: { agreementId: ID, status: 'sunny' }, history: 'none' },
    }));
    try {
      const run = await runCli(
        ['agreement', 'show', ID, '--gateway', server.url, '--key', 'ek_x', '--json'],
        { cwd: temp.dir, fetch: globalThis.fetch },
      );
      expect(run.status).toBe(3);
      const error = run.json<{ error: { code: string; fields: { path: string }[] } }>().error;
      expect(error.code).toBe('GATEWAY_RESPONSE_INVALID');
      expect(error.fields.map((f) => f.path)).toContain('/agreement/status');
      expect(error.fields.map((f) => f.path)).toContain('/history');
      expect(server.requests[0]).toMatchObject({ method: 'GET', url: `/v1/agreements/${ID}` });
      expect(server.requests[0]!.headers.authorization).toBe('Bearer ek_x');
    } finally {
      await server.close();
    }
  });

  it('exits 3 NETWORK_ERROR when the gateway cannot be reached', async () => {
    const run = await runCli(
      ['agreement', 'show', ID, '--gateway', await deadUrl(), '--key', 'k'],
      {
        cwd: temp.dir,
        fetch: globalThis.fetch,
      },
    );
    expect([run.status, run.errorCodes]).toEqual([3, ['NETWORK_ERROR']]);
  });
});
