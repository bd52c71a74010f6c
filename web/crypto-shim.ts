/**
 * What core takes from `node:crypto`, for the browser bundle (scripts/build-web.mjs maps
 * `node:crypto` here). Exactly what core calls, nothing more:
 *
 * - `createHash('sha256' | 'sm3')` with `update(bytes | text)` and `digest()` (digest.ts): SHA-256
 *   from noble-hashes, SM3 from web/sm3.ts;
 * - the one-shot `hash(algorithm, bytes | text, outputEncoding)` (digest.ts), over `createHash`;
 * - `createPublicKey({ key: der, format: 'der', type: 'spki' })` (signature.ts): a SubjectPublicKeyInfo
 *   (RFC 5280 §4.1.2.7) parsed strictly, its key type, curve, and RSA modulus length and public
 *   exponent exposed as Node's `KeyObject` does (`asymmetricKeyType`, `asymmetricKeyDetails`), and
 *   `export` of its DER (SM2 keys, which core verifies with sm-crypto-v2 in the browser as in Node);
 * - `verify(algorithm, data, key, signature)` (signature.ts): Ed25519 (RFC 8032, strict: noble's
 *   `zip215: false`, as OpenSSL), ECDSA P-256 with SHA-256 over a DER signature (FIPS 186-4;
 *   high-S accepted here as by OpenSSL: core itself requires low-S for Fabric), and RSASSA-PKCS1-v1_5
 *   with SHA-256 (RFC 8017 §8.2.2; time-stamp tokens), with BigInt arithmetic written here.
 *
 * Where Node would accept a key this shim does not know (other curves, RSA-PSS keys, Ed448), the
 * shim returns a key of another type, so core answers as with Node: the signature does not verify.
 * Malformed input throws, as Node's does; core turns it into a failed check. RSA keys are read more
 * strictly than OpenSSL reads them (NULL parameters, minimal positive integers, odd modulus, odd
 * exponent of at least 3, nothing after the RSAPublicKey): such a key throws here where Node reads
 * it. test/web/crypto-shim.test.ts checks the shim against `node:crypto`.
 */

import { ed25519 } from '@noble/curves/ed25519.js';
import { p256 } from '@noble/curves/nist.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { Buffer } from 'buffer';
import { DerReader, OID } from '../core/der';
import { createSm3 } from './sm3';

interface Hasher {
  update(data: Uint8Array): unknown;
  digest(): Uint8Array;
}

const HASHES: Readonly<Record<string, () => Hasher>> = {
  sha256: () => sha256.create(),
  sm3: createSm3,
};

const encoder = new TextEncoder();

/** Node's `Hash`, for what core does with it. */
export interface Hash {
  update(data: Uint8Array | string): Hash;
  digest(): Buffer;
  digest(encoding: 'hex' | 'base64'): string;
}

class HashImpl implements Hash {
  readonly #hasher: Hasher;

  constructor(hasher: Hasher) {
    this.#hasher = hasher;
  }

  update(data: Uint8Array | string): Hash {
    this.#hasher.update(typeof data === 'string' ? encoder.encode(data) : data);
    return this;
  }

