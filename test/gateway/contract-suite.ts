/**
 * The evidence contract's behaviour through the Ledger port, as one suite every adapter runs
 * (abstract-level's `suite(options)` pattern): the fake here, the embedded ledger, Fabric.
 *
 *   ledgerContractSuite('embedded', async () => {
 *     const ledger = await openEmbeddedLedger({ dataDir, org: 'NodeOrg' });
 *     return { ledger, close: () => ledger.close() };
 *   });
 */

import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildBatch, type Batch, type BatchResult } from '../../core/batch';
import { blockHash, blockSigningBytes, txLeafHash } from '../../core/block';
import { canonicalJson } from '../../core/canonical';
import { digestBytes, type Digest } from '../../core/digest';
import { isEvidenceError, type ErrorCode } from '../../core/errors';
import type { Depositor, EvidenceRecord } from '../../core/evidence';
import type {
  Annotation,
  DepositedEvent,
  EvidenceState,
  HistoryEntry,
} from '../../core/evidence-state';
import { rootFromInclusionProof } from '../../core/merkle';
import { publicKeyFromSpki, verifySignature } from '../../core/signature';
import { parseTrustFile } from '../../core/trust';
import { verifyReceipt } from '../../core/verify';
import type { Committed, Ledger, LedgerIdentity } from '../../gateway/ledger/ledger';
import { batchOfTransaction, checkTransaction, receiptAt } from '../../gateway/receipts';

export interface OpenedLedger {
  readonly ledger: Ledger;
  close(): Promise<void>;
}

const GATEWAY: LedgerIdentity = { mspId: 'NodeOrg', id: 'gateway', role: 'gateway' };
const COURT: LedgerIdentity = { mspId: 'CourtOrg', id: 'judge-1', role: 'court' };
const LAWYER: Depositor = { org: 'PlatformOrg', account: 'lawyer-1' };
const NOTARY: Depositor = { org: 'NotaryOrg', account: 'notary-7' };

function recordOf(depositor: Depositor, content: Buffer = randomBytes(48)): EvidenceRecord {
  const digests = digestBytes(content);
  return { digests: [digests.sha256, digests.sm3 as Digest], evidenceType: 'document', depositor };
}

function digestOf(record: EvidenceRecord): Digest {
  return record.digests[0] as Digest;
}

async function expectCode(
  promise: Promise<unknown>,
  codes: ErrorCode | readonly ErrorCode[],
): Promise<void> {
  const expected = typeof codes === 'string' ? [codes] : codes;
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  expect(caught, 'expected the call to fail').toBeDefined();
  expect(isEvidenceError(caught), `not an EvidenceError: ${String(caught)}`).toBe(true);
  expect(expected).toContain((caught as { code: ErrorCode }).code);
}

