/**
 * Principals: who may call the gateway, as which organisation, account and role, and with which
 * credentials. A principal has any of: an API key (simple use), a public key it signs requests
 * with (gateway/auth/signed-request.ts), a TLS client certificate fingerprint (mutual TLS). An
 * administrator creates, updates (role, credentials, `requireSignature`), rotates and revokes
 * principals; every change takes effect for the next request.
 *
 * An API key is `ek_` + base64url(32 random bytes). Only its SHA-256 is stored, next to a random
 * principal id (never derived from the key), so the keys file does not let anyone call the node;
 * public keys and certificate fingerprints are public material. The file is JSON, mode 0600,
 * replaced atomically (temp file, fsync, rename). Lookups go through in-memory maps (key hash,
 * public key id, certificate fingerprint -> principal) rebuilt on every change.
 */

import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { sha256 } from '../../core/digest';
import { ValidationError, StateError, type FieldError } from '../../core/errors';
import { NAME_PATTERN } from '../../core/evidence';
import { ROLES, type Role } from '../../core/evidence-state';
import { NO_PERSONAL_DATA } from '../../core/personal-data';
import {
  REQUEST_SIGNATURE_ALGORITHMS,
  SM2_USER_ID_PATTERN,
  parseRequestPublicKey,
  type RequestPublicKey,
  type RequestSignatureAlgorithm,
} from '../../core/request-signing';
import { schemaErrors } from '../../core/schema';
import { writeWhole } from '../storage/durable-files';

/** Roles a principal can have; `gateway` is the node's own identity and never a principal's. */
export const KEY_ROLES = ROLES.filter(
  (role): role is Exclude<Role, 'gateway'> => role !== 'gateway',
);
export type KeyRole = (typeof KEY_ROLES)[number];

/** The authenticated caller of a request. */
export interface Principal {
  /** The principal's id (historically the API key's id). */
  readonly keyId: string;
  readonly org: string;
  readonly account: string;
  readonly role: KeyRole;
  /** Present (true) when requests must be signed: API keys and certificates alone are refused. */
  readonly requireSignature?: true;
}

/** A registered request-signing key as stored and shown: public material only. */
export interface StoredPublicKey {
  readonly algorithm: RequestSignatureAlgorithm;
  /** `sha256:` of the SPKI DER; what `x-evidence-key-id` names. */
  readonly keyId: string;
  /** SPKI DER, base64. */
  readonly key: string;
  /** SM2 signer ID. */
  readonly userId?: string;
}

/** What the keys file stores per principal. */
export interface PrincipalRecord {
  readonly id: string;
  readonly org: string;
  readonly account: string;
  readonly role: KeyRole;
  /** Lower-case hex SHA-256 of the API key's text; absent when the principal has no API key. */
  readonly keyHash?: string;
  readonly publicKey?: StoredPublicKey;
  /** `sha256:` of a client certificate's DER, for mutual TLS. */
  readonly tlsFingerprint?: string;
  readonly requireSignature?: boolean;
  readonly createdAt: string;
  readonly updatedAt?: string;
  /** When the API key was last replaced. */
  readonly keyRotatedAt?: string;
  readonly revokedAt?: string;
}

/** A principal as shown to administrators: everything but the key hash. */
export type PrincipalInfo = Omit<PrincipalRecord, 'keyHash'> & { readonly apiKey: boolean };

/** A key as listed by the API-key routes (a subset of {@link PrincipalInfo}). */
export type ApiKeyInfo = Pick<
  PrincipalInfo,
  'id' | 'org' | 'account' | 'role' | 'createdAt' | 'revokedAt'
>;

export interface NewApiKey {
  readonly org: string;
  readonly account: string;
  readonly role: KeyRole;
}

/** A public key as an administrator submits it. */
export interface PublicKeyInput {
  readonly algorithm: RequestSignatureAlgorithm;
  /** PEM or base64 SPKI; for SM2 also `04` + X + Y in hex. */
  readonly key: string;
  readonly userId?: string;
}

