/**
 * The embedded ledger executes a transaction while the previous block is being written: the later
 * one must see the earlier one's writes, blocks must be written in order, and every submission
 * must resolve only with its own block durable.
 */

import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildBatch, type BatchResult } from '../../core/batch';
import { canonicalJson } from '../../core/canonical';
import { digestBytes } from '../../core/digest';
import type { EvidenceRecord } from '../../core/evidence';
import type { DepositedEvent, EvidenceState } from '../../core/evidence-state';
import { openEmbeddedLedger } from '../../gateway/ledger/embedded-ledger';
import type { Committed, LedgerIdentity } from '../../gateway/ledger/ledger';

const gateway: LedgerIdentity = { mspId: 'NodeOrg', id: 'gateway', role: 'gateway' };

function record(content: string, account: string): EvidenceRecord {
  const d = digestBytes(Buffer.from(content));
  return { digests: [d.sha256, d.sm3!], depositor: { org: 'PlatformOrg', account } };
}

describe('embedded ledger pipelining', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ledger-pipe-'));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('gives transactions submitted together consecutive blocks, each seeing the ones before', async () => {
    const ledger = await openEmbeddedLedger({ dataDir: dir, org: 'NodeOrg' });
    const submit = (records: EvidenceRecord[]) => {
      const batch = buildBatch(records);
      return ledger.submit<BatchResult>(
        'evidence',
        'depositBatch',
        [canonicalJson({ records: batch.records, root: batch.root })],
        gateway,
      );
    };
    // All submitted in one turn: each executes while the block before it is being written.
    const submitted: Promise<Committed<BatchResult>>[] = [
      submit([record('shared', 'lawyer-1')]),
      submit([record('shared', 'lawyer-1')]),
      submit([record('shared', 'notary-7')]),
      ...Array.from({ length: 20 }, (_, i) => submit([record(`item-${i}`, 'lawyer-1')])),
    ];
    const order: number[] = [];
    submitted.forEach((promise, index) => void promise.then(() => order.push(index)));
    const committed = await Promise.all(submitted);

    expect(committed.map((c) => c.blockNumber)).toEqual(committed.map((_, i) => i + 1));
    expect(order).toEqual(committed.map((_, i) => i));
    const outcomes = committed.map((c) => (c.event?.payload as DepositedEvent).outcomes[0]);
    expect(outcomes.slice(0, 3)).toEqual(['created', 'existing', 'attested']);
    const state = await ledger.evaluate<EvidenceState>(
      'evidence',
      'readEvidence',
      [record('shared', 'x').digests[0]!],
      gateway,
    );
    expect(state.txId).toBe(committed[0]?.txId);
    expect(state.attestations.map((a) => a.txId)).toEqual([committed[2]?.txId]);
    const history = await ledger.evaluate<unknown[]>(
      'evidence',
      'evidenceHistory',
      [record('shared', 'x').digests[0]!],
      gateway,
    );
    expect(history).toHaveLength(2);
    expect(await ledger.verifyChain()).toBe(committed.length + 1);
    await ledger.close();

    const reopened = await openEmbeddedLedger({ dataDir: dir, org: 'NodeOrg' });
    expect((await reopened.info()).height).toBe(committed.length + 1);
    expect(await reopened.transaction(committed[5]!.txId)).toMatchObject({ blockNumber: 6 });
    await reopened.close();
  });

  it('fails a transaction refused by the chaincode without holding up the next ones', async () => {
    const ledger = await openEmbeddedLedger({ dataDir: dir, org: 'NodeOrg' });
    const good = buildBatch([record('good', 'lawyer-1')]);
    const refused = ledger.submit(
      'evidence',
      'depositBatch',
      [canonicalJson({ records: good.records, root: buildBatch([record('other', 'a')]).root })],
      gateway,
    );
    const accepted = ledger.submit<BatchResult>(
      'evidence',
      'depositBatch',
      [canonicalJson({ records: good.records, root: good.root })],
      gateway,
    );
    await expect(refused).rejects.toMatchObject({ code: 'BATCH_ROOT_MISMATCH' });
    expect((await accepted).blockNumber).toBe(1);
    expect(await ledger.verifyChain()).toBe(2);
    await ledger.close();
  });
});
