/**
 * Signed HTTP requests: what a platform signs, and how a signature is checked. Pure (no I/O), so
 * the gateway verifies with the same code a client, the CLI or a test signs with.
 *
 * A signed request carries four headers ({@link SIGNED_REQUEST_HEADERS}) and is signed over the
 * canonical string ({@link canonicalRequest}): seven lines joined by `\n`, no trailing newline:
 *
 * ```
 * EVIDENCE-REQUEST-V1
 * POST                                   method, upper case
 * /v1/evidence?x=1                       the request target exactly as sent (path and query)
 * sha256:<64 hex>                        SHA-256 of the body bytes as sent (of nothing when empty)
 * 1767225600000                          x-evidence-timestamp: Unix time in milliseconds
 * 3q2-7wAAAAC8u8rK3q2-7w                 x-evidence-nonce: 16-128 of [A-Za-z0-9_-], never reused
 * sha256:<64 hex>                        x-evidence-key-id: SHA-256 of the public key's SPKI DER
 * ```
 *
 * The algorithm is the one registered with the key, never one the request names (no algorithm
 * confusion):
 * - `ed25519`: RFC 8032 over the UTF-8 bytes of the string;
 * - `ecdsa-p256-sha256`: ECDSA P-256 with SHA-256, DER, S in low form (S <= n/2) as Fabric
 *   requires, so a signature cannot be altered into a second valid one;
 * - `sm2-sm3`: SM2 with SM3 (GB/T 32918 / GM/T 0003), Z computed with the key's signer ID
 *   (default `1234567812345678`, GM/T 0009), DER.
 * The signature header is standard base64 of the signature bytes.
 */

import { createPublicKey, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { sm2 } from 'sm-crypto-v2';
import { formatDigest, sha256, type Digest } from './digest';
import type { FieldError } from './errors';
import { DEFAULT_SM2_USER_ID } from './block';
import {
  P256_N,
  SM2_SPKI_PREFIX,
  derSignature,
  isLowS,
  keyIdOf,
  parseDerSignature,
  sm2PointOfSpki,
  verifySignature,
} from './signature';

export const REQUEST_SIGNATURE_SCHEME = 'EVIDENCE-REQUEST-V1';

/** The headers of a signed request (lower case, as Node presents them). */
export const SIGNED_REQUEST_HEADERS = {
  keyId: 'x-evidence-key-id',
  timestamp: 'x-evidence-timestamp',
  nonce: 'x-evidence-nonce',
  signature: 'x-evidence-signature',
} as const;

export const REQUEST_SIGNATURE_ALGORITHMS = ['ed25519', 'ecdsa-p256-sha256', 'sm2-sm3'] as const;
export type RequestSignatureAlgorithm = (typeof REQUEST_SIGNATURE_ALGORITHMS)[number];

/** GM/T 0009-2012 default signer ID, used when a key registers none. */
export { DEFAULT_SM2_USER_ID };

export const KEY_ID_PATTERN = '^sha256:[0-9a-f]{64}$';
export const NONCE_PATTERN = '^[A-Za-z0-9_-]{16,128}$';
/** Unix milliseconds: 1 to 15 digits, no sign, no leading zero. */
export const TIMESTAMP_PATTERN = '^[1-9][0-9]{0,14}$';
/** SM2 signer IDs: printable ASCII, at most 64 bytes (the ID length is a 16-bit bit count). */
export const SM2_USER_ID_PATTERN = '^[\\x21-\\x7e]{1,64}$';
/** Standard base64 of at most 1 KiB of signature. */
const SIGNATURE_PATTERN = /^[A-Za-z0-9+/]{4,1400}={0,2}$/;

/** The parts of a request that its signature covers. */
export interface RequestParts {
  /** HTTP method (upper-cased here). */
  readonly method: string;
  /** Request target as sent: path and query, e.g. `/v1/evidence?x=1`. */
  readonly target: string;
  /** `sha256:` digest of the body bytes ({@link bodyDigest}). */
  readonly bodyDigest: Digest;
  /** Unix time in milliseconds. */
  readonly timestamp: number;
  readonly nonce: string;
  readonly keyId: string;
}

/** A registered public key, parsed and ready to verify with. */
export interface RequestPublicKey {
  readonly algorithm: RequestSignatureAlgorithm;
  /** `sha256:` of the SPKI DER: the `x-evidence-key-id` a request names. */
  readonly keyId: Digest;
  /** SPKI DER, base64: how the key is stored and shown. */
  readonly spki: string;
  /** SM2 only: the signer ID Z is computed with. */
  readonly userId?: string;
  /** Node key (Ed25519, P-256) or SM2 point as hex (`04` + X + Y). */
  readonly material: KeyObject | string;
}

/** `sha256:` digest of the body bytes; an absent or empty body digests as nothing. */
export function bodyDigest(body?: Uint8Array | string): Digest {
  return formatDigest('sha256', sha256(body ?? new Uint8Array(0)));
}

/** The string a request's signature covers (see the module comment). */
export function canonicalRequest(parts: RequestParts): string {
  return [
    REQUEST_SIGNATURE_SCHEME,
    parts.method.toUpperCase(),
    parts.target,
    parts.bodyDigest,
    String(parts.timestamp),
    parts.nonce,
    parts.keyId,
  ].join('\n');
}

/** Reads PEM or base64 DER as DER bytes; `undefined` when it is neither. */
function derOf(text: string): Buffer | undefined {
  const pem =
    /^-----BEGIN PUBLIC KEY-----\s*([A-Za-z0-9+/=\s]+?)\s*-----END PUBLIC KEY-----\s*$/.exec(
      text.trim(),
    );
  const body = (pem ? (pem[1] as string) : text).replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body)) return undefined;
  const der = Buffer.from(body, 'base64');
  return der.length > 0 ? der : undefined;
}