export interface NewPrincipal extends NewApiKey {
  /** Issue an API key (default true). */
  readonly apiKey?: boolean;
  readonly publicKey?: PublicKeyInput;
  readonly tlsFingerprint?: string;
  readonly requireSignature?: boolean;
}

/** Changes to a principal; `null` removes a credential. */
export interface PrincipalUpdate {
  readonly role?: KeyRole;
  readonly requireSignature?: boolean;
  readonly publicKey?: PublicKeyInput | null;
  readonly tlsFingerprint?: string | null;
}

export interface KeyStore {
  /** The principal of API key `key`, or `undefined` when it is unknown, malformed or revoked. */
  authenticate(key: string): Principal | undefined;
  /** The principal and parsed public key registered under `keyId`, unless revoked. */
  byPublicKey(keyId: string): { principal: Principal; key: RequestPublicKey } | undefined;
  /** The principal whose client certificate has `fingerprint` (`sha256:hex`), unless revoked. */
  byCertificate(fingerprint: string): Principal | undefined;
  /** Creates a principal with an API key; the returned `key` text is shown once, never stored. */
  create(input: NewApiKey): Promise<{ readonly info: PrincipalInfo; readonly key: string }>;
  /**
   * Creates a principal with the credentials asked for.
   * @throws ValidationError `VALIDATION_FAILED` naming every bad field (also: no credential at
   *   all, or `requireSignature` without a public key); StateError `CONFLICT` when the public key
   *   or certificate already belongs to another principal.
   */
  createPrincipal(
    input: NewPrincipal,
  ): Promise<{ readonly info: PrincipalInfo; readonly key?: string }>;
  /** Every principal, revoked ones included, in creation order. */
  list(): readonly PrincipalInfo[];
  get(id: string): PrincipalInfo | undefined;
  /**
   * Changes role or credentials, effective for the next request.
   * @throws StateError `NOT_FOUND`, `CONFLICT` (revoked principal, or a credential in use);
   *   ValidationError `VALIDATION_FAILED`.
   */
  update(id: string, changes: PrincipalUpdate): Promise<PrincipalInfo>;
  /**
   * Replaces the API key: the old one is refused at once, the new one is returned once.
   * @throws StateError `NOT_FOUND`, `CONFLICT` (revoked principal).
   */
  rotate(id: string): Promise<{ readonly info: PrincipalInfo; readonly key: string }>;
  /**
   * Revokes principal `id` (all its credentials), effective for the next request. Revoking twice
   * keeps the first time.
   * @throws StateError `NOT_FOUND` when no principal has that id.
   */
  revoke(id: string): Promise<PrincipalInfo>;
}

export interface OpenedKeyStore {
  readonly keys: KeyStore;
  /** Set when the file did not exist: where the first admin key was written (mode 0600). */
  readonly adminKeyFile: string | undefined;
}

export interface KeyStoreOptions {
  /** The keys file. */
  readonly file: string;
  /** Organisation of the first admin key (the node's own). */
  readonly org: string;
  /** Where to write the first admin key; default `admin.key` next to the keys file. */
  readonly adminKeyFile?: string;
  /** Clock, for tests. */
  readonly now?: () => Date;
}

const KEY_PREFIX = 'ek_';
const KEY_PATTERN = /^ek_[A-Za-z0-9_-]{43}$/;
const FILE_TYPE = 'judicial-evidence-api-keys';
const FILE_VERSION = 2;
export const PRINCIPAL_ID_PATTERN = '^[A-Za-z0-9_-]{8,32}$';
export const FINGERPRINT_PATTERN = '^sha256:[0-9a-f]{64}$';

const nameSchema = { type: 'string', pattern: NAME_PATTERN, ...NO_PERSONAL_DATA } as const;
const roleSchema = { type: 'string', enum: [...KEY_ROLES] } as const;

const publicKeyInputSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['algorithm', 'key'],
  properties: {
    algorithm: { type: 'string', enum: [...REQUEST_SIGNATURE_ALGORITHMS] },
    key: { type: 'string', minLength: 1, maxLength: 4096 },
    userId: { type: 'string', pattern: SM2_USER_ID_PATTERN, ...NO_PERSONAL_DATA },
  },
} as const;

