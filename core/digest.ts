/**
 * Digests written `alg:hex` (the OCI digest convention): `sha256:` (FIPS 180-4) is primary,
 * `sm3:` (GB/T 32905-2016) is carried alongside for Chinese courts. Both come from OpenSSL through
 * `node:crypto`. Hashing is incremental, so callers can stream files of any size through
 * {@link createMultiHasher} in constant memory, both algorithms fed from one pass over the data;
 * data already in memory is hashed with the one-shot `hash`, which costs less per call.
 */

import { createHash, hash, type Hash } from 'node:crypto';
import { ValidationError, type FieldError } from './errors';

export const DIGEST_ALGORITHMS = ['sha256', 'sm3'] as const;
export type DigestAlgorithm = (typeof DIGEST_ALGORITHMS)[number];

/** A digest in text form, e.g. `sha256:9f86d081...`. Lower-case hex, 64 digits for both algorithms. */
export type Digest = `${DigestAlgorithm}:${string}`;

/** Lengths in hex digits, per algorithm. */
export const DIGEST_HEX_LENGTH: Readonly<Record<DigestAlgorithm, number>> = { sha256: 64, sm3: 64 };

/** Regular expression (also used in JSON Schemas) for a well-formed digest of either algorithm. */
export const DIGEST_PATTERN = '^(sha256|sm3):[0-9a-f]{64}$';
const DIGEST_RE = new RegExp(DIGEST_PATTERN);

export interface ParsedDigest {
  readonly algorithm: DigestAlgorithm;
  readonly hex: string;
}

/** True when `text` is a well-formed digest string. */
export function isDigest(text: unknown): text is Digest {
  return typeof text === 'string' && DIGEST_RE.test(text);
}

/**
 * Splits a digest into algorithm and hex, naming exactly what is wrong.
 * @throws ValidationError `VALIDATION_FAILED` for an unknown algorithm, wrong length or alphabet.
 */
export function parseDigest(text: unknown, path = ''): ParsedDigest {
  const problem = digestProblem(text, path);
  if (problem) throw new ValidationError('VALIDATION_FAILED', problem.message, [problem]);
  const [algorithm, hex] = (text as string).split(':') as [DigestAlgorithm, string];
  return { algorithm, hex };
}

/** The FieldError for a malformed digest, or `undefined` when it is well formed. */
export function digestProblem(text: unknown, path: string): FieldError | undefined {
  if (typeof text !== 'string') return { path, rule: 'type', message: 'a digest is a string' };
  const colon = text.indexOf(':');
  if (colon < 0) return { path, rule: 'digest', message: 'a digest is written alg:hex' };
  const algorithm = text.slice(0, colon);
  const hex = text.slice(colon + 1);
  if (!(DIGEST_ALGORITHMS as readonly string[]).includes(algorithm)) {
    return { path, rule: 'digestAlgorithm', message: `unknown digest algorithm "${algorithm}"` };
  }
  const expected = DIGEST_HEX_LENGTH[algorithm as DigestAlgorithm];
  if (hex.length !== expected) {
    return {
      path,
      rule: 'digestLength',
      message: `${algorithm} digests have ${expected} hex digits`,
    };
  }
  if (!/^[0-9a-f]*$/.test(hex)) {
    return { path, rule: 'digestAlphabet', message: 'digest hex must be lower-case 0-9a-f' };
  }
  return undefined;
}

/** `alg:hex` of raw digest bytes. */
export function formatDigest(algorithm: DigestAlgorithm, bytes: Uint8Array): Digest {
  return `${algorithm}:${Buffer.from(bytes).toString('hex')}`;
}

/** SHA-256 of `data`. */
export function sha256(data: Uint8Array | string): Buffer {
  return hash('sha256', data, 'buffer');
}

/** SM3 of `data` (GB/T 32905-2016). */
export function sm3(data: Uint8Array | string): Buffer {
  return hash('sm3', data, 'buffer');
}

/** `sha256:hex` of `data`. */
export function sha256Digest(data: Uint8Array | string): Digest {
  return formatDigest('sha256', sha256(data));
}

/** Digests of one input under several algorithms, keyed by algorithm. */
export type DigestSet = Partial<Record<DigestAlgorithm, Digest>> & { sha256: Digest };

/** An incremental hasher feeding every chunk to each algorithm: one pass over the data. */
export interface MultiHasher {
  /** Adds a chunk. Must not be called after {@link MultiHasher.digest}. */
  update(chunk: Uint8Array): void;
  /** Bytes seen so far. */
  readonly bytes: number;
  /** Finishes and returns the digests. Call once. */
  digest(): DigestSet;
}

class MultiHasherImpl implements MultiHasher {
  readonly #hashes: ReadonlyArray<readonly [DigestAlgorithm, Hash]>;
  #bytes = 0;

  constructor(algorithms: readonly DigestAlgorithm[]) {
    this.#hashes = algorithms.map((algorithm) => [algorithm, createHash(algorithm)] as const);
  }

  get bytes(): number {
    return this.#bytes;
  }

  update(chunk: Uint8Array): void {
    for (const [, hash] of this.#hashes) hash.update(chunk);
    this.#bytes += chunk.byteLength;
  }

  digest(): DigestSet {
    const out: Partial<Record<DigestAlgorithm, Digest>> = {};
    for (const [algorithm, hash] of this.#hashes)
      out[algorithm] = formatDigest(algorithm, hash.digest());
    return out as DigestSet;
  }
}

/**
 * A hasher over `algorithms` (default both). SHA-256 is always included: it is the primary digest.
 */
export function createMultiHasher(
  algorithms: readonly DigestAlgorithm[] = DIGEST_ALGORITHMS,
): MultiHasher {
  const set = new Set<DigestAlgorithm>(['sha256', ...algorithms]);
  return new MultiHasherImpl([...set]);
}

/** Digests of an in-memory buffer. */
export function digestBytes(
  data: Uint8Array,
  algorithms: readonly DigestAlgorithm[] = DIGEST_ALGORITHMS,
): DigestSet {
  const hasher = createMultiHasher(algorithms);
  hasher.update(data);
  return hasher.digest();
}