function sm2Point(hex: string): boolean {
  try {
    return sm2.verifyPublicKey(hex);
  } catch {
    return false;
  }
}

/**
 * Parses a public key for `algorithm`: PEM or base64 SPKI DER; for `sm2-sm3` also the
 * uncompressed point as hex (`04` + 128 hex digits).
 * @returns the key, or the field errors (under `path`) saying why it is not one.
 */
export function parseRequestPublicKey(
  algorithm: RequestSignatureAlgorithm,
  text: string,
  userId?: string,
  path = '',
): RequestPublicKey | FieldError[] {
  const bad = (message: string): FieldError[] => [
    { path: `${path}/key`, rule: 'publicKey', message },
  ];
  if (typeof text !== 'string' || text.length === 0 || text.length > 4096) {
    return bad('must be a public key (PEM or base64 SPKI)');
  }
  if (algorithm === 'sm2-sm3') {
    const point = /^04[0-9a-fA-F]{128}$/.test(text)
      ? text.toLowerCase()
      : (() => {
          const der = derOf(text);
          return der ? sm2PointOfSpki(der) : undefined;
        })();
    if (!point || !sm2Point(point))
      return bad('must be an SM2 public key (SPKI or 04 + X + Y hex)');
    const spki = Buffer.concat([SM2_SPKI_PREFIX, Buffer.from(point.slice(2), 'hex')]);
    const id = userId ?? DEFAULT_SM2_USER_ID;
    if (!new RegExp(SM2_USER_ID_PATTERN).test(id)) {
      return [{ path: `${path}/userId`, rule: 'pattern', message: 'must be 1-64 printable ASCII' }];
    }
    return {
      algorithm,
      keyId: keyIdOf(spki),
      spki: spki.toString('base64'),
      userId: id,
      material: point,
    };
  }
  if (userId !== undefined) {
    return [
      { path: `${path}/userId`, rule: 'algorithm', message: 'only SM2 keys have a signer ID' },
    ];
  }
  const der = derOf(text);
  let key: KeyObject;
  try {
    if (!der) throw new Error('not base64');
    key = createPublicKey({ key: der, format: 'der', type: 'spki' });
  } catch {
    return bad('must be a public key (PEM or base64 SPKI)');
  }
  const fits =
    algorithm === 'ed25519'
      ? key.asymmetricKeyType === 'ed25519'
      : key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
  if (!fits) return bad(`must be a key for ${algorithm}`);
  const spki = key.export({ format: 'der', type: 'spki' });
  return { algorithm, keyId: keyIdOf(spki), spki: spki.toString('base64'), material: key };
}