/** Body of `POST /v1/admin/keys`. */
export const newApiKeySchema = {
  $id: 'new-api-key',
  type: 'object',
  additionalProperties: false,
  required: ['org', 'account', 'role'],
  properties: { org: nameSchema, account: nameSchema, role: roleSchema },
} as const;

/** Body of `POST /v1/admin/principals`. */
export const newPrincipalSchema = {
  $id: 'new-principal',
  type: 'object',
  additionalProperties: false,
  required: ['org', 'account', 'role'],
  properties: {
    org: nameSchema,
    account: nameSchema,
    role: roleSchema,
    apiKey: { type: 'boolean', description: 'issue an API key (default true)' },
    publicKey: publicKeyInputSchema,
    tlsFingerprint: {
      type: 'string',
      pattern: FINGERPRINT_PATTERN,
      description: 'sha256 of the client certificate DER',
    },
    requireSignature: { type: 'boolean' },
  },
} as const;

/** Body of `PATCH /v1/admin/principals/:id`. */
export const principalUpdateSchema = {
  $id: 'principal-update',
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    role: roleSchema,
    requireSignature: { type: 'boolean' },
    publicKey: { anyOf: [publicKeyInputSchema, { type: 'null' }] },
    tlsFingerprint: { anyOf: [{ type: 'string', pattern: FINGERPRINT_PATTERN }, { type: 'null' }] },
  },
} as const;

/** The keys file on disk (version 1 held API keys only; it reads as version 2). */
const keysFileSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'version', 'keys'],
  properties: {
    type: { const: FILE_TYPE },
    version: { enum: [1, FILE_VERSION] },
    keys: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'org', 'account', 'role', 'createdAt'],
        properties: {
          id: { type: 'string', pattern: PRINCIPAL_ID_PATTERN },
          org: { type: 'string', pattern: NAME_PATTERN },
          account: { type: 'string', pattern: NAME_PATTERN },
          role: roleSchema,
          keyHash: { type: 'string', pattern: '^[0-9a-f]{64}$' },
          publicKey: {
            type: 'object',
            additionalProperties: false,
            required: ['algorithm', 'keyId', 'key'],
            properties: {
              algorithm: { type: 'string', enum: [...REQUEST_SIGNATURE_ALGORITHMS] },
              keyId: { type: 'string', pattern: FINGERPRINT_PATTERN },
              key: { type: 'string' },
              userId: { type: 'string' },
            },
          },
          tlsFingerprint: { type: 'string', pattern: FINGERPRINT_PATTERN },
          requireSignature: { type: 'boolean' },
          createdAt: { type: 'string' },
          updatedAt: { type: 'string' },
          keyRotatedAt: { type: 'string' },
          revokedAt: { type: 'string' },
        },
      },
    },
  },
} as const;

/** Lower-case hex SHA-256 of a key's text. */
export function hashApiKey(key: string): string {
  return sha256(key).toString('hex');
}

/** A fresh key: `ek_` + base64url of 32 random bytes. */
export function generateApiKey(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64url');
}

function info(record: PrincipalRecord): PrincipalInfo {
  const { keyHash, ...rest } = record;
  return { ...rest, apiKey: keyHash !== undefined };
}

function invalid(what: string, fields: FieldError[]): ValidationError {
  return new ValidationError(
    'VALIDATION_FAILED',
    `${what} is invalid (${fields.length} problem${fields.length > 1 ? 's' : ''})`,
    fields,
  );
}

/** The stored form of a submitted public key, or the errors saying why it is not one. */
function storedKey(input: PublicKeyInput, path: string): StoredPublicKey | FieldError[] {
  const parsed = parseRequestPublicKey(input.algorithm, input.key, input.userId, path);
  if (Array.isArray(parsed)) return parsed;
  return {
    algorithm: parsed.algorithm,
    keyId: parsed.keyId,
    key: parsed.spki,
    ...(parsed.userId !== undefined ? { userId: parsed.userId } : {}),
  };
}

