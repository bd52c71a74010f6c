/**
 * No personal data on chain (DESIGN.md §6). The parties of these agreements have names, ID-card
 * numbers, phone numbers and e-mail addresses in an off-chain fixture. The API refuses each of them
 * in every string field that would go on chain; the agreements are then created with salted
 * commitments only and taken through their whole lifecycle, enforcement application included. At
 * the end every key and value of the ledger's LevelDB (world state, history, blocks, transaction
 * index, metadata) and of the node's agreement store is read back and searched for the fixture.
 */

import { createHash } from 'node:crypto';
import path from 'node:path';
import { Level } from 'level';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  act,
  activeAgreement,
  expectOk,
  makeAgreementApp,
  termsFor,
  type AgreementApp,
} from './agreement-helpers';
import { postJson } from './helpers';

/** Off-chain identity documents: what must never reach the chain. */
const FIXTURE = {
  creditor: {
    name: '张三丰',
    idNumber: '11010519491231002X',
    phone: '13800138000',
    email: 'zhangsanfeng@example.cn',
  },
  debtor: {
    name: '欧阳修文',
    idNumber: '440308199001011234',
    phone: '+86 139-1234-5678',
    email: 'ouyang@example.com',
  },
  witness: {
    name: 'Li Si',
    idNumber: '110105800101123',
    phone: '18612345678',
    email: 'lisi@qq.com',
  },
};

const PERSONAL: string[] = Object.values(FIXTURE).flatMap((person) => Object.values(person));

/** A salted commitment to a person: what goes on chain instead (the salt stays off chain). */
function commitment(person: { name: string; idNumber: string }, salt: string): string {
  return `sha256:${createHash('sha256').update(`${salt}|${person.name}|${person.idNumber}`).digest('hex')}`;
}

