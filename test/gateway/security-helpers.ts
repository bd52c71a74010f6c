/**
 * Helpers of the security tests: request signers of each algorithm, signed `inject()` calls, and
 * the app over the real embedded ledger (with keys, audit log and a captured log).
 */

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { Writable } from 'node:stream';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import pino from 'pino';
import { sm2 } from 'sm-crypto-v2';
import {
  parseRequestPublicKey,
  signRequest,
  type RequestSignatureAlgorithm,
  type RequestSigner,
} from '../../core/request-signing';
import { buildApp, type AppDeps } from '../../gateway/app';
import { openAuditLog, type AuditLog } from '../../gateway/audit/audit-log';
import { type KeyRole, type KeyStore, type PublicKeyInput } from '../../gateway/auth/api-keys';
import type { Config } from '../../gateway/config';
import {
  openEmbeddedLedger,
  type EmbeddedLedgerExtras,
} from '../../gateway/ledger/embedded-ledger';
import type { Ledger } from '../../gateway/ledger/ledger';
import { loggerOptions } from '../../gateway/logging';
import { tempDir, testNodeBase } from './helpers';

export interface TestSigner {
  readonly signer: RequestSigner;
  readonly publicKey: PublicKeyInput;
  readonly keyId: string;
}

/** A fresh key pair of `algorithm`, as a signer and as the input that registers it. */
export function newSigner(algorithm: RequestSignatureAlgorithm, userId?: string): TestSigner {
  let signer: RequestSigner;
  let publicKey: PublicKeyInput;
  if (algorithm === 'sm2-sm3') {
    const pair = sm2.generateKeyPairHex();
    signer = {
      algorithm,
      privateKey: pair.privateKey,
      publicKey: pair.publicKey,
      ...(userId ? { userId } : {}),
    };
    publicKey = { algorithm, key: pair.publicKey, ...(userId ? { userId } : {}) };
  } else {
    const pair =
      algorithm === 'ed25519'
        ? generateKeyPairSync('ed25519')
        : generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    signer = { algorithm, privateKey: pair.privateKey };
    publicKey = {
      algorithm,
      key: pair.publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    };
  }
  const parsed = parseRequestPublicKey(publicKey.algorithm, publicKey.key, publicKey.userId);
  if (Array.isArray(parsed)) throw new Error('test key does not parse');
  return { signer, publicKey, keyId: parsed.keyId };
}

export function nonce(): string {
  return randomBytes(18).toString('base64url');
}

export interface SignedCall {
  readonly method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  readonly url: string;
  readonly body?: unknown;
  readonly timestamp?: number;
  readonly nonce?: string;
  /** Headers to add or override after signing (tampering). */
  readonly headers?: Record<string, string>;
  /** Body bytes to send instead of the signed ones (tampering). */
  readonly sendBody?: string;
}

/** The headers of a signed call, and the body text that was signed. */
export function signedHeaders(
  who: TestSigner,
  call: SignedCall,
  now = Date.now(),
): { headers: Record<string, string>; body: string | undefined } {
  const body = call.body === undefined ? undefined : JSON.stringify(call.body);
  const headers: Record<string, string> = {
    ...signRequest(who.signer, who.keyId, {
      method: call.method,
      target: call.url,
      ...(body === undefined ? {} : { body }),
      timestamp: call.timestamp ?? now,
      nonce: call.nonce ?? nonce(),
    }),
    ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    ...call.headers,
  };
  return { headers, body };
}

/** Sends a signed request through `inject()`. */
export function signedInject(
  app: FastifyInstance,
  who: TestSigner,
  call: SignedCall,
  now?: number,
): Promise<LightMyRequestResponse> {
  const { headers, body } = signedHeaders(who, call, now);
  const payload = call.sendBody ?? body;
  return app.inject({
    method: call.method,
    url: call.url,
    headers,
    ...(payload === undefined ? {} : { payload }),
  });
}

/** A writable that keeps everything pino writes. */
export class LogCapture extends Writable {
  #text = '';

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.#text += chunk.toString('utf8');
    done();
  }

  get text(): string {
    return this.#text;
  }
}

export interface EmbeddedTestApp {
  readonly app: FastifyInstance;
  readonly ledger: Ledger & EmbeddedLedgerExtras;
  readonly keys: KeyStore;
  readonly audit: AuditLog;
  readonly config: Config;
  readonly dir: string;
  readonly adminKey: string;
  readonly log: LogCapture;
  keyFor(role: KeyRole, org?: string, account?: string): Promise<string>;
  close(): Promise<void>;
}

/** The app over the real embedded ledger, with its keys file and audit log in a temp dir. */
export async function makeEmbeddedApp(
  options: {
    readonly config?: Partial<Config>;
    readonly deps?: Omit<Partial<AppDeps>, 'ledger' | 'keys' | 'audit' | 'logger'>;
    readonly logLevel?: Config['logLevel'];
    /** Record requests in the audit log (default true; the log is opened either way). */
    readonly auditHook?: boolean;
  } = {},
): Promise<EmbeddedTestApp> {
  const dir = await tempDir('embedded-app-');
  const { config, keys, adminKey, keyFor } = await testNodeBase(dir, options.config);
  const ledger = await openEmbeddedLedger({ dataDir: dir, org: config.org });
  const audit = await openAuditLog({ dataDir: dir, retentionDays: config.auditRetentionDays });
  const log = new LogCapture();
  const logger = pino(loggerOptions(options.logLevel ?? 'info'), log);
  const app = buildApp(config, {
    ledger,
    keys,
    logger,
    ...(options.auditHook === false ? {} : { audit }),
    ...options.deps,
  });
  await app.ready();
  return {
    app,
    ledger,
    keys,
    audit,
    config,
    dir,
    adminKey,
    log,
    keyFor,
    close: async () => {
      await app.close();
      await audit.close();
      await ledger.close();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}
