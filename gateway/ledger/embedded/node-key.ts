/**
 * The embedded node's signing key, created on first start as PKCS#8 PEM with file mode 0600, and
 * replaced only by a rotation (node-keys.ts). Its public half goes into the trust file.
 *
 * Two kinds (`EVIDENCE_NODE_KEY_ALGORITHM`): Ed25519 (RFC 8032), the default, and SM2 with SM3
 * (GB/T 32918, GM/T 0003) for deployments that must use national (GM) cryptography. An SM2 key
 * file is the standard PKCS#8 of an EC key on the sm2p256v1 curve, as OpenSSL writes and reads
 * it; its signatures are SM2 with the signer ID `1234567812345678` (GM/T 0009), DER, which
 * `openssl pkeyutl -verify -digest sm3 -pkeyopt distid:1234567812345678` checks too.
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
import { sm2 } from 'sm-crypto-v2';
import { DEFAULT_SM2_USER_ID, type NodeKeyAlgorithm, type Signature } from '../../../core/block';
import type { Digest } from '../../../core/digest';
import { LedgerError } from '../../../core/errors';
import { keyIdOf, sm2PointOfSpki } from '../../../core/signature';
import { writeWhole } from '../../storage/durable-files';

export interface NodeKey {
  readonly keyId: Digest;
  readonly algorithm: NodeKeyAlgorithm;
  /** Base64 SubjectPublicKeyInfo DER. */
  readonly publicKey: string;
  sign(data: Uint8Array): Signature;
}

abstract class NodeKeyBase implements NodeKey {
  readonly keyId: Digest;
  readonly publicKey: string;
  abstract readonly algorithm: NodeKeyAlgorithm;

  constructor(spki: Buffer) {
    this.keyId = keyIdOf(spki);
    this.publicKey = spki.toString('base64');
  }

  sign(data: Uint8Array): Signature {
    return { algorithm: this.algorithm, keyId: this.keyId, value: this.signature(data) };
  }

  protected abstract signature(data: Uint8Array): string;
}

class Ed25519NodeKey extends NodeKeyBase {
  readonly algorithm = 'ed25519';
  readonly #privateKey: KeyObject;

  constructor(privateKey: KeyObject) {
    super(createPublicKey(privateKey).export({ format: 'der', type: 'spki' }));
    this.#privateKey = privateKey;
  }

  protected signature(data: Uint8Array): string {
    return sign(null, data, this.#privateKey).toString('base64');
  }
}

class Sm2NodeKey extends NodeKeyBase {
  readonly algorithm = 'sm2-sm3';
  /** The private scalar as 64 hex digits. */
  readonly #scalar: string;
  /** The public point, `04` + X + Y, which Z is computed from. */
  readonly #point: string;

  constructor(privateKey: KeyObject) {
    const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
    super(spki);
    const point = sm2PointOfSpki(spki);
    if (point === undefined) throw new Error('not an SM2 key');
    this.#point = point;
    this.#scalar = sm2ScalarOf(privateKey.export({ format: 'der', type: 'sec1' }));
  }

  protected signature(data: Uint8Array): string {
    const hex = sm2.doSignature(new Uint8Array(data), this.#scalar, {
      hash: true,
      der: true,
      publicKey: this.#point,
      userId: DEFAULT_SM2_USER_ID,
    });
    return Buffer.from(hex, 'hex').toString('base64');
  }
}

/**
 * The private scalar of a SEC 1 (RFC 5915) ECPrivateKey: `SEQUENCE { INTEGER 1, OCTET STRING d,
 * ... }`, as OpenSSL exports it for a 256-bit curve.
 */
function sm2ScalarOf(sec1: Buffer): string {
  // 30 len(1 or 2 bytes) 02 01 01 04 20 <32 bytes>
  const start = sec1[1] === 0x81 ? 3 : 2;
  const head = sec1.subarray(start, start + 5).toString('hex');
  if (sec1[0] !== 0x30 || head !== '0201010420') throw new Error('not a SEC 1 EC private key');
  return sec1.subarray(start + 5, start + 5 + 32).toString('hex');
}

/** The node key held by `privateKey`; throws for a key of another kind. */
function nodeKeyOf(privateKey: KeyObject): NodeKey {
  if (privateKey.asymmetricKeyType === 'ed25519') return new Ed25519NodeKey(privateKey);
  if (
    privateKey.asymmetricKeyType === 'ec' &&
    privateKey.asymmetricKeyDetails?.namedCurve === 'SM2'
  ) {
    return new Sm2NodeKey(privateKey);
  }
  const curve = privateKey.asymmetricKeyDetails?.namedCurve;
  throw new Error(
    `key type ${String(privateKey.asymmetricKeyType)}${curve ? ` (${curve})` : ''} is neither Ed25519 nor SM2`,
  );
}

/**
 * Writes a new key for `algorithm` to `file` (mode 0600, synced; never over an existing file). It
 * is written whole to a temporary file and then linked into place, so a crash never leaves a
 * `file` cut short (storage/durable-files.ts).
 */
export async function newNodeKeyFile(
  file: string,
  algorithm: NodeKeyAlgorithm = 'ed25519',
): Promise<NodeKey> {
  const { privateKey } =
    algorithm === 'sm2-sm3'
      ? generateKeyPairSync('ec', { namedCurve: 'SM2' })
      : generateKeyPairSync('ed25519');
  const key = nodeKeyOf(privateKey);
  const text = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  await fs.mkdir(path.dirname(file), { recursive: true });
  await writeWhole(file, text, { replace: false });
  return key;
}

/** Temporary files of {@link newNodeKeyFile} (storage/durable-files.ts): a crash may leave one. */
export const UNFINISHED_KEY_FILE = /^\.node-key\..*\.tmp$/;

/**
 * Loads the key in `file`; `undefined` when there is no such file.
 * @throws LedgerError `LEDGER_CORRUPTED` when the file exists but holds no Ed25519 or SM2
 *   private key.
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
    return nodeKeyOf(createPrivateKey(pem));
  } catch (error) {
    throw new LedgerError(
      'LEDGER_CORRUPTED',
      `node key ${file} is unreadable: ${(error as Error).message}`,
    );
  }
}

/**
 * Loads `file`, creating it (mode 0600) for `algorithm` when absent; an existing key is used
 * whatever its algorithm (a chain changes algorithm only by a rotation).
 * @throws LedgerError `LEDGER_CORRUPTED` when the file exists but holds no Ed25519 or SM2
 *   private key.
 */
export async function loadOrCreateNodeKey(
  file: string,
  algorithm: NodeKeyAlgorithm = 'ed25519',
): Promise<{ key: NodeKey; created: boolean }> {
  const key = await loadNodeKey(file);
  if (key) return { key, created: false };
  return { key: await newNodeKeyFile(file, algorithm), created: true };
}
