/**
 * Signature verification over pinned public keys. Pure: keys arrive as bytes from a trust file.
 * Ed25519 (RFC 8032) for node keys; ECDSA P-256 with SHA-256 as Fabric uses it, where a signature
 * must also be in low-S form.
 */

import { createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { formatDigest, sha256, type Digest } from './digest';
import type { SignatureAlgorithm } from './block';

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

const P256_N = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');

/** True when a DER ECDSA signature has S <= n/2 (Fabric rejects high-S signatures). */
export function isLowS(derSignature: Uint8Array): boolean {
  const parsed = parseDerEcdsa(derSignature);
  return parsed !== undefined && parsed.s <= P256_N / 2n;
}

function parseDerEcdsa(sig: Uint8Array): { r: bigint; s: bigint } | undefined {
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
    if (signature.length === 0 || signature.toString('base64') !== signatureBase64) return false;
    switch (algorithm) {
      case 'ed25519':
        return key.asymmetricKeyType === 'ed25519' && cryptoVerify(null, data, key, signature);
      case 'ecdsa-p256-sha256':
        return (
          key.asymmetricKeyType === 'ec' &&
          key.asymmetricKeyDetails?.namedCurve === 'prime256v1' &&
          isLowS(signature) &&
          cryptoVerify('sha256', data, key, signature)
        );
      default:
        return false;
    }
  } catch {
    return false;
  }
}
