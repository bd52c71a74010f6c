import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildBatch } from '../../core/batch';
import { canonicalJson } from '../../core/canonical';
import { digestBytes, type Digest } from '../../core/digest';
import type { EvidenceRecord } from '../../core/evidence';
import type { EvidenceState } from '../../core/evidence-state';
import { verifyReceipt } from '../../core/verify';
import type { LedgerIdentity, StoredTransaction } from '../../gateway/ledger/ledger';
import {
  batchOfTransaction,
  checkTransaction,
  createReceipts,
  placementFor,
  receiptAt,
} from '../../gateway/receipts';
import { FakeLedger } from './fake-ledger';

const GATEWAY: LedgerIdentity = { mspId: 'NodeOrg', id: 'gateway', role: 'gateway' };

function record(org = 'PlatformOrg', account = 'lawyer-1'): EvidenceRecord {
  const digests = digestBytes(randomBytes(40));
  return { digests: [digests.sha256, digests.sm3 as Digest], depositor: { org, account } };
}

async function depositOn(ledger: FakeLedger, records: EvidenceRecord[]) {
  const batch = buildBatch(records);
  const committed = await ledger.submit(
    'evidence',
    'depositBatch',
    [canonicalJson({ records: batch.records, root: batch.root })],
    GATEWAY,
  );
  return { batch, committed };
}

