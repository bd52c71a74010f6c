/**
 * Verifying signed requests (the format is core/request-signing.ts). Two steps, because the body
 * arrives after the headers:
 *
 * 1. {@link SignedRequestVerifier.admit}, before the body is read: the four headers are present
 *    and well formed (else `BAD_SIGNATURE`), the timestamp is within the window of the node's
 *    clock and not older than the node's start (else `STALE_TIMESTAMP`), and the key id names a
 *    live principal's public key (else `UNAUTHENTICATED`).
 * 2. {@link SignedRequestVerifier.verify}, once the body's digest is known: the signature over the
 *    canonical string (else `BAD_SIGNATURE`), then the nonce, which must be new for this key
 *    (else `REPLAYED_NONCE`). Nonces are remembered only for verified signatures, so nobody can
 *    burn another principal's nonces.
 *
 * Replay protection. A nonce is remembered until its request's timestamp leaves the window; after
 * that the timestamp alone refuses the request. Memory is bounded by `nonceCacheMax`: expired
 * nonces are swept, and when the cache is still full signed requests are refused with
 * `OVERLOADED` (evicting a live nonce would allow a replay). Nonces are kept in memory only; on a
 * restart they are gone, so requests signed before the node started are refused as stale: the
 * start-up guard (`timestamp >= startedAt`) closes the window a restart would otherwise reopen.
 * A node behind a load balancer has its own cache: pin a client's signed requests to one node.
 */

import { AccessError, LedgerError, SecurityError } from '../../core/errors';
import type { Digest } from '../../core/digest';
import {
  KEY_ID_PATTERN,
  NONCE_PATTERN,
  SIGNED_REQUEST_HEADERS,
  TIMESTAMP_PATTERN,
  canonicalRequest,
  verifyRequestSignature,
  type RequestPublicKey,
} from '../../core/request-signing';
import type { KeyStore, Principal } from './api-keys';

export interface SignedRequestOptions {
  readonly keys: KeyStore;
  /** How far a timestamp may be from the node's clock, either way (ms). */
  readonly windowMs: number;
  /** Nonces remembered at most. */
  readonly nonceCacheMax: number;
  /** Milliseconds since the epoch; default `Date.now`. */
  readonly clock?: () => number;
  /** When the node started: older timestamps are refused. Default: the clock at creation. */
  readonly startedAt?: number;
}

/** A request whose headers passed step 1, waiting for its body. */
export interface AdmittedRequest {
  readonly principal: Principal;
  readonly key: RequestPublicKey;
  readonly keyId: string;
  readonly timestamp: number;
  readonly nonce: string;
  readonly signature: string;
}

export interface SignedRequestVerifier {
  /** True when the request carries any of the signature headers (it is then a signed request). */
  isSigned(headers: Readonly<Record<string, string | string[] | undefined>>): boolean;
  /**
   * Step 1: headers, time window, key id.
   * @throws SecurityError `BAD_SIGNATURE`, `STALE_TIMESTAMP`; AccessError `UNAUTHENTICATED`.
   */
  admit(headers: Readonly<Record<string, string | string[] | undefined>>): AdmittedRequest;
  /**
   * Step 2: signature over method, target and body digest; then the nonce.
   * @throws SecurityError `BAD_SIGNATURE`, `REPLAYED_NONCE`; LedgerError `OVERLOADED` when the
   *   nonce cache is full.
   */
  verify(admitted: AdmittedRequest, method: string, target: string, bodyDigest: Digest): Principal;
  /** Nonces currently remembered. */
  readonly remembered: number;
}

const KEY_ID = new RegExp(KEY_ID_PATTERN);
const NONCE = new RegExp(NONCE_PATTERN);
const TIMESTAMP = new RegExp(TIMESTAMP_PATTERN);
const HEADER_NAMES = Object.values(SIGNED_REQUEST_HEADERS);

/** Nonce -> expiry (ms), swept lazily. */
class NonceCache {
  readonly #max: number;
  readonly #sweepEveryMs: number;
  readonly #entries = new Map<string, number>();
  #lastSweep = 0;

