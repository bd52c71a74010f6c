import {
  createHash,
  generateKeyPairSync,
  randomBytes,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { SignatureAlgorithm } from '../../core/block';
import {
  isCanonicalDerSignature,
  isLowS,
  keyIdOf,
  nodeKeyAlgorithmOf,
  publicKeyFromSpki,
  verifySignature,
} from '../../core/signature';
import { opensslVerifiesSm2 } from '../support/openssl-sm2';
import { newSm2Key } from '../support/sm2';

/** Order of the P-256 group (SEC 2 §2.4.2), written out here independently of core. */
const N = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');
const HALF = (N - 1n) / 2n;

/** DER INTEGER of a non-negative bigint: minimal big-endian, 0x00 prefix when the top bit is set. */
function derInteger(value: bigint): Buffer {
  let hex = value.toString(16);
  if (hex.length % 2 === 1) hex = `0${hex}`;
  let bytes = Buffer.from(hex, 'hex');
  if ((bytes[0] as number) & 0x80) bytes = Buffer.concat([Buffer.of(0), bytes]);
  return Buffer.concat([Buffer.of(0x02, bytes.length), bytes]);
}

/** DER ECDSA-Sig-Value (RFC 3279 §2.2.3): SEQUENCE { r INTEGER, s INTEGER }. */
function derSignature(r: bigint, s: bigint): Buffer {
  const body = Buffer.concat([derInteger(r), derInteger(s)]);
  return Buffer.concat([Buffer.of(0x30, body.length), body]);
}

const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ed = generateKeyPairSync('ed25519');
const message = Buffer.from('block header bytes');

/** A fresh P-256 signature of `message` in its low-S and its high-S DER encodings. */
function p256Twins(): { low: Buffer; high: Buffer } {
  const raw = sign('sha256', message, { key: ec.privateKey, dsaEncoding: 'ieee-p1363' });
  const r = BigInt(`0x${raw.subarray(0, 32).toString('hex')}`);
  const s = BigInt(`0x${raw.subarray(32).toString('hex')}`);
  const lowS = s <= HALF ? s : N - s;
  return { low: derSignature(r, lowS), high: derSignature(r, N - lowS) };
}

describe('isLowS', () => {
  it('tells the low-S and the high-S twin of genuine P-256 signatures apart', () => {
    for (let i = 0; i < 25; i++) {
      const { low, high } = p256Twins();
      // Both twins are valid ECDSA signatures: OpenSSL accepts either.
      expect(verify('sha256', message, ec.publicKey, low)).toBe(true);
      expect(verify('sha256', message, ec.publicKey, high)).toBe(true);
      expect(isLowS(low)).toBe(true);
      expect(isLowS(high)).toBe(false);
    }
  });

  it('encodes the test signatures as OpenSSL does', () => {
    for (let i = 0; i < 10; i++) {
      const der = sign('sha256', message, ec.privateKey);
      // Parse OpenSSL's DER with a naive reader and re-encode it.
      const rLength = der[3] as number;
      const r = BigInt(`0x${der.subarray(4, 4 + rLength).toString('hex')}`);
      const s = BigInt(`0x${der.subarray(6 + rLength).toString('hex')}`);
      expect(derSignature(r, s)).toEqual(der);
    }
  });

  it('puts the boundary at (n - 1) / 2', () => {
    const r = 12345n;
    expect(isLowS(derSignature(r, 1n))).toBe(true);
    expect(isLowS(derSignature(r, HALF))).toBe(true);
    expect(isLowS(derSignature(r, HALF + 1n))).toBe(false);
    expect(isLowS(derSignature(r, N - 1n))).toBe(false);
  });

  it.each([
    ['empty', Buffer.alloc(0)],
    ['a lone SEQUENCE tag', Buffer.of(0x30)],
    ['the wrong outer tag', Buffer.concat([Buffer.of(0x31), derSignature(1n, 1n).subarray(1)])],
    [
      'an outer length too long',
      Buffer.concat([Buffer.of(0x30, 0x7f), derSignature(1n, 1n).subarray(2)]),
    ],
    ['a trailing byte', Buffer.concat([derSignature(1n, 1n), Buffer.of(0)])],
    ['a zero-length integer', Buffer.of(0x30, 0x07, 0x02, 0x01, 0x01, 0x02, 0x00, 0x00, 0x00)],
    ['an integer longer than 33 bytes', derSignature(1n, 2n ** 270n)],
    ['a missing s', Buffer.of(0x30, 0x06, 0x02, 0x01, 0x01, 0x04, 0x01, 0x01)],
    ['a long-form length', Buffer.of(0x30, 0x81, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01)],
    ['random bytes', randomBytes(70)],
  ])('is false, without throwing, for %s', (_what, bytes) => {
    expect(isLowS(bytes)).toBe(false);
  });
});

describe('verifySignature', () => {
  const edSignature = sign(null, message, ed.privateKey).toString('base64');

  it('accepts a genuine Ed25519 signature and refuses it over other data', () => {
    expect(verifySignature('ed25519', ed.publicKey, message, edSignature)).toBe(true);
    expect(verifySignature('ed25519', ed.publicKey, Buffer.from('other'), edSignature)).toBe(false);
  });

  it('accepts a low-S P-256 signature and refuses its high-S twin', () => {
    for (let i = 0; i < 10; i++) {
      const { low, high } = p256Twins();
      const alg: SignatureAlgorithm = 'ecdsa-p256-sha256';
      expect(verifySignature(alg, ec.publicKey, message, low.toString('base64'))).toBe(true);
      expect(verifySignature(alg, ec.publicKey, message, high.toString('base64'))).toBe(false);
    }
  });

  it('refuses a signature with a flipped bit', () => {
    const flipped = Buffer.from(edSignature, 'base64');
    flipped[10] = (flipped[10] as number) ^ 0x01;
    expect(verifySignature('ed25519', ed.publicKey, message, flipped.toString('base64'))).toBe(
      false,
    );
  });

  it('refuses base64 that is not in canonical form even when it decodes to the signature', () => {
    const unpadded = edSignature.replace(/=+$/, '');
    expect(unpadded).not.toBe(edSignature);
    expect(Buffer.from(unpadded, 'base64').toString('base64')).toBe(edSignature);
    expect(verifySignature('ed25519', ed.publicKey, message, unpadded)).toBe(false);
    expect(verifySignature('ed25519', ed.publicKey, message, `${edSignature}\n`)).toBe(false);
    expect(verifySignature('ed25519', ed.publicKey, message, ` ${edSignature}`)).toBe(false);
    // The last character before "==" carries 4 unused bits: changing them keeps the bytes.
    const last = edSignature.length - 3;
    const sameBytes = `${edSignature.slice(0, last)}${edSignature[last] === 'A' ? 'B' : 'A'}==`;
    if (Buffer.from(sameBytes, 'base64').equals(Buffer.from(edSignature, 'base64'))) {
      expect(verifySignature('ed25519', ed.publicKey, message, sameBytes)).toBe(false);
    }
  });

  const sm2Key = newSm2Key();
  const sm2Public = publicKeyFromSpki(sm2Key.publicKey) as KeyObject;
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const x25519 = generateKeyPairSync('x25519');
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const ecSignature = p256Twins().low.toString('base64');
  const keys: ReadonlyArray<readonly [string, KeyObject]> = [
    ['ed25519', ed.publicKey],
    ['P-256', ec.publicKey],
    ['P-384', p384.publicKey],
    ['RSA', rsa.publicKey],
    ['X25519', x25519.publicKey],
    ['SM2', sm2Public],
  ];
  const garbage: readonly string[] = [
    '',
    '=',
    '====',
    '!!!!',
    'not base64 at all',
    'AB==',
    'AAAA',
    Buffer.alloc(64).toString('base64'),
    randomBytes(64).toString('base64'),
    randomBytes(72).toString('base64'),
    randomBytes(4096).toString('base64'),
    'A'.repeat(100_001),
  ];
  const algorithms = [
    'ed25519',
    'ecdsa-p256-sha256',
    'sm2-sm3',
    'rsa-sha256',
    '',
  ] as SignatureAlgorithm[];

  it('never throws and never accepts garbage, whatever the key and algorithm', () => {
    for (const [, key] of keys) {
      for (const algorithm of algorithms) {
        for (const value of garbage) {
          expect(verifySignature(algorithm, key, message, value)).toBe(false);
        }
      }
    }
  });

  it('refuses a genuine signature under the wrong key type or algorithm', () => {
    expect(verifySignature('ecdsa-p256-sha256', ed.publicKey, message, edSignature)).toBe(false);
    expect(verifySignature('ed25519', ec.publicKey, message, ecSignature)).toBe(false);
    expect(verifySignature('ecdsa-p256-sha256', ed.publicKey, message, ecSignature)).toBe(false);
    const rsaSignature = sign('sha256', message, rsa.privateKey).toString('base64');
    for (const algorithm of algorithms) {
      expect(verifySignature(algorithm, rsa.publicKey, message, rsaSignature)).toBe(false);
    }
    const p384Signature = sign('sha256', message, p384.privateKey).toString('base64');
    expect(verify('sha256', message, p384.publicKey, Buffer.from(p384Signature, 'base64'))).toBe(
      true,
    );
    expect(verifySignature('ecdsa-p256-sha256', p384.publicKey, message, p384Signature)).toBe(
      false,
    );
  });

  it('refuses an SM2 signature under another algorithm, and other signatures under sm2-sm3', () => {
    const sm2Signature = sm2Key.sign(message);
    expect(verifySignature('sm2-sm3', sm2Public, message, sm2Signature)).toBe(true);
    expect(verifySignature('ecdsa-p256-sha256', sm2Public, message, sm2Signature)).toBe(false);
    expect(verifySignature('ed25519', sm2Public, message, sm2Signature)).toBe(false);
    expect(verifySignature('sm2-sm3', ec.publicKey, message, ecSignature)).toBe(false);
    expect(verifySignature('sm2-sm3', ed.publicKey, message, edSignature)).toBe(false);
    expect(verifySignature('sm2-sm3', p384.publicKey, message, sm2Signature)).toBe(false);
  });

  it('refuses an EC key on another 256-bit curve under ecdsa-p256-sha256', () => {
    const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
    // A genuine secp256k1 signature whose S is low by P-256's measure (about one in two).
    let value = '';
    while (!isLowS(Buffer.from(value, 'base64'))) {
      value = sign('sha256', message, k1.privateKey).toString('base64');
    }
    expect(verify('sha256', message, k1.publicKey, Buffer.from(value, 'base64'))).toBe(true);
    expect(verifySignature('ecdsa-p256-sha256', k1.publicKey, message, value)).toBe(false);
  });

  it('never throws on values of the wrong type', () => {
    const hostile: unknown[] = [null, undefined, 42, {}, [], Buffer.from(edSignature)];
    for (const value of hostile) {
      expect(verifySignature('ed25519', ed.publicKey, message, value as string)).toBe(false);
      expect(verifySignature('ed25519', value as KeyObject, message, edSignature)).toBe(false);
      expect(verifySignature('ed25519', ed.publicKey, value as Uint8Array, edSignature)).toBe(
        false,
      );
    }
  });
});

describe('publicKeyFromSpki and keyIdOf', () => {
  const spki = ed.publicKey.export({ format: 'der', type: 'spki' });

  it('reads a base64 SPKI key back', () => {
    const key = publicKeyFromSpki(spki.toString('base64'));
    expect(key?.asymmetricKeyType).toBe('ed25519');
    expect(key?.equals(ed.publicKey)).toBe(true);
  });

  it.each(['', 'AAAA', '!!!', randomBytes(44).toString('base64'), 'MCowBQYDK2VwAyEA'])(
    'is undefined, without throwing, for %j',
    (text) => {
      expect(publicKeyFromSpki(text)).toBeUndefined();
    },
  );

  it('names a key by the sha256 of its SPKI DER', () => {
    expect(keyIdOf(spki)).toBe(`sha256:${createHash('sha256').update(spki).digest('hex')}`);
  });
});

/** Order of the SM2 group (GB/T 32918.5 §2), written out here independently of core. */
const SM2_N = BigInt('0xfffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123');

describe('SM2 signatures (sm2-sm3)', () => {
  const key = newSm2Key();
  const publicKey = publicKeyFromSpki(key.publicKey) as KeyObject;
  const data = Buffer.from('block header bytes, signed with SM2');

  /** (r, s) of a DER signature, read naively. */
  function rs(base64: string): { r: bigint; s: bigint } {
    const der = Buffer.from(base64, 'base64');
    const rLength = der[3] as number;
    const r = BigInt(`0x${der.subarray(4, 4 + rLength).toString('hex')}`);
    const s = BigInt(`0x${der.subarray(6 + rLength).toString('hex')}`);
    return { r, s };
  }

  it('accepts a signature with the default signer ID, and no other', () => {
    const signature = key.sign(data);
    expect(verifySignature('sm2-sm3', publicKey, data, signature)).toBe(true);
    expect(verifySignature('sm2-sm3', publicKey, Buffer.from('other'), signature)).toBe(false);
    expect(verifySignature('sm2-sm3', publicKey, data, key.sign(data, 'ALICE123@YAHOO.COM'))).toBe(
      false,
    );
    expect(verifySignature('sm2-sm3', publicKey, data, newSm2Key().sign(data))).toBe(false);
  });

  it('tells an SM2 key from the others by its SubjectPublicKeyInfo', () => {
    expect(nodeKeyAlgorithmOf(publicKey)).toBe('sm2-sm3');
    expect(nodeKeyAlgorithmOf(ed.publicKey)).toBe('ed25519');
    expect(nodeKeyAlgorithmOf(ec.publicKey)).toBeUndefined();
    const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey;
    expect(nodeKeyAlgorithmOf(k1)).toBeUndefined();
  });

  it('refuses every encoding of (r, s) but the one DER allows, and (r, s) out of range', () => {
    const signature = key.sign(data);
    const { r, s } = rs(signature);
    expect(derSignature(r, s).toString('base64')).toBe(signature);
    // r with one more leading zero byte: the same integers, a longer encoding.
    const padded = (value: bigint): Buffer => {
      const minimal = derInteger(value);
      const body = Buffer.concat([Buffer.of(0), minimal.subarray(2)]);
      return Buffer.concat([Buffer.of(0x02, body.length), body]);
    };
    const longR = Buffer.concat([padded(r), derInteger(s)]);
    const nonMinimal = Buffer.concat([Buffer.of(0x30, longR.length), longR]);
    const outOfRange = derSignature(r, s + SM2_N);
    for (const bad of [nonMinimal, outOfRange, derSignature(0n, s), derSignature(r, 0n)]) {
      expect(isCanonicalDerSignature(bad, SM2_N)).toBe(false);
      expect(verifySignature('sm2-sm3', publicKey, data, bad.toString('base64'))).toBe(false);
    }
    expect(isCanonicalDerSignature(Buffer.from(signature, 'base64'), SM2_N)).toBe(true);
  });

  it('refuses a key whose point is not on the SM2 curve, in Node and in the check itself', () => {
    const off = Buffer.from(key.publicKey, 'base64');
    off[off.length - 1] = (off[off.length - 1] as number) ^ 1;
    expect(publicKeyFromSpki(off.toString('base64'))).toBeUndefined();
    // The browser's key reader checks no point but P-256's (web/crypto-shim.ts): core's own SM2
    // check refuses the point, as a key read that way presents it.
    const asTheShimReadsIt = {
      asymmetricKeyType: 'ec',
      asymmetricKeyDetails: {},
      export: () => off,
    } as unknown as KeyObject;
    expect(nodeKeyAlgorithmOf(asTheShimReadsIt)).toBeUndefined();
    expect(verifySignature('sm2-sm3', asTheShimReadsIt, data, key.sign(data))).toBe(false);
    const genuine = Buffer.from(key.publicKey, 'base64');
    const genuineAsShim = { ...asTheShimReadsIt, export: () => genuine } as unknown as KeyObject;
    expect(verifySignature('sm2-sm3', genuineAsShim, data, key.sign(data))).toBe(true);
  });

  it('refuses every single flipped bit of a signature', () => {
    const signature = Buffer.from(key.sign(data), 'base64');
    for (let bit = 0; bit < signature.length * 8; bit++) {
      const flipped = Buffer.from(signature);
      flipped[bit >> 3] = (flipped[bit >> 3] as number) ^ (1 << (bit & 7));
      expect(verifySignature('sm2-sm3', publicKey, data, flipped.toString('base64'))).toBe(false);
    }
  });

  describe('against OpenSSL (GM/T 0003 with distid, an implementation of its own)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sm2-openssl-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const openssl = (args: readonly string[]): string =>
      execFileSync('openssl', args, { cwd: dir, encoding: 'utf8', stdio: 'pipe' });
    const dataFile = path.join(dir, 'data.bin');
    writeFileSync(dataFile, data);

    it('accepts what OpenSSL signs with the default signer ID, and refuses another ID', () => {
      const pair = generateKeyPairSync('ec', { namedCurve: 'SM2' });
      writeFileSync(
        path.join(dir, 'key.pem'),
        pair.privateKey.export({ format: 'pem', type: 'pkcs8' }),
      );
      const spki = pair.publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
      const signWith = (id: string): string => {
        const out = path.join(dir, `sig-${id}.der`);
        openssl(
          ['pkeyutl', '-sign', '-in', dataFile, '-rawin', '-digest', 'sm3', '-inkey'].concat([
            'key.pem',
            '-pkeyopt',
            `distid:${id}`,
            '-out',
            out,
          ]),
        );
        return execFileSync('base64', ['-w0', out], { encoding: 'utf8' });
      };
      const pinned = publicKeyFromSpki(spki) as KeyObject;
      expect(verifySignature('sm2-sm3', pinned, data, signWith('1234567812345678'))).toBe(true);
      expect(verifySignature('sm2-sm3', pinned, data, signWith('8765432187654321'))).toBe(false);
    });

    it('has OpenSSL accept what core accepts', () => {
      const signature = key.sign(data);
      expect(opensslVerifiesSm2(data, signature, key.publicKey)).toBe(true);
      // OpenSSL too computes Z with the signer ID: another one does not verify there either.
      expect(opensslVerifiesSm2(data, signature, key.publicKey, 'ALICE123@YAHOO.COM')).toBe(false);
    });
  });
});