  digest(): Buffer;
  digest(encoding: 'hex' | 'base64'): string;
  digest(encoding?: 'hex' | 'base64'): Buffer | string {
    const bytes = Buffer.from(this.#hasher.digest());
    return encoding === undefined ? bytes : bytes.toString(encoding);
  }
}

/** @throws Error for an algorithm other than `sha256` and `sm3`. */
export function createHash(algorithm: string): Hash {
  const make = HASHES[algorithm];
  if (!make) throw new Error(`Digest method not supported: ${algorithm}`);
  return new HashImpl(make());
}

/**
 * Node's one-shot `hash`: the digest of `data` (text is hashed as UTF-8) as a Buffer with
 * `'buffer'`, else as text in `outputEncoding`, hex by default as in Node.
 * @throws Error for an algorithm other than `sha256` and `sm3`.
 */
export function hash(
  algorithm: string,
  data: Uint8Array | string,
  outputEncoding: 'buffer',
): Buffer;
export function hash(
  algorithm: string,
  data: Uint8Array | string,
  outputEncoding?: 'hex' | 'base64',
): string;
export function hash(
  algorithm: string,
  data: Uint8Array | string,
  outputEncoding: 'buffer' | 'hex' | 'base64' = 'hex',
): Buffer | string {
  const digest = createHash(algorithm).update(data);
  return outputEncoding === 'buffer' ? digest.digest() : digest.digest(outputEncoding);
}

/** The subset of Node's `KeyObject` core reads. */
export interface KeyObject {
  readonly type: 'public';
  readonly asymmetricKeyType: 'ed25519' | 'ec' | 'rsa' | 'other';
  readonly asymmetricKeyDetails: {
    readonly namedCurve?: string;
    /** RSA: the size of the modulus in bits. */
    readonly modulusLength?: number;
    /** RSA: the public exponent. */
    readonly publicExponent?: bigint;
  };
  /** The raw public key: 32 bytes (Ed25519), a SEC1 point (EC), or the DER RSAPublicKey (RSA). */
  readonly raw: Uint8Array;
  /** Node's `export({ format: 'der', type: 'spki' })`: the SubjectPublicKeyInfo it was read from. */
  export(options: { format: 'der'; type: 'spki' }): Uint8Array;
}

/** The value of big-endian unsigned `bytes` (at least one byte). */
function toBigInt(bytes: Uint8Array): bigint {
  return BigInt(`0x${Buffer.from(bytes).toString('hex')}`);
}

/** The number of bits of `value` (non-negative): Node's `modulusLength`, OpenSSL's `BN_num_bits`. */
function bitLength(value: bigint): number {
  return value === 0n ? 0 : value.toString(2).length;
}

/**
 * The next DER INTEGER of `reader`, which must be positive and minimally encoded (X.690 §8.3.2).
 * @throws Error otherwise.
 */
function readPositiveInteger(reader: DerReader, what: string): bigint {
  let value: bigint;
  try {
    value = toBigInt(reader.readUnsigned());
  } catch (error) {
    throw new Error(`RSA key: ${what}: ${(error as Error).message}`);
  }
  if (value === 0n) throw new Error(`RSA key: ${what} is zero`);
  return value;
}

/**
 * Reads `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }` (RFC 8017 §A.1.1),
 * all of `der`: an odd modulus, an odd exponent of at least 3.
 * @throws Error when it is not one.
 */
function readRsaPublicKey(der: Uint8Array): { n: bigint; e: bigint } {
  const outer = new DerReader(der);
  const sequence = new DerReader(outer.read(0x30));
  if (!outer.done) throw new Error('RSA key: bytes after the RSAPublicKey');
  const n = readPositiveInteger(sequence, 'modulus');
  const e = readPositiveInteger(sequence, 'public exponent');
  if (!sequence.done) throw new Error('RSA key: trailing fields');
  if ((n & 1n) === 0n) throw new Error('RSA key: even modulus');
  if ((e & 1n) === 0n || e < 3n) throw new Error('RSA key: public exponent not odd and at least 3');
  return { n, e };
}

/** Parses SubjectPublicKeyInfo DER. @throws Error when it is not one. */
function parseSpki(der: Uint8Array): KeyObject {
  // OpenSSL's d2i reads the first structure and ignores bytes after it; so does this.
  const outer = new DerReader(der);
  const spki = new DerReader(outer.read(0x30));
  const whole = der.slice(0, outer.offset);
  const exported = (options: { format: 'der'; type: 'spki' }): Uint8Array => {
    if (options.format !== 'der' || options.type !== 'spki') throw new Error('only SPKI DER');
    return whole.slice();
  };
  const algorithm = new DerReader(spki.read(0x30));
  const bitString = spki.read(0x03);
  if (!spki.done) throw new Error('SPKI: trailing fields');
  if (bitString[0] !== 0) throw new Error('SPKI: unused bits in the key');
  const raw = bitString.subarray(1);
  const oid = algorithm.readOid();
  if (oid === OID.ed25519) {
    if (!algorithm.done) throw new Error('SPKI: Ed25519 takes no parameters');
    if (raw.length !== 32) throw new Error('SPKI: an Ed25519 key is 32 bytes');
    return {
      type: 'public',
      asymmetricKeyType: 'ed25519',
      asymmetricKeyDetails: {},
      raw,
      export: exported,
    };
  }
  if (oid === OID.ecPublicKey) {
    const curve = algorithm.readOid();
    if (!algorithm.done) throw new Error('SPKI: trailing EC parameters');
    if (curve !== OID.prime256v1) {
      return {
        type: 'public',
        asymmetricKeyType: 'ec',
        asymmetricKeyDetails: {},
        raw,
        export: exported,
      };
    }
    p256.Point.fromBytes(raw); // throws unless the point is on the curve, as OpenSSL does
    return {
      type: 'public',
      asymmetricKeyType: 'ec',
      asymmetricKeyDetails: { namedCurve: 'prime256v1' },
      raw,
      export: exported,
    };
  }
  if (oid === OID.rsaEncryption) {
    // RFC 3279 §2.3.1: the parameters MUST be NULL (OpenSSL takes any, or none).
    const parameters = algorithm.element();
    if (parameters.tag !== 0x05 || parameters.contents.length !== 0 || !algorithm.done) {
      throw new Error('SPKI: RSA parameters must be NULL');
    }
    const { n, e } = readRsaPublicKey(raw);
    return {
      type: 'public',
      asymmetricKeyType: 'rsa',
      asymmetricKeyDetails: { modulusLength: bitLength(n), publicExponent: e },
      raw,
      export: exported,
    };
  }
  return {
    type: 'public',
    asymmetricKeyType: 'other',
    asymmetricKeyDetails: {},
    raw,
    export: exported,
  };
}

/**
 * Node's `createPublicKey` for SPKI DER input.
 * @throws Error for any other input, or bytes that are not a public key.
 */
export function createPublicKey(input: {
  key: Uint8Array;
  format: 'der';
  type: 'spki';
}): KeyObject {
  if (input.format !== 'der' || input.type !== 'spki') throw new Error('only SPKI DER keys');
  return parseSpki(input.key);
}

/** `base` to the power `exponent` modulo `modulus`: square-and-multiply, left to right. */
function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n % modulus;
  for (const bit of exponent.toString(2)) {
    result = (result * result) % modulus;
    if (bit === '1') result = (result * base) % modulus;
  }
  return result;
}

