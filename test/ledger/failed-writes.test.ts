/**
 * A synced write that reports a failure may still have reached the disk whole. Before writing
 * again the ledger reopens its store and compares the stored tip with its own: a block that landed
 * is adopted, and the block executed on the old tip is abandoned. That check must happen whoever
 * reopened the store first (here, a read).
 */

import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EvidenceState } from '../../core/evidence-state';
import { openEmbeddedLedger } from '../../gateway/ledger/embedded-ledger';
import { failBatchWrites, failOpens } from '../support/leveldb-faults';
import { depositArgs, GATEWAY_IDENTITY } from '../support/deposit-args';
import { rejectionOf } from '../support/rejection';

const gateway = GATEWAY_IDENTITY;

describe('a write that failed but landed', () => {
  let dir: string;
  let restore: (() => void) | undefined;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ledger-landed-'));
  });
  afterEach(async () => {
    restore?.();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('is adopted as the tip after a read reopened the store, and the chain goes on from it', async () => {
    const ledger = await openEmbeddedLedger({ dataDir: dir, org: 'NodeOrg' });
    await ledger.submit('evidence', 'depositBatch', depositArgs('first'), gateway);

    // The next write reaches the disk, then reports a full disk.
    restore = failBatchWrites({ landed: true });
    const landed = depositArgs('landed');
    const failed = await rejectionOf(ledger.submit('evidence', 'depositBatch', landed, gateway));
    expect((failed as { code: string }).code).toBe('STORAGE_FULL');
    restore();

    // The write after it cannot even reopen the store (still no space).
    restore = failOpens();
    const refused = await rejectionOf(
      ledger.submit('evidence', 'depositBatch', depositArgs('refused'), gateway),
    );
    expect((refused as { code: string }).code).toBe('STORAGE_FULL');
    restore();
    restore = undefined;

    // Space is back. A read comes first and reopens the store.
    const digest = JSON.parse(landed[0] as string).records[0].digests[0] as string;
    const state = await ledger.evaluate<EvidenceState | null>(
      'evidence',
      'readEvidence',
      [digest],
      gateway,
    );
    expect(state?.record.digests[0]).toBe(digest);

    // The next write still compares tips: the landed block 2 is the tip, the block executed on
    // the old tip is abandoned, and the one after goes on from block 2.
    const abandoned = await rejectionOf(
      ledger.submit('evidence', 'depositBatch', depositArgs('abandoned'), gateway),
    );
    expect((abandoned as { code: string }).code).toBe('LEDGER_UNAVAILABLE');
    const next = await ledger.submit('evidence', 'depositBatch', depositArgs('next'), gateway);
    expect(next.blockNumber).toBe(3);
    expect(await ledger.verifyChain()).toBe(4);
    expect((await ledger.info()).height).toBe(4);
    await ledger.close();
  });
  it('reads and backs up after a failed write: the store is reopened first, not read while closed', async () => {
    const ledger = await openEmbeddedLedger({ dataDir: dir, org: 'NodeOrg' });
    await ledger.submit('evidence', 'depositBatch', depositArgs('first'), gateway);
    // A write fails, and the reopen before the next one fails too: the store is left closed.
    const restoreWrites = failBatchWrites();
    await rejectionOf(ledger.submit('evidence', 'depositBatch', depositArgs('lost'), gateway));
    const restoreOpens = failOpens();
    restore = () => {
      restoreWrites();
      restoreOpens();
    };
    await rejectionOf(ledger.submit('evidence', 'depositBatch', depositArgs('refused'), gateway));
    restore();
    restore = undefined;

    // Space is back: reads reopen the store first, and the backup copies the durable chain.
    expect((await ledger.blockHeader(1))?.header.number).toBe(1);
    expect(await ledger.countState!('evidence:', 10)).toEqual({ count: 1, complete: true });
    expect(await ledger.stateKeys!('evidence:', 10)).toHaveLength(1);
    expect(await ledger.verifyChain()).toBe(2);
    const backup = await ledger.backup(path.join(dir, 'backup'));
    expect(backup.height).toBe(2);
    expect(backup.verifiedBlocks).toBe(2);
    await ledger.close();
  });
});