/** Registers the suite for one adapter. `open` gives a fresh, empty ledger per test. */
export function ledgerContractSuite(name: string, open: () => Promise<OpenedLedger>): void {
  describe(`evidence contract through the Ledger port (${name})`, () => {
    let opened: OpenedLedger;
    let ledger: Ledger;

    beforeEach(async () => {
      opened = await open();
      ledger = opened.ledger;
    });

    afterEach(async () => {
      await opened.close();
    });

    async function deposit(
      records: readonly EvidenceRecord[],
    ): Promise<{ batch: Batch; committed: Committed<BatchResult> }> {
      const batch = buildBatch(records);
      const committed = await ledger.submit<BatchResult>(
        'evidence',
        'depositBatch',
        [canonicalJson({ records: batch.records, root: batch.root })],
        GATEWAY,
      );
      return { batch, committed };
    }

    const read = (digest: Digest) =>
      ledger.evaluate<EvidenceState | null>('evidence', 'readEvidence', [digest], GATEWAY);
    const history = (digest: Digest) =>
      ledger.evaluate<HistoryEntry[]>('evidence', 'evidenceHistory', [digest], GATEWAY);
    const annotate = (digest: Digest, input: object, identity: LedgerIdentity = COURT) =>
      ledger.submit<Annotation>('evidence', 'annotate', [digest, canonicalJson(input)], identity);
    const outcomesOf = (committed: Committed) =>
      (committed.event?.payload as DepositedEvent).outcomes;

    it('deposits a batch and returns its root and size, with one created outcome per record', async () => {
      const records = [recordOf(LAWYER), recordOf(LAWYER), recordOf(NOTARY)];
      const { batch, committed } = await deposit(records);
      expect(committed.result).toEqual({ root: batch.root, size: 3 });
      expect(committed.txId).toMatch(/^[0-9a-f]{64}$/);
      expect(committed.time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      expect(committed.event).toEqual({
        name: 'EvidenceDeposited',
        payload: { root: batch.root, outcomes: ['created', 'created', 'created'] },
      });
    });

    it('reads a deposited record with its placement, and null for an unknown digest', async () => {
      const records = [recordOf(LAWYER), recordOf(NOTARY)];
      const { batch, committed } = await deposit(records);
      const state = await read(digestOf(batch.records[1] as EvidenceRecord));
      expect(state).toEqual({
        type: 'evidence',
        record: batch.records[1],
        txId: committed.txId,
        time: committed.time,
        batchRoot: batch.root,
        leafIndex: 1,
        batchSize: 2,
        attestations: [],
        annotations: [],
      });
      expect(await read(digestOf(recordOf(LAWYER)))).toBeNull();
    });

    it('refuses a malformed digest argument with VALIDATION_FAILED', async () => {
      await expectCode(read('sha256:xyz' as Digest), 'VALIDATION_FAILED');
    });

    it('is idempotent for the same depositor: existing, and nothing changes', async () => {
      const record = recordOf(LAWYER);
      const first = await deposit([record]);
      const before = await read(digestOf(record));
      const again = await deposit([{ ...record, evidenceType: 'other' }]);
      expect(outcomesOf(again.committed)).toEqual(['existing']);
      expect(await read(digestOf(record))).toEqual(before);
      expect(before?.txId).toBe(first.committed.txId);
    });

    it('adds an attestation for another depositor and keeps the first time', async () => {
      const record = recordOf(LAWYER);
      const first = await deposit([record]);
      const second = await deposit([{ ...record, depositor: NOTARY }]);
      expect(outcomesOf(second.committed)).toEqual(['attested']);
      const state = await read(digestOf(record));
      expect(state?.time).toBe(first.committed.time);
      expect(state?.txId).toBe(first.committed.txId);
      expect(state?.record.depositor).toEqual(LAWYER);
      expect(state?.attestations).toEqual([
        {
          record: second.batch.records[0],
          txId: second.committed.txId,
          time: second.committed.time,
          batchRoot: second.batch.root,
          leafIndex: 0,
          batchSize: 1,
        },
      ]);
      const third = await deposit([{ ...record, depositor: NOTARY }]);
      expect(outcomesOf(third.committed)).toEqual(['existing']);
    });

    it('reports mixed outcomes in record order', async () => {
      const mine = recordOf(LAWYER);
      const theirs = recordOf(NOTARY);
      await deposit([mine, theirs]);
      const fresh = recordOf(LAWYER);
      const { committed } = await deposit([mine, fresh, { ...theirs, depositor: LAWYER }]);
      expect(outcomesOf(committed)).toEqual(['existing', 'created', 'attested']);
    });

    it('refuses a batch whose root does not match its records, and writes nothing', async () => {
      const record = recordOf(LAWYER);
      const batch = buildBatch([record]);
      const wrongRoot = buildBatch([recordOf(LAWYER)]).root;
      await expectCode(
        ledger.submit(
          'evidence',
          'depositBatch',
          [canonicalJson({ records: batch.records, root: wrongRoot })],
          GATEWAY,
        ),
        'BATCH_ROOT_MISMATCH',
      );
      expect(await read(digestOf(record))).toBeNull();
    });

    it('refuses a batch holding one digest twice with DUPLICATE_IN_BATCH', async () => {
      const record = recordOf(LAWYER);
      const records = [record, { ...record, depositor: NOTARY }];
      await expectCode(
        ledger.submit(
          'evidence',
          'depositBatch',
          [canonicalJson({ records, root: `sha256:${'0'.repeat(64)}` })],
          GATEWAY,
        ),
        'DUPLICATE_IN_BATCH',
      );
    });

    it('refuses batch arguments that are not JSON', async () => {
      await expectCode(ledger.submit('evidence', 'depositBatch', ['{not json'], GATEWAY), [
        'INVALID_JSON',
        'VALIDATION_FAILED',
      ]);
    });

    it('grows the history with each change of the record', async () => {
      const record = recordOf(LAWYER);
      const first = await deposit([record]);
      const digest = digestOf(record);
      expect((await history(digest)).map((entry) => entry.txId)).toEqual([first.committed.txId]);
      const second = await deposit([{ ...record, depositor: NOTARY }]);
      const annotated = await annotate(digest, { kind: 'note', reference: 'case-2026-001' });
      const entries = await history(digest);
      expect(entries.map((entry) => entry.txId).sort()).toEqual(
        [first.committed.txId, second.committed.txId, annotated.txId].sort(),
      );
      const latest = entries.find((entry) => entry.txId === annotated.txId);
      expect(latest?.isDelete).toBe(false);
      expect(latest?.value?.annotations).toHaveLength(1);
      expect(await history(digestOf(recordOf(LAWYER)))).toEqual([]);
    });

    it('lets only a court annotate (FORBIDDEN otherwise)', async () => {
      const record = recordOf(LAWYER);
      await deposit([record]);
      for (const role of ['depositor', 'platform', 'admin', 'gateway', 'auditor']) {
        await expectCode(
          annotate(
            digestOf(record),
            { kind: 'court-hold' },
            { mspId: 'PlatformOrg', id: 'someone', role },
          ),
          'FORBIDDEN',
        );
      }
      expect((await read(digestOf(record)))?.annotations).toEqual([]);
    });

    it('refuses to annotate an unknown digest (EVIDENCE_NOT_FOUND) or a bad annotation', async () => {
      await expectCode(
        annotate(digestOf(recordOf(LAWYER)), { kind: 'note' }),
        'EVIDENCE_NOT_FOUND',
      );
      const record = recordOf(LAWYER);
      await deposit([record]);
      await expectCode(
        annotate(digestOf(record), { kind: 'delete-everything' }),
        'VALIDATION_FAILED',
      );
    });

    it('appends annotations and never changes earlier ones', async () => {
      const record = recordOf(LAWYER);
      await deposit([record]);
      const digest = digestOf(record);
      const hold = await annotate(digest, {
        kind: 'court-hold',
        reference: '(2026)京0491民初123号',
      });
      expect(hold.result).toEqual({
        kind: 'court-hold',
        reference: '(2026)京0491民初123号',
        by: { org: COURT.mspId, account: COURT.id },
        txId: hold.txId,
        time: hold.time,
      });
      const release = await annotate(digest, {
        kind: 'release',
        reference: '(2026)京0491民初123号',
      });
      const state = await read(digest);
      expect(state?.annotations).toEqual([hold.result, release.result]);
      expect(state?.record).toEqual(buildBatch([record]).records[0]);
    });

    it('yields receipts that verify against its trust file', async () => {
      const records = [
        recordOf(LAWYER),
        recordOf(LAWYER),
        recordOf(NOTARY),
        recordOf(NOTARY),
        recordOf(LAWYER),
      ];
      const { batch, committed } = await deposit(records);
      const stored = await ledger.transaction(committed.txId);
      expect(stored).toBeDefined();
      checkTransaction(batch, stored!);
      expect(batchOfTransaction(stored!).root).toBe(batch.root);
      const trust = parseTrustFile(ledger.trust());
      for (let index = 0; index < batch.records.length; index++) {
        const receipt = receiptAt(batch, index, stored!);
        const verdict = verifyReceipt(JSON.parse(JSON.stringify(receipt)), trust);
        expect(verdict.verdict, JSON.stringify(verdict.checks)).toBe('VERIFIED');
        expect(verdict.facts?.existedBy).toBe(committed.time);
      }
      const tampered = JSON.parse(JSON.stringify(receiptAt(batch, 0, stored!))) as {
        record: { depositor: Depositor };
      };
      tampered.record.depositor = NOTARY;
      expect(verifyReceipt(tampered, trust).verdict).not.toBe('VERIFIED');
    });

    it('advances the height and tip with each transaction', async () => {
      const before = await ledger.info();
      expect(before.chainId).toBe(ledger.chainId);
      expect(before.kind).toBe(ledger.kind);
      const { committed } = await deposit([recordOf(LAWYER)]);
      const after = await ledger.info();
      expect(after.height).toBe(before.height + 1);
      expect(committed.blockNumber).toBe(after.height - 1);
      expect(after.tipHash).not.toBe(before.tipHash);
      const stored = await ledger.transaction(committed.txId);
      expect(after.tipHash).toBe(blockHash(stored!.block.header));
      expect(after.tipTime).toBe(stored!.block.header.time);
      if (before.height > 0) expect(stored!.block.header.previousHash).toBe(before.tipHash);
    });

    it('returns a stored transaction whose header is under the signed block data hash', async () => {
      const { batch, committed } = await deposit([recordOf(LAWYER), recordOf(NOTARY)]);
      const stored = await ledger.transaction(committed.txId);
      expect(stored).toBeDefined();
      const { header, block, txIndex, txPath } = stored!;
      expect(header).toMatchObject({
        type: 'tx',
        txId: committed.txId,
        chainId: ledger.chainId,
        time: committed.time,
        contract: 'evidence',
        fn: 'depositBatch',
        creator: { mspId: GATEWAY.mspId, id: GATEWAY.id },
      });
      expect(stored!.blockNumber).toBe(committed.blockNumber);
      expect(block.header.number).toBe(committed.blockNumber);
      expect(stored!.result).toEqual({ root: batch.root, size: 2 });
      const root = rootFromInclusionProof(
        txIndex,
        block.header.txCount,
        txLeafHash(header),
        txPath.map((hex) => Buffer.from(hex, 'hex')),
      );
      expect(`sha256:${root.toString('hex')}`).toBe(block.header.dataHash);
      const key = ledger.trust().chains[0]?.keys.find((k) => k.keyId === block.signature.keyId);
      expect(key).toBeDefined();
      const publicKey = publicKeyFromSpki(key!.publicKey);
      expect(
        verifySignature(
          block.signature.algorithm,
          publicKey!,
          blockSigningBytes(block.header),
          block.signature.value,
        ),
      ).toBe(true);
    });

    it('returns undefined for an unknown transaction id', async () => {
      expect(await ledger.transaction('0'.repeat(64))).toBeUndefined();
    });
  });
}
