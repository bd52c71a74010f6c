/**
 * The browser's stand-in for `node:crypto` against `node:crypto` itself: the same digests, the same
 * keys parsed or refused, the same signatures accepted or refused, and core's signature code
 * (core/signature.ts) answering the same through either.
 */

import * as nodeCrypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import * as shim from '../../web/crypto-shim';

const spkiOf = (key: nodeCrypto.KeyObject) => key.export({ format: 'der', type: 'spki' });

function flipBit(bytes: Uint8Array, bit: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[bit >> 3] = (copy[bit >> 3] as number) ^ (1 << (bit & 7));
  return copy;
}

describe('createHash', () => {
  it.each(['sha256', 'sm3'])(
    'gives the digests of node:crypto for %s, text and bytes, in pieces',
    (algorithm) => {
      for (const length of [0, 1, 55, 56, 63, 64, 65, 1000, 100_000]) {
        const data = nodeCrypto.randomBytes(length);
        const ours = shim
          .createHash(algorithm)
          .update(data.subarray(0, 17))
          .update(data.subarray(17));
        const theirs = nodeCrypto.createHash(algorithm).update(data);
        expect(ours.digest('hex'), `${algorithm}, ${length} bytes`).toBe(theirs.digest('hex'));
      }
      expect(shim.createHash(algorithm).update('证据 evidence').digest().toString('hex')).toBe(
        nodeCrypto.createHash(algorithm).update('证据 evidence').digest('hex'),
      );
    },
  );

  it('refuses an algorithm core does not use', () => {
    expect(() => shim.createHash('md5')).toThrow(/not supported/);
  });
});

describe('hash', () => {
  it.each(['sha256', 'sm3'])('gives the one-shot digests of node:crypto for %s', (algorithm) => {
    for (const length of [0, 1, 55, 56, 64, 65, 1000]) {
      const data = nodeCrypto.randomBytes(length);
      const ours = shim.hash(algorithm, data, 'buffer');
      expect(ours).toBeInstanceOf(Uint8Array);
      expect(Buffer.from(ours).equals(nodeCrypto.hash(algorithm, data, 'buffer'))).toBe(true);
      expect(shim.hash(algorithm, data, 'hex')).toBe(nodeCrypto.hash(algorithm, data, 'hex'));
      expect(shim.hash(algorithm, data, 'base64')).toBe(nodeCrypto.hash(algorithm, data, 'base64'));
      expect(shim.hash(algorithm, data)).toBe(nodeCrypto.hash(algorithm, data));
    }
    for (const text of ['', '证据 evidence', '\u0000leaf', '\ud800 lone']) {
      expect(shim.hash(algorithm, text, 'buffer').toString('hex')).toBe(
        nodeCrypto.hash(algorithm, text, 'hex'),
      );
    }
  });

  it('refuses an algorithm core does not use', () => {
    expect(() => shim.hash('md5', 'x', 'buffer')).toThrow(/not supported/);
  });
});