  constructor(max: number, sweepEveryMs: number) {
    this.#max = max;
    this.#sweepEveryMs = sweepEveryMs;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** `new` (now remembered), `seen` (a replay), or `full`. */
  remember(key: string, expiresAt: number, now: number): 'new' | 'seen' | 'full' {
    const known = this.#entries.get(key);
    if (known !== undefined && known >= now) return 'seen';
    if (now - this.#lastSweep >= this.#sweepEveryMs || this.#entries.size >= this.#max) {
      this.#sweep(now);
    }
    if (this.#entries.size >= this.#max) return 'full';
    this.#entries.set(key, expiresAt);
    return 'new';
  }

  #sweep(now: number): void {
    this.#lastSweep = now;
    for (const [key, expiresAt] of this.#entries) if (expiresAt < now) this.#entries.delete(key);
  }
}

function single(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

class SignedRequestVerifierImpl implements SignedRequestVerifier {
  readonly #keys: KeyStore;
  readonly #windowMs: number;
  readonly #clock: () => number;
  readonly #startedAt: number;
  readonly #nonces: NonceCache;

  constructor(options: SignedRequestOptions) {
    this.#keys = options.keys;
    this.#windowMs = options.windowMs;
    this.#clock = options.clock ?? Date.now;
    this.#startedAt = options.startedAt ?? this.#clock();
    this.#nonces = new NonceCache(options.nonceCacheMax, Math.max(1000, options.windowMs / 10));
  }

  get remembered(): number {
    return this.#nonces.size;
  }

  isSigned(headers: Readonly<Record<string, string | string[] | undefined>>): boolean {
    return HEADER_NAMES.some((name) => headers[name] !== undefined);
  }

  admit(headers: Readonly<Record<string, string | string[] | undefined>>): AdmittedRequest {
    const keyId = single(headers[SIGNED_REQUEST_HEADERS.keyId]);
    const timestampText = single(headers[SIGNED_REQUEST_HEADERS.timestamp]);
    const nonce = single(headers[SIGNED_REQUEST_HEADERS.nonce]);
    const signature = single(headers[SIGNED_REQUEST_HEADERS.signature]);
    if (
      keyId === undefined ||
      timestampText === undefined ||
      nonce === undefined ||
      signature === undefined
    ) {
      throw new SecurityError(
        'BAD_SIGNATURE',
        `a signed request carries each of ${HEADER_NAMES.join(', ')} once`,
      );
    }
    if (!KEY_ID.test(keyId) || !NONCE.test(nonce) || !TIMESTAMP.test(timestampText)) {
      throw new SecurityError(
        'BAD_SIGNATURE',
        'malformed signature headers: key id sha256:<hex>, nonce of 16-128 [A-Za-z0-9_-], ' +
          'timestamp in Unix milliseconds',
      );
    }
    const timestamp = Number(timestampText);
    const now = this.#clock();
    if (Math.abs(now - timestamp) > this.#windowMs) {
      throw new SecurityError(
        'STALE_TIMESTAMP',
        `the request timestamp is more than ${this.#windowMs / 1000} s from the node's clock`,
      );
    }
    if (timestamp < this.#startedAt) {
      throw new SecurityError(
        'STALE_TIMESTAMP',
        'the request was signed before the node started; sign it again',
      );
    }
    const registered = this.#keys.byPublicKey(keyId);
    if (!registered) throw new AccessError('UNAUTHENTICATED', 'the key id is not valid');
    return {
      principal: registered.principal,
      key: registered.key,
      keyId,
      timestamp,
      nonce,
      signature,
    };
  }

  verify(admitted: AdmittedRequest, method: string, target: string, bodyDigest: Digest): Principal {
    // The principal may have been revoked or changed while the body was read.
    const current = this.#keys.byPublicKey(admitted.keyId);
    if (!current) throw new AccessError('UNAUTHENTICATED', 'the key id is not valid');
    const message = canonicalRequest({
      method,
      target,
      bodyDigest,
      timestamp: admitted.timestamp,
      nonce: admitted.nonce,
      keyId: admitted.keyId,
    });
    if (!verifyRequestSignature(current.key, message, admitted.signature)) {
      throw new SecurityError('BAD_SIGNATURE', 'the request signature does not verify');
    }
    const now = this.#clock();
    const remembered = this.#nonces.remember(
      `${current.principal.keyId} ${admitted.nonce}`,
      admitted.timestamp + this.#windowMs,
      now,
    );
    if (remembered === 'seen') {
      throw new SecurityError('REPLAYED_NONCE', 'this nonce was already used with this key');
    }
    if (remembered === 'full') {
      throw new LedgerError('OVERLOADED', 'too many signed requests in the time window');
    }
    return current.principal;
  }
}

/** A verifier of signed requests against the principals in `options.keys`. */
export function createSignedRequestVerifier(options: SignedRequestOptions): SignedRequestVerifier {
  return new SignedRequestVerifierImpl(options);
}
