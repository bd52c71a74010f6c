import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildBatch } from '../../core/batch';
import { canonicalJson } from '../../core/canonical';
import { digestBytes } from '../../core/digest';
import type { EvidenceRecord } from '../../core/evidence';
import type { DepositedEvent, EvidenceState } from '../../core/evidence-state';
import { openEmbeddedLedger } from '../../gateway/ledger/embedded-ledger';
import type { LedgerIdentity } from '../../gateway/ledger/ledger';

const gateway: LedgerIdentity = { mspId: 'NodeOrg', id: 'gateway', role: 'gateway' };

function record(content: string, account = 'lawyer-1'): EvidenceRecord {
  const d = digestBytes(Buffer.from(content));
  return { digests: [d.sha256, d.sm3!], depositor: { org: 'PlatformOrg', account } };
}

describe('embedded ledger', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ledger-'));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('creates a node key with mode 0600 and a genesis block', async () => {
    const ledger = await openEmbeddedLedger({ dataDir: dir, org: 'NodeOrg' });
    const stat = await fs.stat(path.join(dir, 'node-key.pem'));
    expect(stat.mode & 0o777).toBe(0o600);
    const info = await ledger.info();
    expect(info.height).toBe(1);
    expect(info.chainId).toMatch(/^nodeorg-[0-9a-f]{12}$/);
    await ledger.close();
  });

  it('refuses, as the node opens it, a chain of another organisation, naming both', async () => {
    const ledger = await openEmbeddedLedger({ dataDir: dir, org: 'PlatformOrg' });
    const { chainId } = ledger;
    await ledger.close();
    await expect(
      openEmbeddedLedger({ dataDir: dir, org: 'OtherOrg', requireOrg: true }),
    ).rejects.toMatchObject({
      code: 'LEDGER_UNAVAILABLE',
      message: expect.stringContaining(
        `chain ${chainId} of organisation PlatformOrg (its block 0); the node is configured as OtherOrg: set EVIDENCE_ORG=PlatformOrg`,
      ),
    });
    // A check of a copy opens it as whatever organisation; the node, as its own.
    for (const options of [{ org: 'backup-check' }, { org: 'PlatformOrg', requireOrg: true }]) {
      const opened = await openEmbeddedLedger({ dataDir: dir, ...options });
      expect(opened.chainId).toBe(chainId);
      await opened.close();
    }
  });

  it('abandons a backup when the node stops, with LEDGER_CLOSED', async () => {
    const ledger = await openEmbeddedLedger({ dataDir: dir, org: 'NodeOrg' });
    const backup = ledger.backup(path.join(dir, 'copy'));
    ledger.abortBackup();
    await expect(backup).rejects.toMatchObject({ code: 'LEDGER_CLOSED' });
    // The next one is not affected.
    const next = await ledger.backup(path.join(dir, 'copy-2'));
    expect(next.verifiedBlocks).toBe(1);
    await ledger.close();
  });

  it('commits a batch durably and survives a reopen', async () => {
    let ledger = await openEmbeddedLedger({ dataDir: dir, org: 'NodeOrg' });
    const batch = buildBatch([record('a'), record('b')]);
    const committed = await ledger.submit<{ root: string; size: number }>(
      'evidence',
      'depositBatch',
      [canonicalJson({ records: batch.records, root: batch.root })],
      gateway,
    );
    expect(committed.result).toEqual({ root: batch.root, size: 2 });
    expect((committed.event?.payload as DepositedEvent).outcomes).toEqual(['created', 'created']);
    expect(committed.blockNumber).toBe(1);
    await ledger.close();
    ledger = await openEmbeddedLedger({ dataDir: dir, org: 'NodeOrg' });
    const state = await ledger.evaluate<EvidenceState>(
      'evidence',
      'readEvidence',
      [batch.records[1]!.digests[0]!],
      gateway,
    );
    expect(state.leafIndex).toBe(1);
    expect(state.txId).toBe(committed.txId);
    expect(await ledger.verifyChain()).toBe(2);
    await ledger.close();
  });

  it('backs up into a new folder that opens as the same chain, verified; never over a copy', async () => {
    const ledger = await openEmbeddedLedger({ dataDir: dir, org: 'NodeOrg' });
    for (const name of ['a', 'b', 'c']) {
      const batch = buildBatch([record(name)]);
      await ledger.submit(
        'evidence',
        'depositBatch',
        [canonicalJson({ records: batch.records, root: batch.root })],
        gateway,
      );
    }
    const folder = path.join(dir, 'backup');
    const backup = await ledger.backup(folder);
    const info = await ledger.info();
    expect(backup).toMatchObject({
      height: 4,
      verifiedBlocks: 4,
      tipHash: info.tipHash,
      tipTime: info.tipTime,
    });
    expect(backup.store.entries).toBeGreaterThan(10);
    expect((await fs.stat(path.join(folder, 'node-key.pem'))).mode & 0o777).toBe(0o600);
    // Deposits go on in the original; the copy stays as it was.
    const batch = buildBatch([record('d')]);
    await ledger.submit(
      'evidence',
      'depositBatch',
      [canonicalJson({ records: batch.records, root: batch.root })],
      gateway,
    );
    await expect(ledger.backup(folder)).rejects.toMatchObject({ code: 'LEDGER_UNAVAILABLE' });
    const copy = await openEmbeddedLedger({ dataDir: folder, org: 'NodeOrg' });
    expect(copy.chainId).toBe(ledger.chainId);
    expect(copy.trust()).toEqual(ledger.trust());
    expect((await copy.info()).height).toBe(4);
    const read = await copy.evaluate<EvidenceState | null>(
      'evidence',
      'readEvidence',
      [record('c').digests[0]!],
      gateway,
    );
    expect(read?.record.digests).toEqual(record('c').digests);
    await copy.close();
    await ledger.close();
  });
});
