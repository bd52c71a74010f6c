/**
 * Signature verification over pinned public keys. Pure: keys arrive as bytes from a trust file.
 * Ed25519 (RFC 8032) and SM2 with SM3 (GB/T 32918, GM/T 0003, signer ID
 * {@link DEFAULT_SM2_USER_ID}) for node keys; ECDSA P-256 with SHA-256 as Fabric uses it, where a
 * signature must also be in low-S form. ECDSA and SM2 signatures are DER and must be in its one
 * canonical encoding, so that no byte of a signature can change without failing the check.
 */

import { createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { sm2 } from 'sm-crypto-v2';
import { derElement, derUnsigned } from './der';
import { formatDigest, sha256, type Digest } from './digest';
import {
  DEFAULT_SM2_USER_ID,
  SIGNATURE_ALGORITHMS,
  type NodeKeyAlgorithm,
  type SignatureAlgorithm,
} from './block';

/** `sha256:` of a key's SubjectPublicKeyInfo DER: how receipts and trust files name keys. */
export function keyIdOf(spkiDer: Uint8Array): Digest {
  return formatDigest('sha256', sha256(spkiDer));
}

/**
 * Keys parsed lately, by their base64 text: a verifier checks many receipts against the few keys
 * of its trust file, and parsing a key costs about as much as checking a signature. A KeyObject
 * is immutable, so sharing one is safe; the cache is bounded.
 */
const parsedKeys = new Map<string, KeyObject | undefined>();
const PARSED_KEYS_MAX = 64;

/** Parses a base64 SPKI DER public key; `undefined` when the bytes are not a key. */
export function publicKeyFromSpki(spkiBase64: string): KeyObject | undefined {
  if (parsedKeys.has(spkiBase64)) return parsedKeys.get(spkiBase64);
  let key: KeyObject | undefined;
  try {
    const der = Buffer.from(spkiBase64, 'base64');
    key = der.length === 0 ? undefined : createPublicKey({ key: der, format: 'der', type: 'spki' });
  } catch {
    key = undefined;
  }
  if (parsedKeys.size >= PARSED_KEYS_MAX)
    parsedKeys.delete(parsedKeys.keys().next().value as string);
  parsedKeys.set(spkiBase64, key);
  return key;
}

/** Order of the P-256 group (SEC 2). */
export const P256_N = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');
/** Order of the SM2 group (GB/T 32918.5). */
export const SM2_N = BigInt('0xfffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123');

/** DER `SEQUENCE { INTEGER r, INTEGER s }` of non-negative `r` and `s` below 2^256. */
export function derSignature(r: bigint, s: bigint): Buffer {
  return derElement(0x30, derUnsigned(r), derUnsigned(s));
}

/** True when a DER ECDSA signature has S <= n/2 (Fabric rejects high-S signatures). */
export function isLowS(signature: Uint8Array): boolean {
  const parsed = parseDerSignature(signature);
  return parsed !== undefined && parsed.s <= P256_N / 2n;
}

/**
 * True when `sig` is `SEQUENCE { INTEGER r, INTEGER s }` in DER's one encoding (minimal lengths
 * and integers, nothing after) with 1 <= r, s < `n`.
 */
export function isCanonicalDerSignature(sig: Uint8Array, n: bigint): boolean {
  const parsed = parseDerSignature(sig);
  if (!parsed) return false;
  const { r, s } = parsed;
  if (r < 1n || r >= n || s < 1n || s >= n) return false;
  return derSignature(r, s).equals(sig);
}

/** SubjectPublicKeyInfo prefix of an SM2 key: id-ecPublicKey, sm2p256v1, an uncompressed point. */
export const SM2_SPKI_PREFIX = Buffer.from(
  '3059301306072a8648ce3d020106082a811ccf5501822d03420004',
  'hex',
);

/** The point of an SM2 SubjectPublicKeyInfo as hex (`04` + X + Y); `undefined` for any other. */
export function sm2PointOfSpki(der: Uint8Array): string | undefined {
  const bytes = Buffer.from(der.buffer, der.byteOffset, der.byteLength);
  if (bytes.length !== SM2_SPKI_PREFIX.length + 64) return undefined;
  if (!bytes.subarray(0, SM2_SPKI_PREFIX.length).equals(SM2_SPKI_PREFIX)) return undefined;
  return `04${bytes.subarray(SM2_SPKI_PREFIX.length).toString('hex')}`;
}

/** SM2 points with their precomputed tables (a verification then costs ~1/7): bounded. */
const sm2Points = new Map<string, ReturnType<typeof sm2.precomputePublicKey> | null>();

/** The SM2 point of `key`, ready to verify with; `undefined` when `key` is not an SM2 key. */
function sm2KeyOf(key: KeyObject): ReturnType<typeof sm2.precomputePublicKey> | undefined {
  let spki: Uint8Array;
  try {
    spki = key.export({ format: 'der', type: 'spki' });
  } catch {
    return undefined;
  }
  const point = sm2PointOfSpki(spki);
  if (point === undefined) return undefined;
  let ready = sm2Points.get(point);
  if (ready === undefined) {
    try {
      ready = sm2.verifyPublicKey(point) ? sm2.precomputePublicKey(point) : null;
    } catch {
      ready = null;
    }
    if (sm2Points.size >= PARSED_KEYS_MAX)
      sm2Points.delete(sm2Points.keys().next().value as string);
    sm2Points.set(point, ready);
  }
  return ready ?? undefined;
}

/**
 * The algorithm a node's public key signs blocks with: `ed25519` or `sm2-sm3`; `undefined` for
 * any other key.
 */
export function nodeKeyAlgorithmOf(key: KeyObject): NodeKeyAlgorithm | undefined {
  if (key.asymmetricKeyType === 'ed25519') return 'ed25519';
  return sm2KeyOf(key) !== undefined ? 'sm2-sm3' : undefined;
}

/**
 * `r` and `s` of a DER `SEQUENCE { INTEGER r, INTEGER s }` with short-form lengths (ECDSA and SM2
 * signatures over 256-bit groups); `undefined` for anything else. Not strict about minimal
 * integers: {@link isCanonicalDerSignature} is.
 */
export function parseDerSignature(sig: Uint8Array): { r: bigint; s: bigint } | undefined {
  // SEQUENCE { INTEGER r, INTEGER s }, short-form lengths only (P-256 signatures are < 128 bytes).
  if (sig.length < 8 || sig[0] !== 0x30 || sig[1] !== sig.length - 2) return undefined;
  let offset = 2;
  const ints: bigint[] = [];
  for (let i = 0; i < 2; i++) {
    if (sig[offset] !== 0x02) return undefined;
    const length = sig[offset + 1];
    if (length === undefined || length === 0 || length > 33) return undefined;
    const bytes = sig.subarray(offset + 2, offset + 2 + length);
    if (bytes.length !== length) return undefined;
    ints.push(BigInt(`0x${Buffer.from(bytes).toString('hex')}`));
    offset += 2 + length;
  }
  if (offset !== sig.length) return undefined;
  return { r: ints[0] as bigint, s: ints[1] as bigint };
}

/**
 * What a time-stamp authority's key may sign RFC 3161 tokens with (core/timestamp.ts): RSA PKCS#1
 * v1.5 with SHA-256 (most TSAs), ECDSA P-256 with SHA-256, SM2 with SM3.
 */
export const TIMESTAMP_ALGORITHMS = ['rsa-pkcs1-sha256', 'ecdsa-p256-sha256', 'sm2-sm3'] as const;
export type TimestampAlgorithm = (typeof TIMESTAMP_ALGORITHMS)[number];

/** Every algorithm a trust file may pin a key for: blocks' and time-stamp authorities'. */
export const PINNED_KEY_ALGORITHMS = [
  ...new Set([...SIGNATURE_ALGORITHMS, ...TIMESTAMP_ALGORITHMS]),
] as readonly (SignatureAlgorithm | TimestampAlgorithm)[];
export type PinnedKeyAlgorithm = SignatureAlgorithm | TimestampAlgorithm;

/** Smallest RSA modulus accepted, in bits. */
export const RSA_MIN_BITS = 2048;

/**
 * Verifies `signatureBase64` over `data` with `key`. Never throws: malformed input is `false`.
 */
export function verifySignature(
  algorithm: SignatureAlgorithm,
  key: KeyObject,
  data: Uint8Array,
  signatureBase64: string,
): boolean {
  try {
    const signature = Buffer.from(signatureBase64, 'base64');
    if (signature.toString('base64') !== signatureBase64) return false;
    return verifySignatureBytes(algorithm, key, data, signature);
  } catch {
    return false;
  }
}

/**
 * Verifies `signature` over `data` with `key`. ECDSA signatures must be low-S (Fabric's rule)
 * unless `lowS: false` (CMS signatures, e.g. time stamps, are made without that rule). Never
 * throws: malformed input is `false`.
 */
export function verifySignatureBytes(
  algorithm: PinnedKeyAlgorithm,
  key: KeyObject,
  data: Uint8Array,
  signature: Uint8Array,
  options: { readonly lowS?: boolean } = {},
): boolean {
  try {
    if (signature.length === 0) return false;
    switch (algorithm) {
      case 'ed25519':
        return key.asymmetricKeyType === 'ed25519' && cryptoVerify(null, data, key, signature);
      case 'ecdsa-p256-sha256':
        return (
          key.asymmetricKeyType === 'ec' &&
          key.asymmetricKeyDetails?.namedCurve === 'prime256v1' &&
          isCanonicalDerSignature(signature, P256_N) &&
          (options.lowS === false || isLowS(signature)) &&
          cryptoVerify('sha256', data, key, signature)
        );
      case 'rsa-pkcs1-sha256':
        return (
          key.asymmetricKeyType === 'rsa' &&
          (key.asymmetricKeyDetails?.modulusLength ?? 0) >= RSA_MIN_BITS &&
          // OpenSSL takes an exponent of 1, under which a padded hash is its own signature.
          (key.asymmetricKeyDetails?.publicExponent ?? 0n) >= 3n &&
          cryptoVerify('sha256', data, key, signature)
        );
      case 'sm2-sm3': {
        const point = sm2KeyOf(key);
        return (
          point !== undefined &&
          isCanonicalDerSignature(signature, SM2_N) &&
          sm2.doVerifySignature(
            new Uint8Array(data),
            Buffer.from(signature).toString('hex'),
            point,
            { hash: true, der: true, userId: DEFAULT_SM2_USER_ID },
          )
        );
      }
      default:
        return false;
    }
  } catch {
    return false;
  }
}
