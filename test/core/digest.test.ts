import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DIGEST_ALGORITHMS,
  createMultiHasher,
  digestBytes,
  digestProblem,
  formatDigest,
  isDigest,
  parseDigest,
  sha256,
  sha256Digest,
  sm3,
  type DigestAlgorithm,
  type DigestSet,
} from '../../core/digest';
import { ValidationError } from '../../core/errors';
import published from '../vectors/digests.json';

interface DigestVector {
  readonly source: string;
  readonly algorithm: string;
  readonly ascii: string;
  readonly repeat: number;
  readonly digest: string;
}

const vectors: readonly DigestVector[] = published.vectors;

function inputOf(vector: DigestVector): Buffer {
  return Buffer.from(vector.ascii.repeat(vector.repeat), 'ascii');
}

function oneShot(algorithm: DigestAlgorithm, data: Uint8Array): Buffer {
  return algorithm === 'sha256' ? sha256(data) : sm3(data);
}

/** Feeds `data` to a fresh hasher in chunks of `chunkSize` bytes. */
function hashInChunks(data: Uint8Array, chunkSize: number): { digests: DigestSet; bytes: number } {
  const hasher = createMultiHasher();
  for (let offset = 0; offset < data.length; offset += chunkSize) {
    hasher.update(data.subarray(offset, offset + chunkSize));
  }
  return { digests: hasher.digest(), bytes: hasher.bytes };
}

/** Output of an independent implementation, read back as `alg:hex`. */
function externalDigest(algorithm: DigestAlgorithm, file: string): string {
  const command: [string, string[]] =
    algorithm === 'sha256' ? ['sha256sum', [file]] : ['openssl', ['dgst', '-sm3', '-r', file]];
  const output = execFileSync(command[0], command[1], { encoding: 'utf8' });
  const match = /^([0-9a-f]{64})\s/.exec(output);
  if (!match) throw new Error(`unexpected output of ${command[0]}: ${output}`);
  return `${algorithm}:${match[1]}`;
}

describe('published digest vectors (test/vectors/digests.json)', () => {
  it('holds the FIPS 180-4 and GB/T 32905-2016 examples', () => {
    expect(vectors.filter((v) => v.algorithm === 'sha256')).toHaveLength(3);
    expect(vectors.filter((v) => v.algorithm === 'sm3')).toHaveLength(2);
  });

  describe.each(vectors.map((v) => [v.source, v] as const))('%s', (_source, vector) => {
    const algorithm = vector.algorithm as DigestAlgorithm;
    const data = inputOf(vector);

    it('is reproduced by the one-shot function', () => {
      expect(formatDigest(algorithm, oneShot(algorithm, data))).toBe(vector.digest);
      if (algorithm === 'sha256') expect(sha256Digest(data)).toBe(vector.digest);
    });

    it('is reproduced by digestBytes and by the streaming hasher in odd chunks', () => {
      expect(digestBytes(data)[algorithm]).toBe(vector.digest);
      for (const chunkSize of [3, 55, 64, 4097]) {
        const { digests, bytes } = hashInChunks(data, chunkSize);
        expect(digests[algorithm]).toBe(vector.digest);
        expect(bytes).toBe(data.length);
      }
    });

    it('is a well-formed digest that parses back to its parts', () => {
      expect(isDigest(vector.digest)).toBe(true);
      expect(parseDigest(vector.digest)).toEqual({
        algorithm,
        hex: vector.digest.slice(vector.digest.indexOf(':') + 1),
      });
    });
  });
});

describe('sha256, sm3 and sha256Digest', () => {
  it.each(DIGEST_ALGORITHMS)(
    '%s gives the digest of a Hash fed the same bytes or text',
    (algorithm) => {
      const text = fc.string({ unit: 'binary', maxLength: 64 });
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 300 }), text, (bytes, value) => {
          const ofBytes = createHash(algorithm).update(bytes).digest('hex');
          const ofText = createHash(algorithm).update(value, 'utf8').digest('hex');
          expect(oneShot(algorithm, bytes).toString('hex')).toBe(ofBytes);
          const byText = algorithm === 'sha256' ? sha256(value) : sm3(value);
          expect(byText.toString('hex')).toBe(ofText);
          if (algorithm === 'sha256') expect(sha256Digest(value)).toBe(`sha256:${ofText}`);
        }),
        { numRuns: 200 },
      );
    },
  );

  it('returns a Buffer of 32 bytes', () => {
    expect(Buffer.isBuffer(sha256('x'))).toBe(true);
    expect(sha256(new Uint8Array(0))).toHaveLength(32);
    expect(sm3('x')).toHaveLength(32);
  });
});

describe('createMultiHasher', () => {
  it('always includes sha256, the primary digest', () => {
    const hasher = createMultiHasher(['sm3']);
    hasher.update(Buffer.from('abc'));
    const digests = hasher.digest();
    expect(Object.keys(digests).sort()).toEqual(['sha256', 'sm3']);
  });

  it('computes only the algorithms asked for', () => {
    const hasher = createMultiHasher(['sha256']);
    hasher.update(Buffer.from('abc'));
    expect(Object.keys(hasher.digest())).toEqual(['sha256']);
  });

  it('hashes the empty input when never updated', () => {
    const hasher = createMultiHasher();
    expect(hasher.bytes).toBe(0);
    expect(hasher.digest()).toEqual({
      sha256: 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      sm3: 'sm3:1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b',
    });
  });
});