describe('createPublicKey', () => {
  it('reads Ed25519 and P-256 keys as Node does', () => {
    const ed = nodeCrypto.generateKeyPairSync('ed25519').publicKey;
    const ec = nodeCrypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey;
    const key = (k: nodeCrypto.KeyObject) =>
      shim.createPublicKey({ key: spkiOf(k), format: 'der', type: 'spki' });
    expect(key(ed).asymmetricKeyType).toBe(ed.asymmetricKeyType);
    expect(key(ec).asymmetricKeyType).toBe(ec.asymmetricKeyType);
    expect(key(ec).asymmetricKeyDetails.namedCurve).toBe(ec.asymmetricKeyDetails?.namedCurve);
  });

  it('reads keys it cannot verify with as keys of another kind, as Node reads them', () => {
    const p384 = nodeCrypto.generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey;
    const rsaPss = nodeCrypto.generateKeyPairSync('rsa-pss', { modulusLength: 1024 }).publicKey;
    const ed448 = nodeCrypto.generateKeyPairSync('ed448').publicKey;
    const read = (k: nodeCrypto.KeyObject) =>
      shim.createPublicKey({ key: spkiOf(k), format: 'der', type: 'spki' });
    expect(read(p384).asymmetricKeyType).toBe('ec');
    expect(read(p384).asymmetricKeyDetails.namedCurve).toBeUndefined();
    expect(rsaPss.asymmetricKeyType).toBe('rsa-pss');
    expect(read(rsaPss).asymmetricKeyType).toBe('other');
    expect(ed448.asymmetricKeyType).toBe('ed448');
    expect(read(ed448).asymmetricKeyType).toBe('other');
  });

  it('gives back the SubjectPublicKeyInfo of any key it read, as Node exports it (SM2 keys)', () => {
    const sm2 = spkiOf(nodeCrypto.generateKeyPairSync('ec', { namedCurve: 'SM2' }).publicKey);
    const ed = spkiOf(nodeCrypto.generateKeyPairSync('ed25519').publicKey);
    for (const der of [sm2, ed]) {
      const read = shim.createPublicKey({ key: der, format: 'der', type: 'spki' });
      const node = nodeCrypto.createPublicKey({ key: der, format: 'der', type: 'spki' });
      expect(Buffer.from(read.export({ format: 'der', type: 'spki' }))).toEqual(
        node.export({ format: 'der', type: 'spki' }),
      );
    }
    // Node (OpenSSL 3) names no type for an SM2 key; the shim calls it an EC key of a curve it
    // does not verify with. Either way core tells SM2 keys by their SubjectPublicKeyInfo.
    const read = shim.createPublicKey({ key: sm2, format: 'der', type: 'spki' });
    expect(read.asymmetricKeyDetails.namedCurve).toBeUndefined();
    // Bytes after the structure are not part of what it exports.
    const trailing = Buffer.concat([ed, Buffer.of(0, 1, 2)]);
    const withTrailing = shim.createPublicKey({ key: trailing, format: 'der', type: 'spki' });
    expect(Buffer.from(withTrailing.export({ format: 'der', type: 'spki' }))).toEqual(ed);
  });

  it('refuses what Node refuses: garbage, truncation, a point off the curve', () => {
    const ec = spkiOf(nodeCrypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey);
    const offCurve = Buffer.from(ec);
    offCurve[offCurve.length - 1] = (offCurve[offCurve.length - 1] as number) ^ 1;
    const cases = [
      Buffer.alloc(0),
      Buffer.from('not a key'),
      ec.subarray(0, ec.length - 1),
      offCurve,
    ];
    for (const der of cases) {
      expect(() => nodeCrypto.createPublicKey({ key: der, format: 'der', type: 'spki' })).toThrow();
      expect(() => shim.createPublicKey({ key: der, format: 'der', type: 'spki' })).toThrow();
    }
    // OpenSSL reads the first structure and ignores what follows; so does the shim.
    const trailing = Buffer.concat([ec, Buffer.from([0])]);
    expect(nodeCrypto.createPublicKey({ key: trailing, format: 'der', type: 'spki' }).type).toBe(
      'public',
    );
    expect(shim.createPublicKey({ key: trailing, format: 'der', type: 'spki' }).type).toBe(
      'public',
    );
  });
});