/**
 * The DER of SHA-256's `DigestInfo` before the hash (RFC 8017 §9.2 note 1): SEQUENCE (49 bytes) {
 * SEQUENCE { OID 2.16.840.1.101.3.4.2.1, NULL }, OCTET STRING (32 bytes) }.
 */
const SHA256_DIGEST_INFO = Buffer.from(`3031300d0609${OID.sha256}05000420`, 'hex');

/** OpenSSL's limits on an RSA public key it verifies with (rsa_ossl_public_decrypt). */
const RSA_MAX_MODULUS_BITS = 16384;
const RSA_SMALL_MODULUS_BITS = 3072;
const RSA_MAX_PUBEXP_BITS = 64;

/**
 * RSASSA-PKCS1-v1_5 verification with SHA-256 (RFC 8017 §8.2.2): `signature` is k bytes (k the
 * length of the modulus in bytes) and below n, and s^e mod n is exactly
 * `00 01 FF..FF 00 || DigestInfo || SHA-256(data)` with at least 8 bytes FF (§9.2). False where
 * OpenSSL refuses the key for verifying, too.
 */
function verifyRsaPkcs1Sha256(
  data: Uint8Array,
  rsaPublicKey: Uint8Array,
  signature: Uint8Array,
): boolean {
  const { n, e } = readRsaPublicKey(rsaPublicKey);
  const bits = bitLength(n);
  if (bits > RSA_MAX_MODULUS_BITS || e >= n) return false;
  if (bits > RSA_SMALL_MODULUS_BITS && bitLength(e) > RSA_MAX_PUBEXP_BITS) return false;
  const k = Math.ceil(bits / 8);
  const t = new Uint8Array(SHA256_DIGEST_INFO.length + 32);
  t.set(SHA256_DIGEST_INFO);
  t.set(sha256(data), SHA256_DIGEST_INFO.length);
  if (signature.length !== k || k < t.length + 11) return false;
  const s = toBigInt(signature);
  if (s >= n) return false;
  const m = modPow(s, e, n);
  const em = Buffer.from(m.toString(16).padStart(2 * k, '0'), 'hex'); // I2OSP(m, k): m < n
  const expected = new Uint8Array(k).fill(0xff);
  expected[0] = 0x00;
  expected[1] = 0x01;
  expected[k - t.length - 1] = 0x00;
  expected.set(t, k - t.length);
  let difference = em.length ^ k;
  for (let i = 0; i < k; i++) difference |= (em[i] as number) ^ (expected[i] as number);
  return difference === 0;
}

/**
 * Node's one-shot `verify`: Ed25519 with `algorithm` null, ECDSA P-256 with `'sha256'` and a DER
 * signature, RSA PKCS#1 v1.5 with `'sha256'` (or `'SHA256'`). False for any other combination and
 * for signatures that do not verify.
 */
export function verify(
  algorithm: string | null | undefined,
  data: Uint8Array,
  key: KeyObject,
  signature: Uint8Array,
): boolean {
  try {
    if (key.asymmetricKeyType === 'ed25519' && (algorithm === null || algorithm === undefined)) {
      return ed25519.verify(signature, data, key.raw, { zip215: false });
    }
    if (
      key.asymmetricKeyType === 'ec' &&
      key.asymmetricKeyDetails.namedCurve === 'prime256v1' &&
      algorithm === 'sha256'
    ) {
      return p256.verify(signature, data, key.raw, { prehash: true, lowS: false, format: 'der' });
    }
    if (key.asymmetricKeyType === 'rsa' && (algorithm === 'sha256' || algorithm === 'SHA256')) {
      return verifyRsaPkcs1Sha256(data, key.raw, signature);
    }
    return false;
  } catch {
    return false;
  }
}
