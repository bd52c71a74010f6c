/**
 * The hashes and signed bytes of core/block.ts, against their definitions over canonical bytes
 * (which is what they hashed before they were computed from the canonical text).
 */

import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  blockHash,
  blockSigningBytes,
  txLeafHash,
  valueDigest,
  type BlockHeader,
  type TxHeader,
} from '../../core/block';
import { canonicalBytes } from '../../core/canonical';
import { recordLeafHash, type EvidenceRecord } from '../../core/evidence';

const sha256Hex = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const leafHex = (bytes: Uint8Array) =>
  createHash('sha256').update(Buffer.of(0)).update(bytes).digest('hex');

const text = fc.string({ unit: 'binary', maxLength: 12 });
const digest = fc
  .uint8Array({ minLength: 32, maxLength: 32 })
  .map((bytes) => `sha256:${Buffer.from(bytes).toString('hex')}` as const);

const txHeader: fc.Arbitrary<TxHeader> = fc.record({
  type: fc.constant('tx' as const),
  txId: text,
  chainId: text,
  time: text,
  creator: fc.record({ mspId: text, id: text, role: text }, { requiredKeys: ['mspId', 'id'] }),
  contract: text,
  fn: text,
  argsDigest: digest,
  resultDigest: digest,
  writesDigest: digest,
  eventsDigest: digest,
});

const blockHeader: fc.Arbitrary<BlockHeader> = fc.record({
  type: fc.constant('block' as const),
  chainId: text,
  number: fc.maxSafeNat(),
  previousHash: fc.option(digest, { nil: null }),
  dataHash: digest,
  txCount: fc.maxSafeNat(),
  time: text,
});

describe('block hashes', () => {
  it('txLeafHash is hashLeaf(canonicalBytes(tx))', () => {
    fc.assert(
      fc.property(txHeader, (tx) => {
        expect(txLeafHash(tx).toString('hex')).toBe(leafHex(canonicalBytes(tx)));
      }),
      { numRuns: 200 },
    );
  });

  it('blockHash is the SHA-256 of the header’s canonical bytes', () => {
    fc.assert(
      fc.property(blockHeader, (header) => {
        expect(blockHash(header)).toBe(`sha256:${sha256Hex(canonicalBytes(header))}`);
      }),
      { numRuns: 200 },
    );
  });

  it('blockSigningBytes are the canonical bytes of {purpose, header}', () => {
    fc.assert(
      fc.property(blockHeader, (header) => {
        const expected = canonicalBytes({ purpose: 'judicial-evidence/block-header/v1', header });
        expect(Buffer.from(blockSigningBytes(header)).equals(expected)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it('valueDigest is the SHA-256 of the canonical bytes of any value', () => {
    const value = fc.jsonValue().map((v) => JSON.parse(JSON.stringify(v)) as unknown);
    fc.assert(
      fc.property(value, (v) => {
        let expected: string;
        try {
          expected = `sha256:${sha256Hex(canonicalBytes(v))}`;
        } catch {
          expect(() => valueDigest(v)).toThrow();
          return;
        }
        expect(valueDigest(v)).toBe(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('recordLeafHash is hashLeaf(canonicalBytes(record))', () => {
    const record: EvidenceRecord = {
      depositor: { org: 'Org1', account: '证据-lawyer' },
      digests: [`sha256:${'ab'.repeat(32)}`],
      process: { phase: 'before', token: 't\u2028' },
    };
    expect(recordLeafHash(record).toString('hex')).toBe(leafHex(canonicalBytes(record)));
  });
});
