/**
 * Test harness for the agreement routes: the app over the REAL embedded ledger in a temporary data
 * directory, with a clock the test moves (the ledger's chain time and the scheduler follow it),
 * keys for the usual cast (creditor, debtor, court, bank, mediator, stranger), terms, and a
 * restart that closes app and ledger and reopens the same directory.
 */

import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { AgreementState, AgreementTerms } from '../../core/agreement';
import { buildApp } from '../../gateway/app';
import { openKeyStore, type KeyRole, type KeyStore } from '../../gateway/auth/api-keys';
import { loadConfig, type Config } from '../../gateway/config';
import {
  openEmbeddedLedger,
  type EmbeddedLedgerExtras,
} from '../../gateway/ledger/embedded-ledger';
import type { Ledger } from '../../gateway/ledger/ledger';
import { getWith, postJson, tempDir } from './helpers';

export const sha = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;
export const DOCUMENT = sha('signed mediation agreement');
export const START = '2026-01-01T00:00:00.000Z';
export const DAY = 86_400_000;
export const GRACE_SECONDS = 3 * 86_400;

/** A clock the test moves; chain time is `max(clock, last block time)`. */
export interface TestClock {
  now: number;
  set(iso: string): void;
  advance(ms: number): void;
  readonly fn: () => number;
}

export function testClock(iso = START): TestClock {
  const clock: TestClock = {
    now: Date.parse(iso),
    set: (at) => {
      clock.now = Date.parse(at);
    },
    advance: (ms) => {
      clock.now += ms;
    },
    fn: () => clock.now,
  };
  return clock;
}

export interface Cast {
  readonly creditor: string;
  readonly debtor: string;
  readonly court: string;
  readonly bank: string;
  readonly mediator: string;
  readonly stranger: string;
  readonly admin: string;
}

/** Who the keys of {@link Cast} belong to. */
export const PEOPLE = {
  creditor: { org: 'LawOrg', account: 'creditor-1', role: 'depositor' },
  debtor: { org: 'PlatformOrg', account: 'debtor-1', role: 'platform' },
  court: { org: 'CourtOrg', account: 'judge-1', role: 'court' },
  bank: { org: 'BankOrg', account: 'settlement', role: 'payment' },
  mediator: { org: 'MediationOrg', account: 'mediator-1', role: 'platform' },
  stranger: { org: 'OtherOrg', account: 'someone', role: 'depositor' },
} as const satisfies Record<string, { org: string; account: string; role: KeyRole }>;

export interface AgreementApp {
  app: FastifyInstance;
  ledger: Ledger & EmbeddedLedgerExtras;
  keys: KeyStore;
  config: Config;
  readonly dir: string;
  readonly clock: TestClock;
  readonly cast: Cast;
  /** Closes app and ledger and opens both again on the same directory (keys are kept). */
  restart(): Promise<void>;
  /** Closes app and ledger, keeping the directory. */
  stop(): Promise<void>;
  close(): Promise<void>;
}

export interface AgreementAppOptions {
  readonly config?: Partial<Config>;
  readonly clock?: TestClock;
}

async function open(dir: string, clock: TestClock, overrides: Partial<Config>) {
  const config = loadConfig(
    {},
    {
      dataDir: dir,
      agreementCheckIntervalMs: 3_600_000,
      logLevel: 'silent',
      // No load shedding: parallel test files stall the event loop, which is not overload here.
      maxEventLoopDelayMs: 0,
      ...overrides,
    },
  );
  const ledger = await openEmbeddedLedger({ dataDir: dir, org: config.org, clock: clock.fn });
  const { keys, adminKeyFile } = await openKeyStore({
    file: config.keysFile,
    org: config.org,
    adminKeyFile: path.join(dir, 'admin.key'),
  });
  const app = buildApp(config, { ledger, keys, clock: clock.fn });
  await app.ready();
  return { config, ledger, keys, app, adminKeyFile };
}

