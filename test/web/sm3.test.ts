import { createHash, randomBytes } from 'node:crypto';
import { sm3 as smCryptoSm3 } from 'sm-crypto-v2';
import { describe, expect, it } from 'vitest';
import { createSm3 } from '../../web/sm3';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const openssl = (data: Uint8Array) => createHash('sm3').update(data).digest('hex');

describe('createSm3', () => {
  it('gives the GB/T 32905-2016 example digests (appendix A)', () => {
    expect(hex(digestOf(Buffer.from('abc')))).toBe(
      '66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0',
    );
    const abcd16 = Buffer.from('abcd'.repeat(16));
    expect(hex(digestOf(abcd16))).toBe(
      'debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732',
    );
  });

  it('equals OpenSSL and sm-crypto-v2 on every length across the padding boundaries', () => {
    for (let length = 0; length <= 200; length++) {
      const data = randomBytes(length);
      expect(hex(digestOf(data)), `length ${length}`).toBe(openssl(data));
      expect(hex(digestOf(data))).toBe(smCryptoSm3(data));
    }
  });

  it('gives the same digest however the input is cut into chunks', () => {
    const data = randomBytes(10_000);
    const expected = openssl(data);
    for (const chunk of [1, 3, 63, 64, 65, 127, 1000, 4096]) {
      const hasher = createSm3();
      for (let offset = 0; offset < data.length; offset += chunk)
        hasher.update(data.subarray(offset, offset + chunk));
      expect(hex(hasher.digest()), `chunks of ${chunk}`).toBe(expected);
    }
  });

  it('equals OpenSSL on a large input', () => {
    const data = randomBytes(3 * 1024 * 1024 + 7);
    expect(hex(digestOf(data))).toBe(openssl(data));
  });
});

function digestOf(data: Uint8Array): Uint8Array {
  const hasher = createSm3();
  hasher.update(data);
  return hasher.digest();
}