/**
 * True when `signatureBase64` is a valid signature of `message` by `key`. Never throws.
 * ECDSA signatures must be low-S; base64 must be canonical.
 */
export function verifyRequestSignature(
  key: RequestPublicKey,
  message: string,
  signatureBase64: string,
): boolean {
  try {
    if (typeof signatureBase64 !== 'string' || !SIGNATURE_PATTERN.test(signatureBase64))
      return false;
    const bytes = Buffer.from(message, 'utf8');
    switch (key.algorithm) {
      case 'ed25519':
      case 'ecdsa-p256-sha256':
        return verifySignature(key.algorithm, key.material as KeyObject, bytes, signatureBase64);
      case 'sm2-sm3': {
        const signature = Buffer.from(signatureBase64, 'base64');
        if (signature.toString('base64') !== signatureBase64) return false;
        return sm2.doVerifySignature(
          new Uint8Array(bytes),
          signature.toString('hex'),
          key.material as string,
          { hash: true, der: true, userId: key.userId ?? DEFAULT_SM2_USER_ID },
        );
      }
      default:
        return false;
    }
  } catch {
    return false;
  }
}

/** A private key to sign requests with (clients and tests). */
export type RequestSigner =
  | { readonly algorithm: 'ed25519' | 'ecdsa-p256-sha256'; readonly privateKey: KeyObject }
  | {
      readonly algorithm: 'sm2-sm3';
      /** The private scalar as 64 hex digits. */
      readonly privateKey: string;
      /** The public point (`04` + X + Y), which Z is computed from. */
      readonly publicKey: string;
      readonly userId?: string;
    };

/** Rewrites a DER ECDSA P-256 signature with S replaced by n - S when S is high. */
export function toLowS(der: Uint8Array): Buffer {
  const buffer = Buffer.from(der);
  const parsed = parseDerSignature(buffer);
  if (!parsed || isLowS(buffer)) return buffer;
  return derSignature(parsed.r, P256_N - parsed.s);
}

/** Signs a canonical request string; returns the base64 signature. */
export function signCanonicalRequest(signer: RequestSigner, message: string): string {
  const bytes = Buffer.from(message, 'utf8');
  switch (signer.algorithm) {
    case 'ed25519':
      return cryptoSign(null, bytes, signer.privateKey).toString('base64');
    case 'ecdsa-p256-sha256':
      return toLowS(cryptoSign('sha256', bytes, signer.privateKey)).toString('base64');
    case 'sm2-sm3': {
      const hex = sm2.doSignature(new Uint8Array(bytes), signer.privateKey, {
        hash: true,
        der: true,
        publicKey: signer.publicKey,
        userId: signer.userId ?? DEFAULT_SM2_USER_ID,
      });
      return Buffer.from(hex, 'hex').toString('base64');
    }
  }
}

/**
 * The four headers of a signed request.
 * @param request method, target and body exactly as they will be sent.
 */
export function signRequest(
  signer: RequestSigner,
  keyId: string,
  request: {
    readonly method: string;
    readonly target: string;
    readonly body?: Uint8Array | string;
    readonly timestamp: number;
    readonly nonce: string;
  },
): Record<(typeof SIGNED_REQUEST_HEADERS)[keyof typeof SIGNED_REQUEST_HEADERS], string> {
  const message = canonicalRequest({
    method: request.method,
    target: request.target,
    bodyDigest: bodyDigest(request.body),
    timestamp: request.timestamp,
    nonce: request.nonce,
    keyId,
  });
  return {
    [SIGNED_REQUEST_HEADERS.keyId]: keyId,
    [SIGNED_REQUEST_HEADERS.timestamp]: String(request.timestamp),
    [SIGNED_REQUEST_HEADERS.nonce]: request.nonce,
    [SIGNED_REQUEST_HEADERS.signature]: signCanonicalRequest(signer, message),
  } as Record<(typeof SIGNED_REQUEST_HEADERS)[keyof typeof SIGNED_REQUEST_HEADERS], string>;
}
