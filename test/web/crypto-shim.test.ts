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
    const rsa = nodeCrypto.generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey;
    const read = (k: nodeCrypto.KeyObject) =>
      shim.createPublicKey({ key: spkiOf(k), format: 'der', type: 'spki' });
    expect(read(p384).asymmetricKeyType).toBe('ec');
    expect(read(p384).asymmetricKeyDetails.namedCurve).toBeUndefined();
    expect(read(rsa).asymmetricKeyType).toBe('other');
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