/** Rules across fields: some credential, and a public key whenever signatures are required. */
function credentialErrors(record: PrincipalRecord): FieldError[] {
  const errors: FieldError[] = [];
  if (!record.keyHash && !record.publicKey && !record.tlsFingerprint) {
    errors.push({
      path: '',
      rule: 'credential',
      message: 'a principal needs an API key, a public key or a certificate fingerprint',
    });
  }
  if (record.requireSignature && !record.publicKey) {
    errors.push({
      path: '/requireSignature',
      rule: 'publicKey',
      message: 'requiring signatures needs a public key',
    });
  }
  return errors;
}

class KeyStoreImpl implements KeyStore {
  readonly #file: string;
  readonly #now: () => Date;
  readonly #records: PrincipalRecord[];
  #byHash = new Map<string, Principal>();
  #byPublicKey = new Map<string, { principal: Principal; key: RequestPublicKey }>();
  #byCertificate = new Map<string, Principal>();
  #writing: Promise<void> = Promise.resolve();

  constructor(file: string, records: PrincipalRecord[], now: () => Date) {
    this.#file = file;
    this.#now = now;
    this.#records = records;
    this.#reindex();
  }

  authenticate(key: string): Principal | undefined {
    if (typeof key !== 'string' || !KEY_PATTERN.test(key)) return undefined;
    return this.#byHash.get(hashApiKey(key));
  }

  byPublicKey(keyId: string): { principal: Principal; key: RequestPublicKey } | undefined {
    return this.#byPublicKey.get(keyId);
  }

  byCertificate(fingerprint: string): Principal | undefined {
    return this.#byCertificate.get(fingerprint);
  }

  create(input: NewApiKey): Promise<{ info: PrincipalInfo; key: string }> {
    return this.createWith(input, generateApiKey());
  }

