import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sm2 } from 'sm-crypto-v2';
import { afterAll, describe, expect, it } from 'vitest';
import { isLowS } from '../../core/signature';
import {
  DEFAULT_SM2_USER_ID,
  bodyDigest,
  canonicalRequest,
  parseRequestPublicKey,
  signCanonicalRequest,
  signRequest,
  toLowS,
  verifyRequestSignature,
  type RequestPublicKey,
} from '../../core/request-signing';

const KEY_ID = `sha256:${'ab'.repeat(32)}`;

function parsed(...args: Parameters<typeof parseRequestPublicKey>): RequestPublicKey {
  const result = parseRequestPublicKey(...args);
  if (Array.isArray(result)) throw new Error(JSON.stringify(result));
  return result;
}

function ed25519() {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const key = parsed('ed25519', publicKey.export({ format: 'pem', type: 'spki' }).toString());
  return { key, signer: { algorithm: 'ed25519' as const, privateKey } };
}

function p256() {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const key = parsed(
    'ecdsa-p256-sha256',
    publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
  );
  return { key, signer: { algorithm: 'ecdsa-p256-sha256' as const, privateKey } };
}

function sm2Pair(userId?: string) {
  const pair = sm2.generateKeyPairHex();
  const key = parsed('sm2-sm3', pair.publicKey, userId);
  return {
    key,
    signer: {
      algorithm: 'sm2-sm3' as const,
      privateKey: pair.privateKey,
      publicKey: pair.publicKey,
      ...(userId ? { userId } : {}),
    },
  };
}

