/**
 * OpenSSL's verdict on an SM2 signature (GM/T 0003, SM3, the default signer ID), an implementation
 * independent of the one the node and the verifier use: `openssl pkeyutl -verify -rawin -digest
 * sm3 -pkeyopt distid:1234567812345678`.
 */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_SM2_USER_ID } from '../../core/block';

/**
 * Whether OpenSSL accepts `signatureBase64` (DER) over `data` by the key whose base64 SPKI DER is
 * `publicKey`, its Z computed with `userId`.
 */
export function opensslVerifiesSm2(
  data: Uint8Array,
  signatureBase64: string,
  publicKey: string,
  userId: string = DEFAULT_SM2_USER_ID,
): boolean {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'openssl-sm2-'));
  try {
    writeFileSync(path.join(dir, 'data.bin'), data);
    writeFileSync(path.join(dir, 'sig.der'), Buffer.from(signatureBase64, 'base64'));
    writeFileSync(
      path.join(dir, 'pub.pem'),
      `-----BEGIN PUBLIC KEY-----\n${publicKey}\n-----END PUBLIC KEY-----\n`,
    );
    const args = ['pkeyutl', '-verify', '-in', 'data.bin', '-rawin', '-digest', 'sm3', '-pubin'];
    args.push('-inkey', 'pub.pem', '-sigfile', 'sig.der', '-pkeyopt', `distid:${userId}`);
    try {
      const out = execFileSync('openssl', args, { cwd: dir, encoding: 'utf8', stdio: 'pipe' });
      return out.includes('Signature Verified Successfully');
    } catch {
      return false; // OpenSSL exits 1 for a signature that does not verify
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