describe('receipts', () => {
  it('forBatch gives one receipt per record that verifies against ledger.trust()', async () => {
    const ledger = new FakeLedger();
    const receipts = createReceipts(ledger, { gatewayIdentity: GATEWAY });
    const { batch, committed } = await depositOn(ledger, [record(), record(), record()]);
    const receiptOf = await receipts.forBatch(batch, committed);
    const made = batch.records.map((_, index) => receiptOf(index));
    expect(made).toHaveLength(3);
    made.forEach((receipt, index) => {
      expect(receipt.record).toEqual(batch.records[index]);
      expect(receipt.inclusion.leafIndex).toBe(index);
      expect(verifyReceipt(receipt, ledger.trust()).verdict).toBe('VERIFIED');
    });
  });

  it("receiptsOf gives a transaction's receipts: the requester's, or all of them", async () => {
    const ledger = new FakeLedger();
    const lawyer = { org: 'PlatformOrg', account: 'lawyer-1', role: 'depositor' };
    const records = [
      record(),
      record('OtherOrg', 'x'),
      record(),
      record('PlatformOrg', 'lawyer-2'),
    ];
    const { batch, committed } = await depositOn(ledger, records);
    // From the chain alone (a fresh cache), and again from the cache forBatch fills.
    for (const receipts of [createReceipts(ledger, { gatewayIdentity: GATEWAY }), undefined]) {
      const from = receipts ?? createReceipts(ledger, { gatewayIdentity: GATEWAY });
      if (!receipts) await from.forBatch(batch, committed);
      const own = await from.receiptsOf(committed.txId, lawyer, false);
      expect(own?.blockNumber).toBe(committed.blockNumber);
      expect(own?.receipts.map((r) => r.inclusion.leafIndex)).toEqual([0, 2]);
      for (const receipt of own?.receipts ?? [])
        expect(verifyReceipt(receipt, ledger.trust()).verdict).toBe('VERIFIED');
      const every = await from.receiptsOf(committed.txId, lawyer, true);
      expect(every?.receipts.map((r) => r.record)).toEqual(batch.records);
    }
    const receipts = createReceipts(ledger, { gatewayIdentity: GATEWAY });
    expect(await receipts.receiptsOf('0'.repeat(64), lawyer, true)).toBeUndefined();
    // A transaction that is not a deposit has no receipts (and is no corruption).
    const annotated = await ledger.submit(
      'evidence',
      'annotate',
      [batch.records[0]!.digests[0]!, canonicalJson({ kind: 'note' })],
      { mspId: 'CourtOrg', id: 'judge', role: 'court' },
    );
    expect(await receipts.receiptsOf(annotated.txId, lawyer, true)).toBeUndefined();
  });

  it('receiptFor rebuilds, from the chain alone, the receipt forBatch gave', async () => {
    const ledger = new FakeLedger();
    const receipts = createReceipts(ledger, { gatewayIdentity: GATEWAY });
    const records = [record(), record(), record(), record(), record()];
    const { batch, committed } = await depositOn(ledger, records);
    const receiptOf = await receipts.forBatch(batch, committed);
    for (const [index, each] of batch.records.entries()) {
      expect(await receipts.receiptFor(each.digests[0] as Digest)).toEqual(receiptOf(index));
    }
    expect(await receipts.receiptFor(record().digests[0] as Digest)).toBeUndefined();
  });

  it("receiptFor prefers the requester's own attestation", async () => {
    const ledger = new FakeLedger();
    const receipts = createReceipts(ledger, { gatewayIdentity: GATEWAY });
    const first = record('PlatformOrg', 'lawyer-1');
    await depositOn(ledger, [first]);
    const { batch, committed } = await depositOn(ledger, [
      record(),
      { ...first, depositor: { org: 'NotaryOrg', account: 'n-1' } },
    ]);
    const mine = await receipts.receiptFor(first.digests[0] as Digest, {
      org: 'NotaryOrg',
      account: 'n-1',
      role: 'depositor',
    });
    expect(mine?.ledger.txId).toBe(committed.txId);
    expect(mine?.inclusion.leafIndex).toBe(1);
    expect(mine?.inclusion.root).toBe(batch.root);
    const theirs = await receipts.receiptFor(first.digests[0] as Digest, {
      org: 'PlatformOrg',
      account: 'lawyer-1',
      role: 'depositor',
    });
    expect(theirs?.ledger.txId).not.toBe(committed.txId);
  });

  it('placementFor falls back to the first deposit for a stranger', () => {
    const state = {
      type: 'evidence',
      txId: 'a',
      time: 't',
      batchRoot: `sha256:${'0'.repeat(64)}`,
      leafIndex: 0,
      batchSize: 1,
      record: record('A', 'a'),
      attestations: [
        {
          txId: 'b',
          time: 't2',
          batchRoot: `sha256:${'1'.repeat(64)}`,
          leafIndex: 3,
          batchSize: 4,
          record: record('B', 'b'),
        },
      ],
      annotations: [],
    } as EvidenceState;
    expect(placementFor(state, { org: 'B', account: 'b' }).txId).toBe('b');
    expect(placementFor(state, { org: 'C', account: 'c' }).txId).toBe('a');
    expect(placementFor(state).txId).toBe('a');
  });

  it('reports a transaction that does not match the batch as LEDGER_CORRUPTED', async () => {
    const ledger = new FakeLedger();
    const { batch, committed } = await depositOn(ledger, [record(), record()]);
    const stored = (await ledger.transaction(committed.txId)) as StoredTransaction;
    const other = buildBatch([record()]);
    expect(() => checkTransaction(other, stored)).toThrow(
      expect.objectContaining({ code: 'LEDGER_CORRUPTED' }),
    );
    expect(() =>
      checkTransaction(batch, { ...stored, header: { ...stored.header, fn: 'annotate' } }),
    ).toThrow(expect.objectContaining({ code: 'LEDGER_CORRUPTED' }));
    expect(() => batchOfTransaction({ ...stored, args: ['{oops'] })).toThrow(
      expect.objectContaining({ code: 'LEDGER_CORRUPTED' }),
    );
    expect(() =>
      batchOfTransaction({
        ...stored,
        args: [canonicalJson({ records: batch.records, root: other.root })],
      }),
    ).toThrow(expect.objectContaining({ code: 'LEDGER_CORRUPTED' }));
    expect(() => receiptAt(batch, 5, stored)).toThrow(
      expect.objectContaining({ code: 'LEDGER_CORRUPTED' }),
    );
  });

  it('reports a committed transaction that cannot be read back as LEDGER_CORRUPTED', async () => {
    const ledger = new FakeLedger();
    const receipts = createReceipts(ledger, { gatewayIdentity: GATEWAY });
    const { batch, committed } = await depositOn(ledger, [record()]);
    await expect(
      receipts.forBatch(batch, { ...committed, txId: '0'.repeat(64) }),
    ).rejects.toMatchObject({
      code: 'LEDGER_CORRUPTED',
    });
  });

  it('reports state that points at the wrong leaf as LEDGER_CORRUPTED', async () => {
    const ledger = new FakeLedger();
    const receipts = createReceipts(ledger, { gatewayIdentity: GATEWAY });
    const mine = record();
    await depositOn(ledger, [mine, record()]);
    const evaluate = ledger.evaluate.bind(ledger);
    ledger.evaluate = (async (...args: Parameters<typeof evaluate>) => {
      const state = (await evaluate(...args)) as EvidenceState;
      return { ...state, leafIndex: 1 };
    }) as typeof ledger.evaluate;
    await expect(receipts.receiptFor(mine.digests[0] as Digest)).rejects.toMatchObject({
      code: 'LEDGER_CORRUPTED',
    });
  });
});