describe('canonicalRequest', () => {
  it('joins scheme, method, target, body digest, timestamp, nonce and key id with newlines', () => {
    const text = canonicalRequest({
      method: 'post',
      target: '/v1/evidence?x=1',
      bodyDigest: bodyDigest('{"a":1}'),
      timestamp: 1767225600000,
      nonce: 'AAAAAAAAAAAAAAAA',
      keyId: KEY_ID,
    });
    expect(text).toBe(
      [
        'EVIDENCE-REQUEST-V1',
        'POST',
        '/v1/evidence?x=1',
        'sha256:015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862',
        '1767225600000',
        'AAAAAAAAAAAAAAAA',
        KEY_ID,
      ].join('\n'),
    );
  });

  it('digests an absent body as the empty string', () => {
    expect(bodyDigest()).toBe(
      'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    expect(bodyDigest(new Uint8Array(0))).toBe(bodyDigest(''));
  });
});

describe('verifyRequestSignature', () => {
  const message = 'EVIDENCE-REQUEST-V1\nGET\n/v1/chain';

  for (const [name, make] of [
    ['ed25519', ed25519],
    ['ecdsa-p256-sha256', p256],
    ['sm2-sm3', () => sm2Pair()],
  ] as const) {
    it(`accepts a ${name} signature and refuses it over another message or from another key`, () => {
      const { key, signer } = make();
      const signature = signCanonicalRequest(signer, message);
      expect(verifyRequestSignature(key, message, signature)).toBe(true);
      expect(verifyRequestSignature(key, `${message}?`, signature)).toBe(false);
      expect(verifyRequestSignature(make().key, message, signature)).toBe(false);
      const bytes = Buffer.from(signature, 'base64');
      bytes[bytes.length - 3] = (bytes[bytes.length - 3] as number) ^ 0x01;
      expect(verifyRequestSignature(key, message, bytes.toString('base64'))).toBe(false);
      for (const garbage of ['', '!!!!', 'AAAA', signature.slice(1), `${signature}=`]) {
        expect(verifyRequestSignature(key, message, garbage)).toBe(false);
      }
    });
  }

  it('refuses a high-S ECDSA signature that is otherwise valid (Fabric low-S rule)', () => {
    const { key, signer } = p256();
    const n = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');
    for (let i = 0; i < 8; i++) {
      const low = toLowS(cryptoSign('sha256', Buffer.from(message), signer.privateKey));
      expect(isLowS(low)).toBe(true);
      expect(verifyRequestSignature(key, message, low.toString('base64'))).toBe(true);
      // The same signature with S replaced by n - S: valid ECDSA, refused here.
      const rLength = low[3] as number;
      const sStart = 4 + rLength + 2;
      const s = BigInt(
        `0x${low.subarray(sStart, sStart + (low[sStart - 1] as number)).toString('hex')}`,
      );
      let hex = (n - s).toString(16);
      if (hex.length % 2) hex = `0${hex}`;
      if (parseInt(hex.slice(0, 2), 16) >= 0x80) hex = `00${hex}`;
      const high = Buffer.concat([
        low.subarray(2, 4 + rLength),
        Buffer.from([0x02, hex.length / 2]),
        Buffer.from(hex, 'hex'),
      ]);
      const der = Buffer.concat([Buffer.from([0x30, high.length]), high]);
      expect(isLowS(der)).toBe(false);
      expect(verifyRequestSignature(key, message, der.toString('base64'))).toBe(false);
    }
  });

  it('computes SM2 Z with the registered signer ID', () => {
    const { key, signer } = sm2Pair('court-platform@example');
    expect(key.userId).toBe('court-platform@example');
    const signature = signCanonicalRequest(signer, message);
    expect(verifyRequestSignature(key, message, signature)).toBe(true);
    const defaultId = parsed('sm2-sm3', signer.publicKey);
    expect(defaultId.userId).toBe(DEFAULT_SM2_USER_ID);
    expect(verifyRequestSignature(defaultId, message, signature)).toBe(false);
  });

  describe('SM2 against OpenSSL (GM/T 0003 with distid)', () => {
    let dir: string | undefined;
    afterAll(async () => {
      if (dir) await fs.rm(dir, { recursive: true, force: true });
    });

    it('verifies a signature made by openssl pkeyutl and an SPKI exported by openssl', async () => {
      dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sm2-'));
      const keyFile = path.join(dir, 'sm2.pem');
      const messageFile = path.join(dir, 'message');
      const signatureFile = path.join(dir, 'signature.der');
      await fs.writeFile(messageFile, message);
      const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
      openssl([
        'genpkey',
        '-algorithm',
        'EC',
        '-pkeyopt',
        'ec_paramgen_curve:SM2',
        '-out',
        keyFile,
      ]);
      const spkiPem = openssl(['pkey', '-in', keyFile, '-pubout']).toString();
      for (const userId of [DEFAULT_SM2_USER_ID, 'another-signer']) {
        openssl([
          'pkeyutl',
          '-sign',
          '-rawin',
          '-digest',
          'sm3',
          '-in',
          messageFile,
          '-inkey',
          keyFile,
          '-pkeyopt',
          `distid:${userId}`,
          '-out',
          signatureFile,
        ]);
        const signature = (await fs.readFile(signatureFile)).toString('base64');
        const key = parsed('sm2-sm3', spkiPem, userId);
        expect(verifyRequestSignature(key, message, signature)).toBe(true);
        expect(verifyRequestSignature(key, `${message}x`, signature)).toBe(false);
      }
    });
  });
});

describe('parseRequestPublicKey', () => {
  it('names the same key by the same id whatever form it was given in', () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    const pem = parsed('ed25519', publicKey.export({ format: 'pem', type: 'spki' }).toString());
    const der = parsed(
      'ed25519',
      publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
    );
    expect(pem.keyId).toBe(der.keyId);
    expect(pem.keyId).toMatch(/^sha256:[0-9a-f]{64}$/);
    const pair = sm2.generateKeyPairHex();
    const fromHex = parsed('sm2-sm3', pair.publicKey);
    expect(parsed('sm2-sm3', fromHex.spki).keyId).toBe(fromHex.keyId);
  });

  it('refuses keys of another algorithm, garbage, points off the curve and stray signer IDs', () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    const edPem = publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const cases: Array<[Parameters<typeof parseRequestPublicKey>, string]> = [
      [['ecdsa-p256-sha256', edPem], '/key'],
      [['ed25519', 'not a key'], '/key'],
      [['ed25519', ''], '/key'],
      [['sm2-sm3', `04${'1'.repeat(128)}`], '/key'],
      [['sm2-sm3', edPem], '/key'],
      [['ed25519', edPem, 'someone'], '/userId'],
      [['sm2-sm3', sm2.generateKeyPairHex().publicKey, 'has space'], '/userId'],
    ];
    for (const [args, pointer] of cases) {
      const result = parseRequestPublicKey(...args);
      expect(Array.isArray(result), String(args[1]).slice(0, 20)).toBe(true);
      expect((result as { path: string }[])[0]?.path).toBe(pointer);
    }
  });
});

describe('signRequest', () => {
  it('produces the four headers, and a signature over exactly what is sent', () => {
    const { key, signer } = ed25519();
    const body = JSON.stringify({ digests: [] });
    const headers = signRequest(signer, key.keyId, {
      method: 'POST',
      target: '/v1/evidence',
      body,
      timestamp: 1767225600000,
      nonce: 'nonce-nonce-nonce-1',
    });
    expect(Object.keys(headers).sort()).toEqual([
      'x-evidence-key-id',
      'x-evidence-nonce',
      'x-evidence-signature',
      'x-evidence-timestamp',
    ]);
    const message = canonicalRequest({
      method: 'POST',
      target: '/v1/evidence',
      bodyDigest: bodyDigest(body),
      timestamp: 1767225600000,
      nonce: 'nonce-nonce-nonce-1',
      keyId: key.keyId,
    });
    expect(verifyRequestSignature(key, message, headers['x-evidence-signature'])).toBe(true);
  });
});