export async function makeAgreementApp(options: AgreementAppOptions = {}): Promise<AgreementApp> {
  const dir = await tempDir('agreements-test-');
  const clock = options.clock ?? testClock();
  const opened = await open(dir, clock, options.config ?? {});
  const admin = (await fs.readFile(opened.adminKeyFile as string, 'utf8')).trim();
  const key = async (who: { org: string; account: string; role: KeyRole }) =>
    (await opened.keys.create(who)).key;
  const cast: Cast = {
    creditor: await key(PEOPLE.creditor),
    debtor: await key(PEOPLE.debtor),
    court: await key(PEOPLE.court),
    bank: await key(PEOPLE.bank),
    mediator: await key(PEOPLE.mediator),
    stranger: await key(PEOPLE.stranger),
    admin,
  };
  let stopped = false;
  const t: AgreementApp = {
    ...opened,
    dir,
    clock,
    cast,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await t.app.close();
      await t.ledger.close();
    },
    restart: async () => {
      await t.stop();
      const again = await open(dir, clock, options.config ?? {});
      Object.assign(t, { app: again.app, ledger: again.ledger, keys: again.keys });
      stopped = false;
    },
    close: async () => {
      await t.stop();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
  return t;
}

/** Two instalments: 3000.00 CNY due 2026-02-01 and 2000.00 CNY due 2026-03-01, grace 3 days. */
export function termsFor(id: string, overrides: Partial<AgreementTerms> = {}): AgreementTerms {
  return {
    agreementId: id,
    parties: [
      {
        role: 'creditor',
        org: PEOPLE.creditor.org,
        account: PEOPLE.creditor.account,
        identityCommitment: sha(`salt-1|${id}|creditor`),
      },
      {
        role: 'debtor',
        org: PEOPLE.debtor.org,
        account: PEOPLE.debtor.account,
        identityCommitment: sha(`salt-2|${id}|debtor`),
      },
    ],
    instalments: [
      { amount: 300_000, currency: 'CNY', dueTime: '2026-02-01T00:00:00Z' },
      { amount: 200_000, currency: 'CNY', dueTime: '2026-03-01T00:00:00Z' },
    ],
    gracePeriodSeconds: GRACE_SECONDS,
    documentDigest: DOCUMENT,
    mediationBody: { org: PEOPLE.mediator.org, reference: '(2026)京0105民诉前调88号' },
    requiresCourtConfirmation: false,
    ...overrides,
  };
}

export interface TransitionBody {
  agreement: AgreementState;
  transition: {
    agreementId: string;
    from: string | null;
    to: string;
    action: string;
    txId: string;
    time: string;
    blockNumber: number;
  } | null;
}

/** POST to `/v1/agreements/<id>/<action>` (or `/v1/agreements` for create). */
export function act(
  t: AgreementApp,
  key: string | undefined,
  id: string | undefined,
  action: string | undefined,
  body: unknown = {},
): Promise<LightMyRequestResponse> {
  const url = id === undefined ? '/v1/agreements' : `/v1/agreements/${id}/${action}`;
  return postJson(t.app, url, key, body);
}

/** Creates (as the mediator) and has both parties sign: an active agreement. */
export async function activeAgreement(
  t: AgreementApp,
  id: string,
  overrides: Partial<AgreementTerms> = {},
): Promise<AgreementState> {
  await expectOk(act(t, t.cast.mediator, undefined, undefined, termsFor(id, overrides)), 201);
  t.clock.advance(3_600_000);
  await expectOk(act(t, t.cast.creditor, id, 'sign', { documentDigest: DOCUMENT }));
  t.clock.advance(3_600_000);
  const signed = await expectOk(act(t, t.cast.debtor, id, 'sign', { documentDigest: DOCUMENT }));
  return signed.agreement;
}

/** The response's body once its status is `status`; fails with the body otherwise. */
export async function expectOk(
  pending: Promise<LightMyRequestResponse>,
  status = 200,
): Promise<TransitionBody> {
  const response = await pending;
  if (response.statusCode !== status)
    throw new Error(`expected ${status}, got ${response.statusCode}: ${response.body}`);
  return response.json() as TransitionBody;
}

export function read(t: AgreementApp, id: string, key = t.cast.court) {
  return getWith(t.app, `/v1/agreements/${id}`, key);
}
