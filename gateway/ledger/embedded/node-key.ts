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
import { DerReader, OID } from '../../../core/der';
import type { Digest } from '../../../core/digest';
import { LedgerError } from '../../../core/errors';
import { SM2_N, SM2_SPKI_PREFIX, keyIdOf } from '../../../core/signature';
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

  constructor(scalar: string) {
    const point = sm2.getPublicKeyFromPrivateKey(scalar);
    super(Buffer.concat([SM2_SPKI_PREFIX, Buffer.from(point.slice(2), 'hex')]));
    this.#scalar = scalar;
    this.#point = point;
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
 * The node key in a PKCS#8 PEM; throws for a key of another kind. SM2 keys are read here, not by
 * Node: OpenSSL gives a parsed SM2 private key a type Node's key export does not handle (it stops
 * the process), so only the scalar is taken, from PrivateKeyInfo (RFC 5208) and ECPrivateKey
 * (RFC 5915): `SEQUENCE { 0, SEQUENCE { ecPublicKey, sm2p256v1 }, OCTET STRING { SEQUENCE { 1,
 * OCTET STRING d, ... } } }`.
 */
export function nodeKeyOfPem(pem: string): NodeKey {
  const body = /^-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\s]+)-----END PRIVATE KEY-----\s*$/.exec(
    pem.trim(),
  );
  if (!body) throw new Error('not a PKCS#8 PEM private key');
  const der = new DerReader(Buffer.from((body[1] as string).replace(/\s+/g, ''), 'base64'));
  const info = new DerReader(der.read(0x30));
  if (!der.done) throw new Error('bytes after the private key');
  info.read(0x02); // version
  const algorithm = new DerReader(info.read(0x30));
  const oid = algorithm.readOid();
  if (oid === OID.ed25519) {
    const key = createPrivateKey(pem);
    if (key.asymmetricKeyType !== 'ed25519') throw new Error('not an Ed25519 key');
    return new Ed25519NodeKey(key);
  }
  if (oid !== OID.ecPublicKey || algorithm.readOid() !== OID.sm2p256v1)
    throw new Error('the key is neither Ed25519 nor SM2');
  const ecPrivateKey = new DerReader(new DerReader(info.read(0x04)).read(0x30));
  if (Buffer.from(ecPrivateKey.read(0x02)).toString('hex') !== '01')
    throw new Error('not an EC private key (version 1)');
  const scalar = Buffer.from(ecPrivateKey.read(0x04));
  const d = BigInt(`0x${scalar.toString('hex') || '0'}`);
  // A private scalar is in [1, n - 2] (GB/T 32918.1).
  if (scalar.length !== 32 || d < 1n || d >= SM2_N - 1n)
    throw new Error('the SM2 private scalar is out of range');
  return new Sm2NodeKey(scalar.toString('hex'));
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
  // Node makes an SM2 key as an EC key (which it can export); read back, it is checked like any
  // key file, by the reader the node opens it with.
  const { privateKey } =
    algorithm === 'sm2-sm3'
      ? generateKeyPairSync('ec', { namedCurve: 'SM2' })
      : generateKeyPairSync('ed25519');
  const text = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  const key = nodeKeyOfPem(text);
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
    return nodeKeyOfPem(pem);
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