/** The forms a value could take in stored bytes: as is, JSON-escaped, digits without separators. */
function forms(value: string): string[] {
  const escaped = JSON.stringify(value).slice(1, -1);
  const ascii = [...value]
    .map((c) =>
      c.charCodeAt(0) > 0x7e ? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}` : c,
    )
    .join('');
  const digits = /^[+\d\s-]+$/.test(value) ? [value.replace(/[\s+-]/g, '')] : [];
  return [...new Set([value, escaped, ascii, ...digits])];
}

async function everythingIn(location: string): Promise<string[]> {
  const db = new Level<string, string>(location, { valueEncoding: 'utf8' });
  await db.open();
  const texts: string[] = [];
  try {
    for await (const [key, value] of db.iterator()) texts.push(key, value);
  } finally {
    await db.close();
  }
  return texts;
}

describe('personal data never reaches the chain', () => {
  let t: AgreementApp;
  beforeEach(async () => {
    t = await makeAgreementApp();
  });
  afterEach(async () => {
    await t.close();
  });

  it('refuses a name, an ID number, a phone number or an e-mail address in every on-chain field', async () => {
    const base = termsFor('med-pii-0');
    const termFields: Array<[string, (value: string) => unknown]> = [
      ['/agreementId', (v) => ({ ...base, agreementId: v })],
      [
        '/parties/0/org',
        (v) => ({ ...base, parties: [{ ...base.parties[0], org: v }, base.parties[1]] }),
      ],
      [
        '/parties/0/account',
        (v) => ({ ...base, parties: [{ ...base.parties[0], account: v }, base.parties[1]] }),
      ],
      [
        '/parties/1/identityCommitment',
        (v) => ({
          ...base,
          parties: [base.parties[0], { ...base.parties[1], identityCommitment: v }],
        }),
      ],
      [
        '/instalments/0/currency',
        (v) => ({ ...base, instalments: [{ ...base.instalments[0], currency: v }] }),
      ],
      [
        '/instalments/0/dueTime',
        (v) => ({ ...base, instalments: [{ ...base.instalments[0], dueTime: v }] }),
      ],
      ['/documentDigest', (v) => ({ ...base, documentDigest: v })],
      ['/mediationBody/org', (v) => ({ ...base, mediationBody: { org: v } })],
      [
        '/mediationBody/reference',
        (v) => ({ ...base, mediationBody: { org: 'MediationOrg', reference: v } }),
      ],
    ];
    for (const value of PERSONAL) {
      for (const [pointer, build] of termFields) {
        const response = await postJson(t.app, '/v1/agreements', t.cast.mediator, build(value));
        expect([pointer, value, response.statusCode, response.json().code]).toEqual([
          pointer,
          value,
          400,
          'VALIDATION_FAILED',
        ]);
        expect(response.json().fields.map((f: { path: string }) => f.path)).toContain(pointer);
      }
    }
    // ... and in the arguments of the other transactions.
    await activeAgreement(t, 'med-pii-1');
    for (const value of PERSONAL) {
      for (const [key, action, body, pointer] of [
        [t.cast.creditor, 'sign', { documentDigest: value }, '/documentDigest'],
        [t.cast.court, 'confirm', { caseNumber: value }, '/caseNumber'],
        [
          t.cast.bank,
          'payments',
          { instalmentIndex: 0, amount: 1, reference: value },
          '/reference',
        ],
        [
          t.cast.creditor,
          'payment-confirmations',
          { instalmentIndex: 0, amount: 1, reference: value },
          '/reference',
        ],
        [t.cast.court, 'filing', { caseNumber: value }, '/caseNumber'],
        [t.cast.court, 'reopen', { reason: 'other', reference: value }, '/reference'],
        [t.cast.court, 'terminate', { reason: value }, '/reason'],
      ] as const) {
        const response = await act(t, key, 'med-pii-1', action, body);
        expect([action, value, response.statusCode, response.json().code]).toEqual([
          action,
          value,
          400,
          'VALIDATION_FAILED',
        ]);
        expect(response.json().fields.map((f: { path: string }) => f.path)).toContain(pointer);
      }
    }
    // A party whose account is a phone number cannot even be listed.
    const listed = await t.app.inject({
      method: 'GET',
      url: `/v1/agreements?org=LawOrg&account=${encodeURIComponent(FIXTURE.creditor.phone)}`,
      headers: { authorization: `Bearer ${t.cast.court}` },
    });
    expect([listed.statusCode, listed.json().code]).toEqual([400, 'VALIDATION_FAILED']);
  });

  it('keeps only identifiers and commitments in the stored chain and the node store, through a whole lifecycle', async () => {
    const parties = (id: string) => {
      const terms = termsFor(id);
      return {
        ...terms,
        parties: [
          { ...terms.parties[0]!, identityCommitment: commitment(FIXTURE.creditor, `s1-${id}`) },
          { ...terms.parties[1]!, identityCommitment: commitment(FIXTURE.debtor, `s2-${id}`) },
        ],
      };
    };
    // One agreement defaults and goes to enforcement; one is paid off.
    await activeAgreement(t, 'med-pii-2', parties('med-pii-2'));
    await activeAgreement(t, 'med-pii-3', parties('med-pii-3'));
    await expectOk(
      act(t, t.cast.bank, 'med-pii-2', 'payments', {
        instalmentIndex: 0,
        amount: 1000,
        reference: 'ICBC:1',
      }),
    );
    t.clock.set('2026-01-31T00:00:00Z');
    for (const [index, amount, reference] of [
      [0, 300_000, 'ICBC:2'],
      [1, 200_000, 'ICBC:3'],
    ] as const) {
      await expectOk(
        act(t, t.cast.bank, 'med-pii-3', 'payments', { instalmentIndex: index, amount, reference }),
      );
    }
    t.clock.set('2026-02-05T00:00:00Z');
    await t.app.agreements.scheduler.runDue();
    const enforced = await act(t, t.cast.creditor, 'med-pii-2', 'enforcement');
    expect(enforced.statusCode).toBe(200);
    await expectOk(
      act(t, t.cast.court, 'med-pii-2', 'filing', { caseNumber: '(2026)京0105执9号' }),
    );
    await t.stop();

    const stored = [
      ...(await everythingIn(path.join(t.dir, 'ledger'))),
      ...(await everythingIn(path.join(t.dir, 'agreements'))),
    ];
    const text = stored.join('\n');
    // The store is not empty: the agreements, their history and the application are there.
    expect(text).toContain('med-pii-2');
    expect(text).toContain(commitment(FIXTURE.creditor, 's1-med-pii-2'));
    expect(text).toContain('judicial-evidence-enforcement-application');
    for (const value of PERSONAL) {
      for (const form of forms(value))
        expect(text.includes(form), `${value} as ${form}`).toBe(false);
    }
    // Not even one character of the names: the only CJK stored is in case numbers.
    const cjk = new Set(text.match(/\p{Script=Han}/gu) ?? []);
    for (const name of [FIXTURE.creditor.name, FIXTURE.debtor.name])
      expect([...name].filter((c) => cjk.has(c))).toEqual([]);
  });
});