describe('digests of files agree with sha256sum and openssl dgst -sm3', () => {
  const sizes = [0, 1, 63, 64, 65, 1000, 1024 * 1024 + 7];
  const files = new Map<number, { path: string; data: Buffer }>();
  let dir = '';

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'digest-test-'));
    for (const size of sizes) {
      const path = join(dir, `random-${size}.bin`);
      const data = randomBytes(size);
      writeFileSync(path, data);
      files.set(size, { path, data });
    }
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function fileOf(size: number): { path: string; data: Buffer } {
    const file = files.get(size);
    if (!file) throw new Error(`no file of ${size} bytes`);
    return file;
  }

  it.each(sizes)('a random file of %i bytes hashes as the external tools say', (size) => {
    const { path, data } = fileOf(size);
    const expected = {
      sha256: externalDigest('sha256', path),
      sm3: externalDigest('sm3', path),
    };
    expect(digestBytes(data)).toEqual(expected);
    for (const algorithm of DIGEST_ALGORITHMS) {
      expect(formatDigest(algorithm, oneShot(algorithm, data))).toBe(expected[algorithm]);
    }
  });

  it.each(sizes)('streaming %i bytes in odd chunk sizes equals hashing them at once', (size) => {
    const { data } = fileOf(size);
    const whole = digestBytes(data);
    const chunkSizes = size > 100_000 ? [7, 63, 65, 4097, 65_537] : [1, 2, 7, 63, 64, 65, 4097];
    for (const chunkSize of chunkSizes) {
      const { digests, bytes } = hashInChunks(data, chunkSize);
      expect(digests, `chunks of ${chunkSize}`).toEqual(whole);
      expect(bytes).toBe(size);
    }
  });

  it('a file read as a stream of irregular chunks hashes as the external tools say', async () => {
    const { path } = fileOf(1024 * 1024 + 7);
    const hasher = createMultiHasher();
    let chunks = 0;
    for await (const chunk of createReadStream(path, { highWaterMark: 9_999 })) {
      hasher.update(chunk as Buffer);
      chunks += 1;
    }
    expect(chunks).toBeGreaterThan(100);
    expect(hasher.bytes).toBe(1024 * 1024 + 7);
    expect(hasher.digest()).toEqual({
      sha256: externalDigest('sha256', path),
      sm3: externalDigest('sm3', path),
    });
  });
});

describe('parseDigest and digestProblem', () => {
  const hex = 'ab'.repeat(32);

  it('accepts both algorithms in lower-case hex', () => {
    expect(parseDigest(`sha256:${hex}`)).toEqual({ algorithm: 'sha256', hex });
    expect(parseDigest(`sm3:${hex}`)).toEqual({ algorithm: 'sm3', hex });
    expect(digestProblem(`sm3:${hex}`, '/d')).toBeUndefined();
  });

  const cases: ReadonlyArray<readonly [string, unknown, string]> = [
    ['an unknown algorithm', `md5:${hex}`, 'digestAlgorithm'],
    ['an upper-case algorithm', `SHA256:${hex}`, 'digestAlgorithm'],
    ['an empty algorithm', `:${hex}`, 'digestAlgorithm'],
    ['a digest one digit short', `sha256:${hex.slice(1)}`, 'digestLength'],
    ['a digest one digit long', `sm3:${hex}0`, 'digestLength'],
    ['an empty hex part', 'sha256:', 'digestLength'],
    ['upper-case hex', `sha256:${hex.toUpperCase()}`, 'digestAlphabet'],
    ['non-hex digits', `sha256:${'g'.repeat(64)}`, 'digestAlphabet'],
    ['a second colon in the hex', `sha256:${hex.slice(0, 63)}:`, 'digestAlphabet'],
    ['a missing colon', `sha256${hex}`, 'digest'],
    ['an empty string', '', 'digest'],
    ['a number', 42, 'type'],
    ['null', null, 'type'],
    ['undefined', undefined, 'type'],
    ['an object', { algorithm: 'sha256', hex }, 'type'],
  ];

  it.each(cases)('refuses %s with rule %s', (_what, value, rule) => {
    expect(digestProblem(value, '/items/0/digests/1')).toMatchObject({
      path: '/items/0/digests/1',
      rule,
    });
    expect(isDigest(value)).toBe(false);
    let thrown: unknown;
    try {
      parseDigest(value, '/d');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ValidationError);
    const error = thrown as ValidationError;
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.fields).toEqual([expect.objectContaining({ path: '/d', rule })]);
  });

  it('refuses a trailing newline, which a multi-line regular expression would let through', () => {
    expect(isDigest(`sha256:${hex}\n`)).toBe(false);
    expect(digestProblem(`sha256:${hex}\n`, '')?.rule).toBe('digestLength');
  });
});
