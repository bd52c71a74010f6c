/**
 * SM2 keys for tests: a fresh key pair, its SubjectPublicKeyInfo and key id as trust files name
 * them, and SM2-with-SM3 signatures (GM/T 0003) with any signer ID, DER and base64 as core reads
 * them.
 */

import { sm2 } from 'sm-crypto-v2';
import { DEFAULT_SM2_USER_ID } from '../../core/block';
import type { Digest } from '../../core/digest';
import { SM2_SPKI_PREFIX, keyIdOf } from '../../core/signature';

export interface TestSm2Key {
  /** `04` + X + Y, hex. */
  readonly point: string;
  /** Base64 SubjectPublicKeyInfo DER. */
  readonly publicKey: string;
  readonly keyId: Digest;
  /** Base64 DER signature of `data`, Z computed with `userId` (the default one if none). */
  sign(data: Uint8Array, userId?: string): string;
}

export function newSm2Key(): TestSm2Key {
  const pair = sm2.generateKeyPairHex();
  const spki = Buffer.concat([SM2_SPKI_PREFIX, Buffer.from(pair.publicKey.slice(2), 'hex')]);
  return {
    point: pair.publicKey,
    publicKey: spki.toString('base64'),
    keyId: keyIdOf(spki),
    sign: (data, userId = DEFAULT_SM2_USER_ID) =>
      Buffer.from(
        sm2.doSignature(new Uint8Array(data), pair.privateKey, {
          hash: true,
          der: true,
          publicKey: pair.publicKey,
          userId,
        }),
        'hex',
      ).toString('base64'),
  };
}