describe('verify', () => {
  const message = Buffer.from('{"purpose":"judicial-evidence/block-header/v1"}');

  it('accepts Ed25519 signatures Node accepts and refuses every one-bit change', () => {
    const { publicKey, privateKey } = nodeCrypto.generateKeyPairSync('ed25519');
    const key = shim.createPublicKey({ key: spkiOf(publicKey), format: 'der', type: 'spki' });
    const signature = nodeCrypto.sign(null, message, privateKey);
    expect(shim.verify(null, message, key, signature)).toBe(true);
    for (let bit = 0; bit < signature.length * 8; bit += 7) {
      const changed = flipBit(signature, bit);
      expect(shim.verify(null, message, key, changed)).toBe(
        nodeCrypto.verify(null, message, publicKey, changed),
      );
    }
    expect(shim.verify(null, flipBit(message, 3), key, signature)).toBe(false);
    expect(shim.verify('sha256', message, key, signature)).toBe(false);
  });

  it('refuses an Ed25519 signature whose S is not reduced, as OpenSSL does (RFC 8032 §5.1.7)', () => {
    const { publicKey, privateKey } = nodeCrypto.generateKeyPairSync('ed25519');
    const key = shim.createPublicKey({ key: spkiOf(publicKey), format: 'der', type: 'spki' });
    const signature = nodeCrypto.sign(null, message, privateKey);
    const L = 2n ** 252n + 27742317777372353535851937790883648493n;
    const s = BigInt(`0x${Buffer.from(signature.subarray(32)).reverse().toString('hex')}`) + L;
    const sBytes = Buffer.from(s.toString(16).padStart(64, '0'), 'hex').reverse();
    const malleated = Buffer.concat([signature.subarray(0, 32), sBytes]);
    expect(nodeCrypto.verify(null, message, publicKey, malleated)).toBe(false);
    expect(shim.verify(null, message, key, malleated)).toBe(false);
  });

  it('accepts ECDSA P-256 DER signatures Node accepts, high-S too, and refuses changed ones', () => {
    const { publicKey, privateKey } = nodeCrypto.generateKeyPairSync('ec', {
      namedCurve: 'prime256v1',
    });
    const key = shim.createPublicKey({ key: spkiOf(publicKey), format: 'der', type: 'spki' });
    for (let i = 0; i < 20; i++) {
      const data = nodeCrypto.randomBytes(40);
      const signature = nodeCrypto.sign('sha256', data, privateKey);
      expect(shim.verify('sha256', data, key, signature)).toBe(true);
      const changed = flipBit(signature, signature.length * 8 - 3);
      expect(shim.verify('sha256', data, key, changed)).toBe(
        nodeCrypto.verify('sha256', data, publicKey, changed),
      );
    }
    expect(shim.verify(null, message, key, Buffer.alloc(70))).toBe(false);
  });

  it('makes core/signature.ts answer as with Node, on the same bytes', async () => {
    const { publicKey, privateKey } = nodeCrypto.generateKeyPairSync('ed25519');
    const { verifySignature, publicKeyFromSpki } = await import('../../core/signature');
    const spki = spkiOf(publicKey).toString('base64');
    const signature = nodeCrypto.sign(null, message, privateKey).toString('base64');
    const nodeKey = publicKeyFromSpki(spki);
    const shimKey = shim.createPublicKey({
      key: Buffer.from(spki, 'base64'),
      format: 'der',
      type: 'spki',
    });
    expect(nodeKey && verifySignature('ed25519', nodeKey, message, signature)).toBe(true);
    // core's checks on the KeyObject read the same fields from the shim's key:
    expect(shimKey.asymmetricKeyType).toBe(nodeKey?.asymmetricKeyType);
    expect(shim.verify(null, message, shimKey, Buffer.from(signature, 'base64'))).toBe(true);
  });
});

// RSA: DER built by hand, for keys Node would not make.

/** A DER element: `tag`, a definite length, `contents`. */
function tlv(tag: number, ...contents: Uint8Array[]): Buffer {
  const body = Buffer.concat(contents);
  const n = body.length;
  const length = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return Buffer.concat([Buffer.of(tag, ...length), body]);
}

const bigIntOf = (bytes: Uint8Array) => BigInt(`0x${Buffer.from(bytes).toString('hex') || '0'}`);
const bytesOf = (value: bigint, length: number) =>
  Buffer.from(value.toString(16).padStart(2 * length, '0'), 'hex');

/** A minimal DER INTEGER of `value` (non-negative). */
function derInteger(value: bigint): Buffer {
  let hex = value.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  if (parseInt(hex.slice(0, 2), 16) >= 0x80) hex = `00${hex}`;
  return tlv(0x02, Buffer.from(hex, 'hex'));
}

const RSA_OID = Buffer.from('06092a864886f70d010101', 'hex');
const RSA_ALGORITHM = tlv(0x30, RSA_OID, Buffer.of(0x05, 0x00));
const rsaPublicKey = (n: bigint, e: bigint) => tlv(0x30, derInteger(n), derInteger(e));
const rsaSpki = (publicKey: Uint8Array, algorithm = RSA_ALGORITHM, unusedBits = 0) =>
  tlv(0x30, algorithm, tlv(0x03, Buffer.of(unusedBits), publicKey));

