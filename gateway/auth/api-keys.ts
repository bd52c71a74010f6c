/**
 * API keys: who may call the gateway, as which organisation, account and role.
 *
 * A key is `ek_` + base64url(32 random bytes). Only its SHA-256 is stored, next to a random key id
 * (never derived from the key), so the keys file does not let anyone call the node. The file is
 * JSON, mode 0600, replaced atomically (temp file, fsync, rename). Lookups go through an in-memory
 * map from hash to principal; a revoked key leaves the map at once.
 */

import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ValidationError, StateError } from '../../core/errors';
import { NAME_PATTERN } from '../../core/evidence';
import { ROLES, type Role } from '../../core/evidence-state';
import { schemaErrors } from '../../core/schema';

/** Roles an API key can carry; `gateway` is the node's own identity and never a key's. */
export const KEY_ROLES = ROLES.filter(
  (role): role is Exclude<Role, 'gateway'> => role !== 'gateway',
);
export type KeyRole = (typeof KEY_ROLES)[number];

/** The authenticated caller of a request. */
export interface Principal {
  readonly keyId: string;
  readonly org: string;
  readonly account: string;
  readonly role: KeyRole;
}

/** What the keys file stores per key. */
export interface ApiKeyRecord {
  readonly id: string;
  readonly org: string;
  readonly account: string;
  readonly role: KeyRole;
  /** Lower-case hex SHA-256 of the whole key text. */
  readonly keyHash: string;
  readonly createdAt: string;
  readonly revokedAt?: string;
}

/** A key as listed to administrators: everything but the hash. */
export type ApiKeyInfo = Omit<ApiKeyRecord, 'keyHash'>;

export interface NewApiKey {
  readonly org: string;
  readonly account: string;
  readonly role: KeyRole;
}

export interface KeyStore {
  /** The principal of `key`, or `undefined` when it is unknown, malformed or revoked. */
  authenticate(key: string): Principal | undefined;
  /** Creates a key; the returned `key` text is shown once and never stored. */
  create(input: NewApiKey): Promise<{ readonly info: ApiKeyInfo; readonly key: string }>;
  list(): readonly ApiKeyInfo[];
  /**
   * Revokes key `id`, effective for the next request. Revoking twice keeps the first time.
   * @throws StateError `NOT_FOUND` when no key has that id.
   */
  revoke(id: string): Promise<ApiKeyInfo>;
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

/** Body of `POST /v1/admin/keys`. */
export const newApiKeySchema = {
  $id: 'new-api-key',
  type: 'object',
  additionalProperties: false,
  required: ['org', 'account', 'role'],
  properties: {
    org: { type: 'string', pattern: NAME_PATTERN },
    account: { type: 'string', pattern: NAME_PATTERN },
    role: { type: 'string', enum: [...KEY_ROLES] },
  },
} as const;

/** The keys file on disk. */
const keysFileSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'version', 'keys'],
  properties: {
    type: { const: FILE_TYPE },
    version: { const: 1 },
    keys: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'org', 'account', 'role', 'keyHash', 'createdAt'],
        properties: {
          id: { type: 'string', pattern: '^[A-Za-z0-9_-]{8,32}$' },
          org: { type: 'string', pattern: NAME_PATTERN },
          account: { type: 'string', pattern: NAME_PATTERN },
          role: { type: 'string', enum: [...KEY_ROLES] },
          keyHash: { type: 'string', pattern: '^[0-9a-f]{64}$' },
          createdAt: { type: 'string' },
          revokedAt: { type: 'string' },
        },
      },
    },
  },
} as const;

/** Lower-case hex SHA-256 of a key's text. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** A fresh key: `ek_` + base64url of 32 random bytes. */
export function generateApiKey(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64url');
}

function info(record: ApiKeyRecord): ApiKeyInfo {
  const { keyHash: _hash, ...rest } = record;
  return rest;
}

class KeyStoreImpl implements KeyStore {
  readonly #file: string;
  readonly #now: () => Date;
  readonly #records: ApiKeyRecord[];
  readonly #active = new Map<string, Principal>();
  #writing: Promise<void> = Promise.resolve();

  constructor(file: string, records: ApiKeyRecord[], now: () => Date) {
    this.#file = file;
    this.#now = now;
    this.#records = records;
    for (const record of records) if (!record.revokedAt) this.#activate(record);
  }

  authenticate(key: string): Principal | undefined {
    if (typeof key !== 'string' || !KEY_PATTERN.test(key)) return undefined;
    return this.#active.get(hashApiKey(key));
  }

  create(input: NewApiKey): Promise<{ info: ApiKeyInfo; key: string }> {
    return this.createWith(input, generateApiKey());
  }

  /** Stores `key` (already generated, maybe already handed out) for `input`. */
  async createWith(input: NewApiKey, key: string): Promise<{ info: ApiKeyInfo; key: string }> {
    const errors = schemaErrors(newApiKeySchema, input);
    if (errors.length > 0)
      throw new ValidationError('VALIDATION_FAILED', 'new API key is invalid', errors);
    const record: ApiKeyRecord = {
      id: randomBytes(9).toString('base64url'),
      org: input.org,
      account: input.account,
      role: input.role,
      keyHash: hashApiKey(key),
      createdAt: this.#now().toISOString(),
    };
    this.#records.push(record);
    try {
      await this.#save();
    } catch (error) {
      this.#records.splice(this.#records.indexOf(record), 1);
      throw error;
    }
    this.#activate(record);
    return { info: info(record), key };
  }

  list(): readonly ApiKeyInfo[] {
    return this.#records.map(info);
  }

  async revoke(id: string): Promise<ApiKeyInfo> {
    const index = this.#records.findIndex((record) => record.id === id);
    const record = this.#records[index];
    if (!record) throw new StateError('NOT_FOUND', `no API key has id ${id}`);
    if (record.revokedAt) return info(record);
    const revoked: ApiKeyRecord = { ...record, revokedAt: this.#now().toISOString() };
    // Refuse the key before the write finishes: revocation is effective at once.
    this.#active.delete(record.keyHash);
    this.#records[index] = revoked;
    await this.#save();
    return info(revoked);
  }

  #activate(record: ApiKeyRecord): void {
    this.#active.set(record.keyHash, {
      keyId: record.id,
      org: record.org,
      account: record.account,
      role: record.role,
    });
  }

  /** Writes are serialised, so the file always ends as the latest state. */
  #save(): Promise<void> {
    const snapshot = `${JSON.stringify({ type: FILE_TYPE, version: 1, keys: this.#records }, null, 2)}\n`;
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
  const dir = path.dirname(file);
  const temp = path.join(
    dir,
    `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`,
  );
  const handle = await fs.open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(data, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await fs.rename(temp, file);
  } catch (error) {
    await fs.rm(temp, { force: true });
    throw error;
  }
  await syncDirectory(dir);
}

async function syncDirectory(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch {
    // Some platforms cannot fsync a directory; the rename is still atomic.
  } finally {
    await handle?.close();
  }
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
    const records = (parsed as { keys: ApiKeyRecord[] }).keys.map((record) => ({ ...record }));
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