  /** Stores `key` (already generated, maybe already handed out) for `input`. */
  async createWith(input: NewApiKey, key: string): Promise<{ info: PrincipalInfo; key: string }> {
    const errors = schemaErrors(newApiKeySchema, input);
    if (errors.length > 0) throw invalid('new API key', errors);
    const created = await this.#add(
      { org: input.org, account: input.account, role: input.role },
      key,
    );
    return { info: created, key };
  }

  async createPrincipal(input: NewPrincipal): Promise<{ info: PrincipalInfo; key?: string }> {
    const errors = schemaErrors(newPrincipalSchema, input);
    if (errors.length > 0) throw invalid('new principal', errors);
    let publicKey: StoredPublicKey | undefined;
    if (input.publicKey) {
      const parsed = storedKey(input.publicKey, '/publicKey');
      if (Array.isArray(parsed)) throw invalid('new principal', parsed);
      publicKey = parsed;
    }
    const key = input.apiKey === false ? undefined : generateApiKey();
    const created = await this.#add(
      {
        org: input.org,
        account: input.account,
        role: input.role,
        ...(publicKey ? { publicKey } : {}),
        ...(input.tlsFingerprint ? { tlsFingerprint: input.tlsFingerprint } : {}),
        ...(input.requireSignature ? { requireSignature: true } : {}),
      },
      key,
    );
    return key === undefined ? { info: created } : { info: created, key };
  }

  list(): readonly PrincipalInfo[] {
    return this.#records.map(info);
  }

  get(id: string): PrincipalInfo | undefined {
    const record = this.#records.find((r) => r.id === id);
    return record ? info(record) : undefined;
  }

  async update(id: string, changes: PrincipalUpdate): Promise<PrincipalInfo> {
    const errors = schemaErrors(principalUpdateSchema, changes);
    if (errors.length > 0) throw invalid('principal update', errors);
    const index = this.#indexOf(id);
    const current = this.#records[index] as PrincipalRecord;
    if (current.revokedAt) throw new StateError('CONFLICT', 'the principal is revoked');
    const { publicKey: _key, tlsFingerprint: _tls, ...rest } = current;
    let publicKey = current.publicKey;
    if (changes.publicKey === null) publicKey = undefined;
    else if (changes.publicKey) {
      const parsed = storedKey(changes.publicKey, '/publicKey');
      if (Array.isArray(parsed)) throw invalid('principal update', parsed);
      publicKey = parsed;
    }
    const tlsFingerprint =
      changes.tlsFingerprint === null
        ? undefined
        : (changes.tlsFingerprint ?? current.tlsFingerprint);
    const next: PrincipalRecord = {
      ...rest,
      ...(changes.role ? { role: changes.role } : {}),
      ...(changes.requireSignature !== undefined
        ? { requireSignature: changes.requireSignature }
        : {}),
      ...(publicKey ? { publicKey } : {}),
      ...(tlsFingerprint ? { tlsFingerprint } : {}),
      updatedAt: this.#now().toISOString(),
    };
    const rules = credentialErrors(next);
    if (rules.length > 0) throw invalid('principal update', rules);
    this.#checkUnique(next);
    // Effective at once; a failed write restores the previous state, so memory matches disk.
    this.#records[index] = next;
    this.#reindex();
    try {
      await this.#save();
    } catch (error) {
      this.#records[index] = current;
      this.#reindex();
      throw error;
    }
    return info(next);
  }

  async rotate(id: string): Promise<{ info: PrincipalInfo; key: string }> {
    const index = this.#indexOf(id);
    const current = this.#records[index] as PrincipalRecord;
    if (current.revokedAt) throw new StateError('CONFLICT', 'the principal is revoked');
    const key = generateApiKey();
    const now = this.#now().toISOString();
    // The old key is refused before the write finishes, and stays refused if it fails.
    const { keyHash: _old, ...rest } = current;
    this.#records[index] = { ...rest, updatedAt: now, keyRotatedAt: now };
    this.#reindex();
    const next: PrincipalRecord = {
      ...rest,
      keyHash: hashApiKey(key),
      updatedAt: now,
      keyRotatedAt: now,
    };
    this.#records[index] = next;
    try {
      await this.#save();
    } catch (error) {
      this.#records[index] = { ...rest, updatedAt: now, keyRotatedAt: now };
      throw error;
    }
    this.#reindex();
    return { info: info(next), key };
  }

  async revoke(id: string): Promise<PrincipalInfo> {
    const index = this.#indexOf(id);
    const record = this.#records[index] as PrincipalRecord;
    if (record.revokedAt) return info(record);
    const revoked: PrincipalRecord = { ...record, revokedAt: this.#now().toISOString() };
    // Refused before the write finishes: revocation is effective at once.
    this.#records[index] = revoked;
    this.#reindex();
    await this.#save();
    return info(revoked);
  }

  async #add(
    fields: Omit<PrincipalRecord, 'id' | 'createdAt' | 'keyHash'>,
    key: string | undefined,
  ): Promise<PrincipalInfo> {
    const record: PrincipalRecord = {
      id: randomBytes(9).toString('base64url'),
      ...fields,
      ...(key !== undefined ? { keyHash: hashApiKey(key) } : {}),
      createdAt: this.#now().toISOString(),
    };
    const rules = credentialErrors(record);
    if (rules.length > 0) throw invalid('new principal', rules);
    this.#checkUnique(record);
    this.#records.push(record);
    try {
      await this.#save();
    } catch (error) {
      this.#records.splice(this.#records.indexOf(record), 1);
      throw error;
    }
    // Usable only once stored: a key that did not reach the file would not survive a restart.
    this.#reindex();
    return info(record);
  }

  #indexOf(id: string): number {
    const index = this.#records.findIndex((record) => record.id === id);
    if (index < 0) throw new StateError('NOT_FOUND', 'no principal has this id');
    return index;
  }

  /** A public key or certificate belongs to one live principal at most. */
  #checkUnique(record: PrincipalRecord): void {
    for (const other of this.#records) {
      if (other.id === record.id || other.revokedAt) continue;
      if (record.publicKey && other.publicKey?.keyId === record.publicKey.keyId)
        throw new StateError('CONFLICT', 'this public key belongs to another principal');
      if (record.tlsFingerprint && other.tlsFingerprint === record.tlsFingerprint)
        throw new StateError('CONFLICT', 'this certificate belongs to another principal');
    }
  }

  #reindex(): void {
    const byHash = new Map<string, Principal>();
    const byPublicKey = new Map<string, { principal: Principal; key: RequestPublicKey }>();
    const byCertificate = new Map<string, Principal>();
    for (const record of this.#records) {
      if (record.revokedAt) continue;
      const principal: Principal = {
        keyId: record.id,
        org: record.org,
        account: record.account,
        role: record.role,
        ...(record.requireSignature ? { requireSignature: true as const } : {}),
      };
      if (record.keyHash) byHash.set(record.keyHash, principal);
      if (record.tlsFingerprint) byCertificate.set(record.tlsFingerprint, principal);
      if (record.publicKey) {
        const parsed = parseRequestPublicKey(
          record.publicKey.algorithm,
          record.publicKey.key,
          record.publicKey.userId,
        );
        if (!Array.isArray(parsed)) byPublicKey.set(parsed.keyId, { principal, key: parsed });
      }
    }
    this.#byHash = byHash;
    this.#byPublicKey = byPublicKey;
    this.#byCertificate = byCertificate;
  }

  /** Writes are serialised, so the file always ends as the latest state. */
  #save(): Promise<void> {
    const snapshot = `${JSON.stringify(
      { type: FILE_TYPE, version: FILE_VERSION, keys: this.#records },
      null,
      2,
    )}\n`;
    this.#writing = this.#writing
      .catch(() => undefined)
      .then(() => writeAtomically(this.#file, snapshot));
    return this.#writing;
  }
}