/** The modulus and exponent of a Node RSA public key. */
function rsaNumbers(key: nodeCrypto.KeyObject): { n: bigint; e: bigint } {
  const jwk = key.export({ format: 'jwk' });
  return {
    n: bigIntOf(Buffer.from(jwk.n as string, 'base64url')),
    e: bigIntOf(Buffer.from(jwk.e as string, 'base64url')),
  };
}

function modInverse(a: bigint, m: bigint): bigint {
  let [oldR, r, oldS, s] = [a % m, m, 1n, 0n];
  while (r !== 0n) {
    const q = oldR / r;
    [oldR, r] = [r, oldR - q * r];
    [oldS, s] = [s, oldS - q * s];
  }
  if (oldR !== 1n) throw new Error('not invertible');
  return ((oldS % m) + m) % m;
}

const gcd = (a: bigint, b: bigint): bigint => (b === 0n ? a : gcd(b, a % b));

/**
 * An RSA key pair of two `primeBits`-bit primes whose public exponent is `makeE()` (retried until
 * it is invertible), for exponents `generateKeyPairSync` does not take.
 */
function rsaKeyPairWithExponent(primeBits: number, makeE: () => bigint, qBits = primeBits) {
  const p = nodeCrypto.generatePrimeSync(primeBits, { bigint: true });
  let q = nodeCrypto.generatePrimeSync(qBits, { bigint: true });
  while (q === p) q = nodeCrypto.generatePrimeSync(qBits, { bigint: true });
  const n = p * q;
  const lambda = ((p - 1n) * (q - 1n)) / gcd(p - 1n, q - 1n);
  let e = makeE();
  while (gcd(e, lambda) !== 1n) e = makeE();
  const d = modInverse(e, lambda);
  const b64 = (x: bigint) => {
    const hex = x.toString(16);
    return Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex').toString('base64url');
  };
  const jwk = {
    kty: 'RSA',
    n: b64(n),
    e: b64(e),
    d: b64(d),
    p: b64(p),
    q: b64(q),
    dp: b64(d % (p - 1n)),
    dq: b64(d % (q - 1n)),
    qi: b64(modInverse(q, p)),
  };
  return {
    n,
    e,
    lambda,
    privateKey: nodeCrypto.createPrivateKey({ key: jwk, format: 'jwk' }),
    publicKey: nodeCrypto.createPublicKey({ key: jwk, format: 'jwk' }),
  };
}

const randomOdd = (bits: number) =>
  bigIntOf(nodeCrypto.randomBytes(Math.ceil(bits / 8))) | 1n | (1n << BigInt(bits - 1));

