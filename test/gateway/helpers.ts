/**
 * Test harness for the gateway: the app over a fake ledger and a keys file in a temporary
 * directory, principals of every role, and evidence items made from random bytes.
 */

import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { digestBytes, type Digest } from '../../core/digest';
import type { EvidenceItem } from '../../core/evidence';
import { buildApp, type AppDeps } from '../../gateway/app';
import { openKeyStore, type KeyRole, type KeyStore } from '../../gateway/auth/api-keys';
import { loadConfig, type Config } from '../../gateway/config';
import type { ChainInfo, Ledger } from '../../gateway/ledger/ledger';
import { FakeLedger, type FakeLedgerOptions } from './fake-ledger';

export interface TestApp {
  readonly app: FastifyInstance;
  readonly ledger: FakeLedger;
  readonly keys: KeyStore;
  readonly config: Config;
  readonly dir: string;
  readonly adminKey: string;
  /** A new API key for `role` (org and account default to something unique). */
  keyFor(role: KeyRole, org?: string, account?: string): Promise<string>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  readonly config?: Partial<Config>;
  readonly ledger?: FakeLedgerOptions;
  readonly maxQueued?: number;
  /** More dependencies of the app (audit log, clocks, logger). */
  readonly deps?: Omit<Partial<AppDeps>, 'ledger' | 'keys' | 'maxQueued'>;
}

export async function tempDir(prefix = 'gateway-test-'): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), prefix));
}

/** What every test app starts from, in `dir`: its configuration and its API keys. */
export interface TestNodeBase {
  readonly config: Config;
  readonly keys: KeyStore;
  /** The first admin key, as the node writes it to `<dir>/admin.key`. */
  readonly adminKey: string;
  /** A new API key for `role` (org and account default to something unique). */
  keyFor(role: KeyRole, org?: string, account?: string): Promise<string>;
}

export async function testNodeBase(dir: string, config?: Partial<Config>): Promise<TestNodeBase> {
  // Load shedding and rate limits are off unless a test asks for them: a test's own bursts and
  // synchronous work are not load (test/gateway/limits.test.ts covers both).
  const loaded = loadConfig(
    {},
    { dataDir: dir, maxEventLoopDelayMs: 0, rateLimitMax: 1_000_000, ...config },
  );
  const { keys, adminKeyFile } = await openKeyStore({
    file: loaded.keysFile,
    org: loaded.org,
    adminKeyFile: path.join(dir, 'admin.key'),
  });
  const adminKey = (await fs.readFile(adminKeyFile as string, 'utf8')).trim();
  let counter = 0;
  return {
    config: loaded,
    keys,
    adminKey,
    keyFor: async (role, org = 'PlatformOrg', account) => {
      counter += 1;
      return (await keys.create({ org, account: account ?? `${role}-${counter}`, role })).key;
    },
  };
}

export async function makeTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const dir = await tempDir();
  const { config, keys, adminKey, keyFor } = await testNodeBase(dir, options.config);
  const ledger = new FakeLedger(options.ledger);
  const app = buildApp(config, {
    ledger,
    keys,
    ...(options.maxQueued === undefined ? {} : { maxQueued: options.maxQueued }),
    ...options.deps,
  });
  await app.ready();
  return {
    app,
    ledger,
    keys,
    config,
    dir,
    adminKey,
    keyFor,
    close: async () => {
      await app.close();
      await ledger.close();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

/** An item for `content` (random bytes by default), with both digests. */
export function itemFor(
  content: Buffer = randomBytes(64),
  extra: Partial<EvidenceItem> = {},
): EvidenceItem {
  const digests = digestBytes(content);
  return { digests: [digests.sha256, digests.sm3 as string] as EvidenceItem['digests'], ...extra };
}

export function bearer(key: string): Record<string, string> {
  return { authorization: `Bearer ${key}` };
}

/** POST JSON with a key. */
export function postJson(
  app: FastifyInstance,
  url: string,
  key: string | undefined,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<LightMyRequestResponse> {
  const options: InjectOptions = {
    method: 'POST',
    url,
    headers: { 'content-type': 'application/json', ...(key ? bearer(key) : {}), ...headers },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  };
  return app.inject(options);
}

export function getWith(
  app: FastifyInstance,
  url: string,
  key?: string,
): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'GET', url, headers: key ? bearer(key) : {} });
}

/**
 * The part of a ledger the anchoring job reads: a chain `chainId` whose tip is block
 * `tip.number` (change it to move the tip), with hash `hashOf(number)` and time `now()`.
 */
export function tipLedger(
  chainId: string,
  tip: { number: number },
  hashOf: (number: number) => Digest,
  now: () => number = Date.now,
): Ledger {
  return {
    chainId,
    info: async (): Promise<ChainInfo> => ({
      kind: 'embedded',
      chainId,
      height: tip.number + 1,
      tipHash: hashOf(tip.number),
      tipTime: new Date(now()).toISOString(),
    }),
  } as unknown as Ledger;
}
