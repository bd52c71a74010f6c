/**
 * A time-stamp authority's key as a trust file pins it, taken from the authority's X.509
 * certificate: the certificate must be for time stamping (RFC 3161 §2.3: extended key usage
 * `id-kp-timeStamping`), its key one a token is checked with, and the key's window is the
 * certificate's validity. Kept apart from core/timestamp.ts, which the browser's verifier bundles:
 * reading certificates is only for the CLI and the node. Pure.
 */

import { X509Certificate, type KeyObject } from 'node:crypto';
import { keyIdOf, nodeKeyAlgorithmOf, RSA_MIN_BITS, type TimestampAlgorithm } from './signature';
import type { TrustedKey } from './trust';

/** RFC 5280's id-kp-timeStamping, as `X509Certificate.keyUsage` lists it. */
export const TIME_STAMPING_USAGE = '1.3.6.1.5.5.7.3.8';

/** The algorithm a trust file pins a time-stamp authority's key for, or `undefined`. */
export function timestampAlgorithmOfKey(key: KeyObject): TimestampAlgorithm | undefined {
  if (key.asymmetricKeyType === 'rsa') {
    const { modulusLength = 0, publicExponent = 0n } = key.asymmetricKeyDetails ?? {};
    return modulusLength >= RSA_MIN_BITS && publicExponent >= 3n ? 'rsa-pkcs1-sha256' : undefined;
  }
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1')
    return 'ecdsa-p256-sha256';
  return nodeKeyAlgorithmOf(key) === 'sm2-sm3' ? 'sm2-sm3' : undefined;
}

/** RFC 3339 UTC, without a fraction, of a certificate's validity date. */
function certificateTime(text: string): string {
  return new Date(text).toISOString().replace('.000Z', 'Z');
}

/** An authority's certificate read: the key to pin and what to show people. */
export interface AuthorityCertificate {
  readonly key: TrustedKey;
  readonly subject: string;
  /** `sha256:` of the certificate's DER: what authorities publish to compare copies with. */
  readonly fingerprint: string;
}

/**
 * Reads the first certificate of `pem` (PEM or DER): the authority's own.
 * @throws Error naming what is wrong: not a certificate, not for time stamping, a key no token
 *   is checked with (RSA under {@link RSA_MIN_BITS} bits, other curves).
 */
export function authorityCertificate(pem: Uint8Array | string): AuthorityCertificate {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(pem);
  } catch (error) {
    throw new Error(`not a certificate in PEM or DER (${(error as Error).message})`);
  }
  if (!(certificate.keyUsage ?? []).includes(TIME_STAMPING_USAGE)) {
    throw new Error(
      'the certificate is not for time stamping (no extended key usage timeStamping)',
    );
  }
  const algorithm = timestampAlgorithmOfKey(certificate.publicKey);
  if (!algorithm) {
    throw new Error(
      `the certificate's key is not one a time stamp is checked with (RSA of ${RSA_MIN_BITS} bits or more, ECDSA P-256, SM2)`,
    );
  }
  const spki = certificate.publicKey.export({ format: 'der', type: 'spki' });
  return {
    key: {
      keyId: keyIdOf(spki),
      algorithm,
      publicKey: spki.toString('base64'),
      notBefore: certificateTime(certificate.validFrom),
      notAfter: certificateTime(certificate.validTo),
    },
    subject: certificate.subject.replace(/\n/g, ', '),
    fingerprint: `sha256:${certificate.fingerprint256.replace(/:/g, '').toLowerCase()}`,
  };
}