/**
 * Writes `data` to `file` with mode 0600 so that a reader sees the old or the new content, never a
 * mix: temp file in the same directory, fsync, rename, fsync of the directory.
 */
export async function writeAtomically(file: string, data: string): Promise<void> {
  await writeWhole(file, data, { replace: true });
}

/**
 * Opens the keys file, creating it with a first admin key when it does not exist.
 * @throws ValidationError `CONFIG_INVALID` when the file exists but is not a valid keys file.
 */
export async function openKeyStore(options: KeyStoreOptions): Promise<OpenedKeyStore> {
  const now = options.now ?? (() => new Date());
  const file = path.resolve(options.file);
  let text: string | undefined;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (text !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text) as unknown;
    } catch {
      throw new ValidationError('CONFIG_INVALID', `keys file ${file} is not valid JSON`, [
        { path: '', rule: 'json', message: 'not valid JSON' },
      ]);
    }
    const errors = schemaErrors(keysFileSchema, parsed);
    if (errors.length > 0)
      throw new ValidationError('CONFIG_INVALID', `keys file ${file} is invalid`, errors);
    const records = (parsed as { keys: PrincipalRecord[] }).keys.map((record) => ({ ...record }));
    records.forEach((record, index) => {
      if (!record.publicKey) return;
      const stored = storedKey(
        {
          algorithm: record.publicKey.algorithm,
          key: record.publicKey.key,
          ...(record.publicKey.userId !== undefined ? { userId: record.publicKey.userId } : {}),
        },
        `/keys/${index}/publicKey`,
      );
      if (Array.isArray(stored) || stored.keyId !== record.publicKey.keyId) {
        throw new ValidationError('CONFIG_INVALID', `keys file ${file} is invalid`, [
          { path: `/keys/${index}/publicKey`, rule: 'publicKey', message: 'not a valid key' },
        ]);
      }
    });
    return { keys: new KeyStoreImpl(file, records, now), adminKeyFile: undefined };
  }

  // The admin key is written before the keys file that makes it valid: a crash in between leaves
  // no keys file, and the next start makes a new admin key instead of one nobody holds.
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const adminKeyFile = path.resolve(
    options.adminKeyFile ?? path.join(path.dirname(file), 'admin.key'),
  );
  await fs.mkdir(path.dirname(adminKeyFile), { recursive: true, mode: 0o700 });
  const key = generateApiKey();
  await writeAtomically(adminKeyFile, `${key}\n`);
  const store = new KeyStoreImpl(file, [], now);
  await store.createWith({ org: options.org, account: 'admin', role: 'admin' }, key);
  return { keys: store, adminKeyFile };
}
