/**
 * The embedded node's signing key: Ed25519, created on first start as PKCS#8 PEM with file mode
 * 0600, and replaced only by a rotation (node-keys.ts). Its public half goes into the trust file.
 */

import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  type KeyObject,
} from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Signature } from '../../../core/block';
import type { Digest } from '../../../core/digest';
import { LedgerError } from '../../../core/errors';
import { keyIdOf } from '../../../core/signature';
import { writeWhole } from '../../storage/durable-files';

export interface NodeKey {
  readonly keyId: Digest;
  /** Base64 SubjectPublicKeyInfo DER. */
  readonly publicKey: string;
  sign(data: Uint8Array): Signature;
}

class NodeKeyImpl implements NodeKey {
  readonly keyId: Digest;
  readonly publicKey: string;
  readonly #privateKey: KeyObject;

  constructor(privateKey: KeyObject) {
    this.#privateKey = privateKey;
    const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
    this.keyId = keyIdOf(spki);
    this.publicKey = spki.toString('base64');
  }

  sign(data: Uint8Array): Signature {
    return {
      algorithm: 'ed25519',
      keyId: this.keyId,
      value: sign(null, data, this.#privateKey).toString('base64'),
    };
  }
}

/**
 * Writes a new Ed25519 key to `file` (mode 0600, synced; never over an existing file). It is
 * written whole to a temporary file and then linked into place, so a crash never leaves a `file`
 * cut short (storage/durable-files.ts).
 */
export async function newNodeKeyFile(file: string): Promise<NodeKey> {
  const { privateKey } = generateKeyPairSync('ed25519');
  const text = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  await fs.mkdir(path.dirname(file), { recursive: true });
  await writeWhole(file, text, { replace: false });
  return new NodeKeyImpl(privateKey);
}

/** Temporary files of {@link newNodeKeyFile} (storage/durable-files.ts): a crash may leave one. */
export const UNFINISHED_KEY_FILE = /^\.node-key\..*\.tmp$/;

/**
 * Loads the key in `file`; `undefined` when there is no such file.
 * @throws LedgerError `LEDGER_CORRUPTED` when the file exists but holds no Ed25519 private key.
 */
export async function loadNodeKey(file: string): Promise<NodeKey | undefined> {
  let pem: string;
  try {
    pem = await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const privateKey = createPrivateKey(pem);
    if (privateKey.asymmetricKeyType !== 'ed25519')
      throw new Error(`key type ${privateKey.asymmetricKeyType}`);
    return new NodeKeyImpl(privateKey);
  } catch (error) {
    throw new LedgerError(
      'LEDGER_CORRUPTED',
      `node key ${file} is unreadable: ${(error as Error).message}`,
    );
  }
}

/**
 * Loads `file`, creating it (mode 0600) when absent.
 * @throws LedgerError `LEDGER_CORRUPTED` when the file exists but holds no Ed25519 private key.
 */
export async function loadOrCreateNodeKey(
  file: string,
): Promise<{ key: NodeKey; created: boolean }> {
  const key = await loadNodeKey(file);
  if (key) return { key, created: false };
  return { key: await newNodeKeyFile(file), created: true };
}