describe('RSA PKCS#1 v1.5 with SHA-256', () => {
  const readKey = (der: Uint8Array) =>
    shim.createPublicKey({ key: der, format: 'der', type: 'spki' });
  const pair2048 = nodeCrypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const key2048 = readKey(spkiOf(pair2048.publicKey));

  /** The shim's answer, which must be Node's. */
  function bothVerify(
    data: Uint8Array,
    publicKey: nodeCrypto.KeyObject,
    signature: Uint8Array,
    algorithm = 'sha256',
  ): boolean {
    const ours = shim.verify(algorithm, data, readKey(spkiOf(publicKey)), signature);
    expect(ours).toBe(nodeCrypto.verify(algorithm, data, publicKey, signature));
    return ours;
  }

  it.each([2048, 3072])(
    'reads a %i-bit key as Node does and accepts what Node signs, refusing changed data',
    (modulusLength) => {
      const { publicKey, privateKey } = nodeCrypto.generateKeyPairSync('rsa', { modulusLength });
      const der = spkiOf(publicKey);
      const key = readKey(der);
      expect(key.asymmetricKeyType).toBe('rsa');
      expect(key.asymmetricKeyDetails.modulusLength).toBe(modulusLength);
      expect(key.asymmetricKeyDetails.modulusLength).toBe(
        publicKey.asymmetricKeyDetails?.modulusLength,
      );
      expect(key.asymmetricKeyDetails.publicExponent).toBe(
        publicKey.asymmetricKeyDetails?.publicExponent,
      );
      expect(Buffer.from(key.export({ format: 'der', type: 'spki' }))).toEqual(der);
      for (const length of [0, 1, 40, 1000]) {
        const data = nodeCrypto.randomBytes(length);
        const signature = nodeCrypto.sign('sha256', data, privateKey);
        expect(bothVerify(data, publicKey, signature), `${length} bytes`).toBe(true);
        expect(bothVerify(data, publicKey, signature, 'SHA256')).toBe(true);
        expect(bothVerify(Buffer.concat([data, Buffer.of(0)]), publicKey, signature)).toBe(false);
        if (length > 0) expect(bothVerify(flipBit(data, 0), publicKey, signature)).toBe(false);
      }
    },
  );

  it('refuses a one-bit change at every byte of the signature, as Node does', () => {
    const data = nodeCrypto.randomBytes(64);
    const signature = nodeCrypto.sign('sha256', data, pair2048.privateKey);
    expect(shim.verify('sha256', data, key2048, signature)).toBe(true);
    for (let i = 0; i < signature.length; i++) {
      const changed = flipBit(signature, i * 8 + (i % 8));
      expect(shim.verify('sha256', data, key2048, changed), `byte ${i}`).toBe(false);
      expect(nodeCrypto.verify('sha256', data, pair2048.publicKey, changed)).toBe(false);
    }
  });

  it('refuses signatures of the wrong length or not below the modulus, as Node does', () => {
    const data = nodeCrypto.randomBytes(32);
    const signature = nodeCrypto.sign('sha256', data, pair2048.privateKey);
    const { n } = rsaNumbers(pair2048.publicKey);
    const cases = {
      'one byte short': signature.subarray(1),
      'one byte short, the last': signature.subarray(0, signature.length - 1),
      'a zero byte before it': Buffer.concat([Buffer.of(0), signature]),
      'a byte after it': Buffer.concat([signature, Buffer.of(0)]),
      empty: Buffer.alloc(0),
      'the modulus': bytesOf(n, 256),
      'the signature plus the modulus': bytesOf(bigIntOf(signature) + n, 256),
      'all ones': Buffer.alloc(256, 0xff),
      zero: Buffer.alloc(256),
      one: bytesOf(1n, 256),
    };
    for (const [name, changed] of Object.entries(cases)) {
      expect(bothVerify(data, pair2048.publicKey, changed), name).toBe(false);
    }
    // With a 2,047-bit modulus, s + n still fits in k = 256 bytes and (s + n)^e = s^e mod n:
    // only the check s < n refuses it.
    const short = rsaKeyPairWithExponent(1024, () => 65537n, 1023);
    expect(short.n.toString(2).length).toBe(2047);
    const signed = nodeCrypto.sign('sha256', data, short.privateKey);
    expect(signed.length).toBe(256);
    expect(bothVerify(data, short.publicKey, signed)).toBe(true);
    const plusN = bytesOf(bigIntOf(signed) + short.n, 256);
    expect(plusN.length).toBe(256);
    expect(bothVerify(data, short.publicKey, plusN)).toBe(false);
  });

  it('refuses a signature by another key, a PSS signature, SHA-512, and other algorithms', () => {
    const data = nodeCrypto.randomBytes(32);
    const other = nodeCrypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    const { privateKey, publicKey } = pair2048;
    expect(bothVerify(data, publicKey, nodeCrypto.sign('sha256', data, other.privateKey))).toBe(
      false,
    );
    const pss = nodeCrypto.sign('sha256', data, {
      key: privateKey,
      padding: nodeCrypto.constants.RSA_PKCS1_PSS_PADDING,
    });
    expect(
      nodeCrypto.verify(
        'sha256',
        data,
        {
          key: publicKey,
          padding: nodeCrypto.constants.RSA_PKCS1_PSS_PADDING,
        },
        pss,
      ),
    ).toBe(true);
    expect(bothVerify(data, publicKey, pss)).toBe(false);
    expect(bothVerify(data, publicKey, nodeCrypto.sign('sha512', data, privateKey))).toBe(false);
    // Algorithms core does not ask for: the shim refuses them (Node would verify some).
    const signature = nodeCrypto.sign('sha256', data, privateKey);
    for (const algorithm of [null, 'sha512', 'sha1', 'RSA-SHA256']) {
      expect(shim.verify(algorithm, data, key2048, signature)).toBe(false);
    }
  });

  it('checks the whole PKCS#1 v1.5 encoding, as OpenSSL does (RFC 8017 §9.2)', () => {
    const data = nodeCrypto.randomBytes(32);
    const digestInfo = Buffer.from('3031300d060960864801650304020105000420', 'hex');
    const t = Buffer.concat([digestInfo, nodeCrypto.hash('sha256', data, 'buffer')]);
    const k = 256;
    const encode = (...parts: Uint8Array[]) => {
      const em = Buffer.concat(parts);
      expect(em.length).toBe(k);
      // s = EM^d mod n: a "signature" of exactly these bytes.
      return nodeCrypto.privateEncrypt(
        { key: pair2048.privateKey, padding: nodeCrypto.constants.RSA_NO_PADDING },
        em,
      );
    };
    const ff = (count: number) => Buffer.alloc(count, 0xff);
    const psLength = k - 3 - t.length;
    // The DigestInfo with its NULL parameters left out, as some old signers made it.
    const noNull = Buffer.concat([
      Buffer.from('302f300b0609608648016503040201', 'hex'),
      Buffer.from('0420', 'hex'),
      nodeCrypto.hash('sha256', data, 'buffer'),
    ]);
    const sha512Info = Buffer.from('3051300d060960864801650304020305000440', 'hex');
    const cases: Record<string, [Buffer, boolean]> = {
      'the right encoding': [encode(Buffer.of(0, 1), ff(psLength), Buffer.of(0), t), true],
      'block type 2': [encode(Buffer.of(0, 2), ff(psLength), Buffer.of(0), t), false],
      'a first byte 1': [encode(Buffer.of(1, 1), ff(psLength), Buffer.of(0), t), false],
      'a padding byte not FF': [
        encode(Buffer.of(0, 1), ff(psLength - 1), Buffer.of(0xfe), Buffer.of(0), t),
        false,
      ],
      'no zero after the padding': [encode(Buffer.of(0, 1), ff(psLength), Buffer.of(1), t), false],
      'garbage after the hash (Bleichenbacher 2006)': [
        encode(Buffer.of(0, 1), ff(8), Buffer.of(0), t, nodeCrypto.randomBytes(psLength - 8)),
        false,
      ],
      'zeros before the hash': [
        encode(Buffer.of(0, 1), ff(8), Buffer.of(0), Buffer.alloc(psLength - 8), t),
        false,
      ],
      'the DigestInfo without NULL': [
        encode(Buffer.of(0, 1), ff(psLength + 2), Buffer.of(0), noNull),
        false,
      ],
      'the DigestInfo of SHA-512': [
        encode(
          Buffer.of(0, 1),
          ff(psLength - 32),
          Buffer.of(0),
          sha512Info,
          nodeCrypto.hash('sha512', data, 'buffer'),
        ),
        false,
      ],
      'another hash': [
        encode(Buffer.of(0, 1), ff(psLength), Buffer.of(0), digestInfo, Buffer.alloc(32)),
        false,
      ],
    };
    for (const [name, [signature, expected]] of Object.entries(cases)) {
      expect(bothVerify(data, pair2048.publicKey, signature), name).toBe(expected);
    }
  });

  it('needs 8 bytes of padding: a 62-byte modulus verifies, a 61-byte one does not', () => {
    const data = Buffer.from('small');
    const t = Buffer.concat([
      Buffer.from('3031300d060960864801650304020105000420', 'hex'),
      nodeCrypto.hash('sha256', data, 'buffer'),
    ]);
    // 62 bytes = 00 01, 8 bytes FF, 00, the 19-byte DigestInfo and the 32-byte hash.
    const smallest = rsaKeyPairWithExponent(248, () => 65537n);
    expect(smallest.n.toString(2).length).toBe(496);
    const signed = nodeCrypto.sign('sha256', data, smallest.privateKey);
    expect(bothVerify(data, smallest.publicKey, signed)).toBe(true);
    // 61 bytes: only 7 bytes FF fit.
    const tooSmall = rsaKeyPairWithExponent(244, () => 65537n);
    expect(tooSmall.n.toString(2).length).toBe(488);
    const sevenFf = nodeCrypto.privateEncrypt(
      { key: tooSmall.privateKey, padding: nodeCrypto.constants.RSA_NO_PADDING },
      Buffer.concat([Buffer.of(0, 1), Buffer.alloc(7, 0xff), Buffer.of(0), t]),
    );
    expect(readKey(spkiOf(tooSmall.publicKey)).asymmetricKeyDetails.modulusLength).toBe(488);
    expect(bothVerify(data, tooSmall.publicKey, sevenFf)).toBe(false);
  });

  it('reads a 1,024-bit key and verifies with it: core, not the shim, refuses it by size', () => {
    const { publicKey, privateKey } = nodeCrypto.generateKeyPairSync('rsa', {
      modulusLength: 1024,
    });
    const key = readKey(spkiOf(publicKey));
    expect(key.asymmetricKeyType).toBe('rsa');
    expect(key.asymmetricKeyDetails.modulusLength).toBe(1024);
    const data = nodeCrypto.randomBytes(16);
    expect(bothVerify(data, publicKey, nodeCrypto.sign('sha256', data, privateKey))).toBe(true);
  });

  it('follows OpenSSL on exponents: any size to 3,072 bits, 64 bits above, always below n', () => {
    const data = nodeCrypto.randomBytes(32);
    // A 2,048-bit key whose exponent is as long as its modulus.
    const large = rsaKeyPairWithExponent(1024, () => randomOdd(2000));
    const signature = nodeCrypto.sign('sha256', data, large.privateKey);
    expect(readKey(spkiOf(large.publicKey)).asymmetricKeyDetails.publicExponent).toBe(large.e);
    expect(bothVerify(data, large.publicKey, signature)).toBe(true);
    // The same key with e + c·λ > n: the same signature holds arithmetically; OpenSSL refuses
    // an exponent not below the modulus, and so does the shim.
    const beyond = large.e + (large.n / large.lambda + 1n) * large.lambda;
    expect(beyond > large.n).toBe(true);
    const beyondKey = rsaSpki(rsaPublicKey(large.n, beyond));
    const nodeBeyond = nodeCrypto.createPublicKey({ key: beyondKey, format: 'der', type: 'spki' });
    expect(bothVerify(data, nodeBeyond, signature)).toBe(false);
    // Above 3,072 bits, 64 bits of exponent at most.
    for (const [bits, expected] of [
      [64, true],
      [65, false],
    ] as const) {
      const pair = rsaKeyPairWithExponent(1600, () => randomOdd(bits));
      expect(pair.n.toString(2).length).toBeGreaterThan(3072);
      const signed = nodeCrypto.sign('sha256', data, pair.privateKey);
      expect(bothVerify(data, pair.publicKey, signed), `${bits}-bit exponent`).toBe(expected);
    }
  });

  it('refuses a mangled RSA key as Node does', () => {
    const { n, e } = rsaNumbers(pair2048.publicKey);
    const der = spkiOf(pair2048.publicKey);
    const cases = {
      truncated: der.subarray(0, der.length - 1),
      'no RSAPublicKey': rsaSpki(Buffer.alloc(0)),
      'an INTEGER for the RSAPublicKey': rsaSpki(derInteger(n)),
      'an empty RSAPublicKey': rsaSpki(tlv(0x30)),
      'no exponent': rsaSpki(tlv(0x30, derInteger(n))),
      'a third INTEGER': rsaSpki(tlv(0x30, derInteger(n), derInteger(e), derInteger(1n))),
      'an OCTET STRING for the modulus': rsaSpki(
        tlv(0x30, tlv(0x04, derInteger(n).subarray(4)), derInteger(e)),
      ),
      'the RSAPublicKey cut short': rsaSpki(rsaPublicKey(n, e).subarray(0, 100)),
    };
    for (const [name, mangled] of Object.entries(cases)) {
      expect(
        () => nodeCrypto.createPublicKey({ key: mangled, format: 'der', type: 'spki' }),
        name,
      ).toThrow();
      expect(() => readKey(mangled), name).toThrow();
    }
  });

  it('refuses RSA keys OpenSSL reads loosely: parameters, integers, exponent, trailing bytes', () => {
    const { n, e } = rsaNumbers(pair2048.publicKey);
    const minimalN = derInteger(n).subarray(4); // 00 and 256 bytes
    const cases = {
      'no parameters': rsaSpki(rsaPublicKey(n, e), tlv(0x30, RSA_OID)),
      'INTEGER parameters': rsaSpki(rsaPublicKey(n, e), tlv(0x30, RSA_OID, derInteger(0n))),
      'empty SEQUENCE parameters': rsaSpki(rsaPublicKey(n, e), tlv(0x30, RSA_OID, tlv(0x30))),
      'NULL and more parameters': rsaSpki(
        rsaPublicKey(n, e),
        tlv(0x30, RSA_OID, Buffer.of(0x05, 0x00), Buffer.of(0x05, 0x00)),
      ),
      'a negative modulus': rsaSpki(tlv(0x30, tlv(0x02, minimalN.subarray(1)), derInteger(e))),
      'a modulus with an extra zero byte': rsaSpki(
        tlv(0x30, tlv(0x02, Buffer.of(0), minimalN), derInteger(e)),
      ),
      'an exponent with an extra zero byte': rsaSpki(
        tlv(0x30, derInteger(n), tlv(0x02, Buffer.of(0, 1, 0, 1))),
      ),
      'an even modulus': rsaSpki(rsaPublicKey(n + 1n, e)),
      'a zero exponent': rsaSpki(rsaPublicKey(n, 0n)),
      'an exponent of 1': rsaSpki(rsaPublicKey(n, 1n)),
      'an exponent of 2': rsaSpki(rsaPublicKey(n, 2n)),
      'an even exponent': rsaSpki(rsaPublicKey(n, 65536n)),
      'an empty exponent': rsaSpki(tlv(0x30, derInteger(n), tlv(0x02))),
      'unused bits': rsaSpki(rsaPublicKey(n, e), RSA_ALGORITHM, 1),
      'a byte after the RSAPublicKey': rsaSpki(Buffer.concat([rsaPublicKey(n, e), Buffer.of(0)])),
    };
    for (const [name, loose] of Object.entries(cases)) {
      expect(() => readKey(loose), name).toThrow();
    }
    // Node (OpenSSL 3) reads these; with an exponent of 1 it even verifies s = EM, which anyone
    // can make. The shim refuses the key; core turns that into a failed check.
    const data = Buffer.from('forged');
    const t = Buffer.concat([
      Buffer.from('3031300d060960864801650304020105000420', 'hex'),
      nodeCrypto.hash('sha256', data, 'buffer'),
    ]);
    const em = Buffer.concat([
      Buffer.of(0, 1),
      Buffer.alloc(256 - 3 - t.length, 0xff),
      Buffer.of(0),
      t,
    ]);
    expect(() => readKey(rsaSpki(rsaPublicKey(n, 1n)))).toThrow();
    expect(shim.verify('sha256', data, key2048, em)).toBe(false);
    // Bytes after the whole SubjectPublicKeyInfo are ignored, as for other keys.
    const trailing = Buffer.concat([spkiOf(pair2048.publicKey), Buffer.of(0)]);
    expect(readKey(trailing).asymmetricKeyDetails.modulusLength).toBe(2048);
    expect(
      nodeCrypto.createPublicKey({ key: trailing, format: 'der', type: 'spki' })
        .asymmetricKeyDetails?.modulusLength,
    ).toBe(2048);
  });

  it('makes core/signature.ts read the same fields from the shim as from Node', async () => {
    const { publicKeyFromSpki, verifySignatureBytes, RSA_MIN_BITS } =
      await import('../../core/signature');
    const data = nodeCrypto.randomBytes(48);
    const signature = nodeCrypto.sign('sha256', data, pair2048.privateKey);
    const spki = spkiOf(pair2048.publicKey);
    const nodeKey = publicKeyFromSpki(spki.toString('base64'));
    expect(nodeKey && verifySignatureBytes('rsa-pkcs1-sha256', nodeKey, data, signature)).toBe(
      true,
    );
    const shimKey = readKey(spki);
    expect(shimKey.asymmetricKeyType).toBe(nodeKey?.asymmetricKeyType);
    expect(shimKey.asymmetricKeyDetails.modulusLength).toBe(
      nodeKey?.asymmetricKeyDetails?.modulusLength,
    );
    expect(shimKey.asymmetricKeyDetails.modulusLength ?? 0).toBeGreaterThanOrEqual(RSA_MIN_BITS);
    expect(shim.verify('sha256', data, shimKey, signature)).toBe(true);
  });
});
