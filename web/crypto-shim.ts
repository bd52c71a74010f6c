/**
 * What core takes from `node:crypto`, for the browser bundle (scripts/build-web.mjs maps
 * `node:crypto` here). Exactly what core calls, nothing more:
 *
 * - `createHash('sha256' | 'sm3')` with `update(bytes | text)` and `digest()` (digest.ts): SHA-256
 *   from noble-hashes, SM3 from web/sm3.ts;
 * - the one-shot `hash(algorithm, bytes | text, outputEncoding)` (digest.ts), over `createHash`;
 * - `createPublicKey({ key: der, format: 'der', type: 'spki' })` (signature.ts): a SubjectPublicKeyInfo
 *   (RFC 5280 §4.1.2.7) parsed strictly, its key type and curve exposed as Node's `KeyObject`
 *   does (`asymmetricKeyType`, `asymmetricKeyDetails.namedCurve`), and `export` of its DER (SM2
 *   keys, which core verifies with sm-crypto-v2 in the browser as in Node);
 * - `verify(algorithm, data, key, signature)` (signature.ts): Ed25519 (RFC 8032, strict: noble's
 *   `zip215: false`, as OpenSSL) and ECDSA P-256 with SHA-256 over a DER signature (FIPS 186-4;
 *   high-S accepted here as by OpenSSL: core itself requires low-S for Fabric).
 *
 * Where Node would accept a key this shim does not know (RSA, other curves), the shim returns a key
 * of another type, so core answers as with Node: the signature does not verify. Malformed input
 * throws, as Node's does; core turns it into a failed check. test/web/crypto-shim.test.ts checks
 * it against `node:crypto`.
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
  readonly asymmetricKeyType: 'ed25519' | 'ec' | 'other';
  readonly asymmetricKeyDetails: { readonly namedCurve?: string };
  /** The raw public key: 32 bytes (Ed25519) or a SEC1 point (EC). */
  readonly raw: Uint8Array;
  /** Node's `export({ format: 'der', type: 'spki' })`: the SubjectPublicKeyInfo it was read from. */
  export(options: { format: 'der'; type: 'spki' }): Uint8Array;
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

/**
 * Node's one-shot `verify`: Ed25519 with `algorithm` null, ECDSA P-256 with `'sha256'` and a DER
 * signature. False for any other combination and for signatures that do not verify.
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
    return false;
  } catch {
    return false;
  }
}
