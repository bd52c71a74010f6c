/**
 * Whole blocks (core/full-block.ts): the reader refuses anything but a well-formed block, naming
 * its bad fields; the check finds each way a block can fail its place, its digests or its
 * signature, and passes the block as it was signed.
 */

import { describe, expect, it } from 'vitest';
import { txLeafHash, valueDigest, type BlockHeader, type TxHeader } from '../../core/block';
import { formatDigest } from '../../core/digest';
import { isEvidenceError } from '../../core/errors';
import {
  eventValueOf,
  fullBlockProblem,
  parseFullBlock,
  parseSignedHeaderOf,
  resultValueOf,
  type FullBlock,
  type FullTx,
} from '../../core/full-block';
import { rootOf } from '../../core/merkle';
import { makeNodeKey, signBlock } from '../support/receipt-factory';

const CHAIN = 'nodeorg-0123456789ab';
const PARENT = `sha256:${'a'.repeat(64)}` as const;
const key = makeNodeKey();
const signer = {
  keyId: key.keyId,
  algorithm: key.algorithm,
  publicKey: key.spki.toString('base64'),
};

function tx(time: string, writes: FullTx['writes'], result = '{"root":"r","size":1}'): FullTx {
  const args = ['{"records":[]}'];
  const event = { name: 'deposited', payload: '{"count":1}' };
  const header: TxHeader = {
    type: 'tx',
    txId: 'c'.repeat(64),
    chainId: CHAIN,
    time,
    creator: { mspId: 'NodeOrg', id: 'gateway', role: 'gateway' },
    contract: 'evidence',
    fn: 'depositBatch',
    argsDigest: valueDigest(args),
    resultDigest: valueDigest(resultValueOf(result)),
    writesDigest: valueDigest(writes),
    eventsDigest: valueDigest(eventValueOf(event)),
  };
  return { header, args, result, writes, event };
}

function block(txs: FullTx[], changes: Partial<BlockHeader> = {}): FullBlock {
  const header: BlockHeader = {
    type: 'block',
    chainId: CHAIN,
    number: 5,
    previousHash: PARENT,
    dataHash: formatDigest('sha256', rootOf(txs.map((t) => txLeafHash(t.header)))),
    txCount: txs.length,
    time: txs.at(-1)!.header.time,
    ...changes,
  };
  return { ...signBlock(header, key), txs };
}

const place = {
  chainId: CHAIN,
  number: 5,
  previousHash: PARENT,
  previousTime: '2026-11-01T00:00:00.000Z',
};
const good = block([tx('2026-11-02T00:00:00.000Z', [{ key: 'evidence:x', value: '{"a":1}' }])]);

describe('whole blocks', () => {
  it('passes a block at its place, signed by its key, and reads it back from its text', () => {
    expect(fullBlockProblem(good, place, signer)).toBeUndefined();
    expect(parseFullBlock(JSON.stringify(good))).toEqual(good);
    const two = block([
      tx('2026-11-02T00:00:00.000Z', [{ key: 'a', value: '1' }]),
      tx('2026-11-02T00:00:00.000Z', [{ key: 'b', value: null }]),
    ]);
    expect(fullBlockProblem(two, place, signer)).toBeUndefined();
  });

  it('finds each way a block fails its place, its digests or its signature', () => {
    const t = good.txs[0]!;
    // Signed again over the changed transactions: only the digests inside can tell.
    const resign = (changed: FullBlock) => block([...changed.txs]);
    const cases: Array<[string, FullBlock, string]> = [
      [
        'another chain',
        block(good.txs as FullTx[], { chainId: 'other-chain' }),
        'of chain other-chain',
      ],
      ['another number', block(good.txs as FullTx[], { number: 6 }), 'says it is block 6'],
      [
        'another parent',
        block(good.txs as FullTx[], { previousHash: `sha256:${'b'.repeat(64)}` }),
        'does not link',
      ],
      ['a wrong count', block(good.txs as FullTx[], { txCount: 2 }), 'transaction count'],
      [
        'a wrong time',
        block(good.txs as FullTx[], { time: '2026-11-03T00:00:00.000Z' }),
        'not dated by its last transaction',
      ],
      ['a wrong data hash', block(good.txs as FullTx[], { dataHash: PARENT }), 'data hash'],
      [
        'a transaction of another chain',
        resign({ ...good, txs: [{ ...t, header: { ...t.header, chainId: 'other-chain' } }] }),
        'is of chain other-chain',
      ],
      [
        'a transaction before the parent',
        block([tx('2026-10-01T00:00:00.000Z', t.writes)]),
        'dated before',
      ],
      [
        'changed arguments',
        resign({ ...good, txs: [{ ...t, args: ['{}'] }] }),
        'arguments do not match',
      ],
      [
        'a changed result',
        resign({ ...good, txs: [{ ...t, result: '"other"' }] }),
        'result does not match',
      ],
      ['changed writes', resign({ ...good, txs: [{ ...t, writes: [] }] }), 'writes do not match'],
      [
        'a changed event',
        resign({ ...good, txs: [{ ...t, event: null }] }),
        'event does not match',
      ],
      [
        'another signer',
        { ...good, signature: { ...good.signature, keyId: `sha256:${'d'.repeat(64)}` } },
        'signature does not verify',
      ],
      [
        'a changed signature',
        {
          ...good,
          signature: { ...good.signature, value: Buffer.alloc(64, 1).toString('base64') },
        },
        'signature does not verify',
      ],
    ];
    for (const [what, changed, expected] of cases) {
      expect(fullBlockProblem(changed, place, signer), what).toContain(expected);
    }
    // A block signed by another key than the one given fails, however well formed.
    expect(
      fullBlockProblem(good, place, {
        ...signer,
        publicKey: makeNodeKey().spki.toString('base64'),
      }),
    ).toContain('signature');
  });

  it('reads only well-formed blocks, naming every bad field as BLOCK_INVALID', () => {
    const refusal = (text: string) => {
      try {
        parseFullBlock(text);
      } catch (error) {
        if (isEvidenceError(error)) return error;
      }
      throw new Error('expected BLOCK_INVALID');
    };
    expect(refusal('{').code).toBe('BLOCK_INVALID');
    const malformed = refusal(
      JSON.stringify({
        ...good,
        txs: [{ ...good.txs[0], writes: [{ key: '', value: 1 }], extra: 1 }],
        more: true,
      }),
    );
    expect(malformed.code).toBe('BLOCK_INVALID');
    const paths = (malformed.fields ?? []).map((f) => f.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/more',
        '/txs/0/extra',
        '/txs/0/writes/0/key',
        '/txs/0/writes/0/value',
      ]),
    );
    expect(refusal(JSON.stringify({ ...good, txs: [] })).fields?.[0]?.path).toBe('/txs');
  });

  it("reads a block's signed header alone, refusing a bad one with its fields", () => {
    expect(parseSignedHeaderOf(JSON.stringify(good))).toEqual({
      header: good.header,
      signature: good.signature,
    });
    for (const text of [
      '{',
      'null',
      JSON.stringify({ ...good, header: { ...good.header, number: -1 } }),
    ]) {
      let code: string | undefined;
      try {
        parseSignedHeaderOf(text);
      } catch (error) {
        code = isEvidenceError(error) ? error.code : 'other';
      }
      expect(code, text.slice(0, 20)).toBe('BLOCK_INVALID');
    }
  });
});
