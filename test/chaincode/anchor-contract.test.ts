import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type {
  AnchorFork,
  AnchorProof,
  AnchorRecord,
  AnchorTip,
  RecordAnchorResult,
  RecordedAnchorResult,
} from '../../core/anchor';
import { buildBatch, type BatchResult } from '../../core/batch';
import type { BlockHeader } from '../../core/block';
import { canonicalJson } from '../../core/canonical';
import { digestBytes, formatDigest, type Digest } from '../../core/digest';
import type { EvidenceRecord } from '../../core/evidence';
import type { Receipt } from '../../core/receipt';
import { mergeTrust } from '../../core/trust';
import { verifyReceipt } from '../../core/verify';
import {
  ANCHOR_FORK_EVENT,
  ANCHOR_RECORDED_EVENT,
  AnchorContract,
  anchorForkKey,
  anchorKey,
  anchorTipKey,
} from '../../chaincode/anchor-contract';
import { openEmbeddedLedger } from '../../gateway/ledger/embedded-ledger';
import type { LedgerIdentity } from '../../gateway/ledger/ledger';
import { FakeWorld, type FakeCaller } from './fake-context';

const job: FakeCaller = { mspId: 'CourtOrg', account: 'anchor-job', role: 'anchor' };
const CHAIN = 'evidence-1';
const hash = (n: number): Digest => formatDigest('sha256', Buffer.alloc(32, n));

function anchorJson(
  blockNumber: number,
  headerHash = hash(blockNumber),
  extra: object = {},
): string {
  return canonicalJson({ sourceChainId: CHAIN, blockNumber, headerHash, ...extra });
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (
      /^([A-Z_]+):/.exec((error as Error).message)?.[1] ?? `untyped: ${(error as Error).message}`
    );
  }
  return 'no error';
}

async function record(
  world: FakeWorld,
  json: string,
  caller: FakeCaller = job,
): Promise<RecordAnchorResult> {
  return JSON.parse(
    await new AnchorContract().recordAnchor(world.context(caller), json),
  ) as RecordAnchorResult;
}

function stateOf<T>(world: FakeWorld, key: string): T | undefined {
  const bytes = world.state.get(key);
  return bytes ? (JSON.parse(bytes.toString('utf8')) as T) : undefined;
}

describe('AnchorContract.recordAnchor', () => {
  it('records an anchor with its submitter, transaction and chain time, and moves the tip', async () => {
    const world = new FakeWorld();
    const result = await record(world, anchorJson(10, hash(10), { leavesRoot: hash(99) }));
    const time = new Date(world.seconds * 1000).toISOString();
    expect(result).toEqual({
      status: 'recorded',
      anchor: {
        type: 'anchor',
        sourceChainId: CHAIN,
        blockNumber: 10,
        headerHash: hash(10),
        leavesRoot: hash(99),
        anchoredBy: { org: 'CourtOrg', account: 'anchor-job' },
        txId: '1'.padStart(64, '0'),
        time,
      },
    });
    expect(stateOf<AnchorRecord>(world, anchorKey(CHAIN, 10))).toEqual(
      (result as RecordedAnchorResult).anchor,
    );
    expect(anchorKey(CHAIN, 10)).toBe(`anchor:${CHAIN}:000000000000000a`);
    expect(stateOf<AnchorTip>(world, anchorTipKey(CHAIN))).toMatchObject({
      blockNumber: 10,
      headerHash: hash(10),
      anchors: 1,
      forks: 0,
    });
    expect(world.events).toEqual([
      {
        name: ANCHOR_RECORDED_EVENT,
        payload: canonicalJson((result as RecordedAnchorResult).anchor),
      },
    ]);
  });

  it('is idempotent for the identical anchor, writing nothing', async () => {
    const world = new FakeWorld();
    const first = await record(world, anchorJson(10));
    await record(world, anchorJson(12));
    const writes = world.history.size;
    const entries = [...world.history.values()].reduce((n, list) => n + list.length, 0);
    world.seconds += 60;
    const again = await record(world, anchorJson(10));
    expect(again).toEqual({ status: 'existing', anchor: (first as RecordedAnchorResult).anchor });
    expect(world.history.size).toBe(writes);
    expect([...world.history.values()].reduce((n, list) => n + list.length, 0)).toBe(entries);
  });

  it('rejects another hash for a recorded block (ANCHOR_CONFLICT) and keeps the fork on record', async () => {
    const world = new FakeWorld();
    await record(world, anchorJson(10));
    const result = await record(world, anchorJson(10, hash(66)));
    expect(result).toMatchObject({
      status: 'rejected',
      code: 'ANCHOR_CONFLICT',
      fork: {
        type: 'anchor-fork',
        code: 'ANCHOR_CONFLICT',
        sourceChainId: CHAIN,
        blockNumber: 10,
        headerHash: hash(66),
        recorded: { blockNumber: 10, headerHash: hash(10), txId: '1'.padStart(64, '0') },
        reportedBy: { org: 'CourtOrg', account: 'anchor-job' },
        txId: '2'.padStart(64, '0'),
      },
    });
    const fork = (result as { fork: AnchorFork }).fork;
    expect(stateOf<AnchorFork>(world, anchorForkKey(CHAIN, 10, fork.txId))).toEqual(fork);
    expect(anchorForkKey(CHAIN, 10, fork.txId)).toBe(
      `anchor-fork:${CHAIN}:000000000000000a:${fork.txId}`,
    );
    // The anchor on record is unchanged; the tip counts the fork.
    expect(stateOf<AnchorRecord>(world, anchorKey(CHAIN, 10))?.headerHash).toBe(hash(10));
    expect(stateOf<AnchorTip>(world, anchorTipKey(CHAIN))).toMatchObject({
      blockNumber: 10,
      anchors: 1,
      forks: 1,
    });
    expect(world.events.map((e) => e.name)).toEqual([ANCHOR_RECORDED_EVENT, ANCHOR_FORK_EVENT]);
  });

  it('rejects a block below the latest anchor (ANCHOR_REGRESSION) and keeps it on record', async () => {
    const world = new FakeWorld();
    await record(world, anchorJson(10));
    await record(world, anchorJson(20));
    const result = await record(world, anchorJson(15));
    expect(result).toMatchObject({
      status: 'rejected',
      code: 'ANCHOR_REGRESSION',
      fork: {
        blockNumber: 15,
        headerHash: hash(15),
        recorded: { blockNumber: 20, headerHash: hash(20) },
      },
    });
    expect(stateOf<AnchorRecord>(world, anchorKey(CHAIN, 15))).toBeUndefined();
    expect(stateOf<AnchorTip>(world, anchorTipKey(CHAIN))).toMatchObject({
      blockNumber: 20,
      anchors: 2,
      forks: 1,
    });
    // An identical re-submission of an older anchor is still idempotent, not a regression.
    expect((await record(world, anchorJson(10))).status).toBe('existing');
  });

  it('keeps each chain separate', async () => {
    const world = new FakeWorld();
    await record(world, anchorJson(10));
    const other = await record(
      world,
      canonicalJson({ sourceChainId: 'evidence-2', blockNumber: 3, headerHash: hash(3) }),
    );
    expect(other.status).toBe('recorded');
  });

  it('refuses callers without an anchoring role (FORBIDDEN), writing nothing', async () => {
    const world = new FakeWorld();
    for (const role of [null, 'depositor', 'court', 'auditor', 'platform']) {
      const caller: FakeCaller = { mspId: 'CourtOrg', account: 'x', role };
      expect(
        await codeOf(new AnchorContract().recordAnchor(world.context(caller), anchorJson(1))),
      ).toBe('FORBIDDEN');
    }
    expect(world.state.size).toBe(0);
    for (const role of ['anchor', 'gateway', 'admin']) {
      const caller: FakeCaller = { mspId: 'CourtOrg', account: 'x', role };
      expect(
        await codeOf(new AnchorContract().recordAnchor(world.context(caller), anchorJson(1))),
      ).toBe('no error');
    }
  });

  it('refuses bad input (VALIDATION_FAILED) naming every bad field', async () => {
    const world = new FakeWorld();
    const contract = new AnchorContract();
    expect(await codeOf(contract.recordAnchor(world.context(job), '{not json'))).toBe(
      'INVALID_JSON',
    );
    const bad = {
      sourceChainId: 'bad:chain',
      blockNumber: -1,
      headerHash: 'sha256:XYZ',
      leavesRoot: 'sm3:00',
      extra: true,
    };
    try {
      await contract.recordAnchor(world.context(job), JSON.stringify(bad));
      expect.fail('accepted a bad anchor');
    } catch (error) {
      const message = (error as Error).message;
      expect(message).toMatch(/^VALIDATION_FAILED: /);
      const fields = JSON.parse(message.slice(message.indexOf(' [{') + 1)) as Array<{
        path: string;
      }>;
      expect(fields.map((f) => f.path).sort()).toEqual(
        ['/blockNumber', '/extra', '/headerHash', '/leavesRoot', '/sourceChainId'].sort(),
      );
    }
    expect(
      await codeOf(
        contract.recordAnchor(world.context(job), '{"sourceChainId":"c","headerHash":"sha256:00"}'),
      ),
    ).toBe('VALIDATION_FAILED');
    expect(world.state.size).toBe(0);
  });
});

describe('AnchorContract reads', () => {
  async function anchored(numbers: readonly number[]): Promise<FakeWorld> {
    const world = new FakeWorld();
    for (const n of numbers) {
      world.seconds += 1;
      expect((await record(world, anchorJson(n))).status).toBe('recorded');
    }
    return world;
  }

  it('reads one anchor by block number, null when absent', async () => {
    const world = await anchored([4, 9]);
    const contract = new AnchorContract();
    const read = JSON.parse(
      await contract.readAnchor(world.context(job), CHAIN, '9'),
    ) as AnchorRecord;
    expect(read.headerHash).toBe(hash(9));
    expect(await contract.readAnchor(world.context(job), CHAIN, '5')).toBe('null');
    expect(await contract.readAnchor(world.context(job), 'unknown-chain', '4')).toBe('null');
  });

  it('gives the latest anchor, null for a chain never anchored', async () => {
    const world = await anchored([4, 9, 30]);
    const contract = new AnchorContract();
    expect(
      (JSON.parse(await contract.latestAnchor(world.context(job), CHAIN)) as AnchorRecord)
        .blockNumber,
    ).toBe(30);
    expect(await contract.latestAnchor(world.context(job), 'unknown-chain')).toBe('null');
  });

  it('finds the first anchor covering a block with a binary search over the anchor index', async () => {
    const numbers = [0, 3, 4, 9, 17, 30, 31, 64, 100, 2 ** 40];
    const world = await anchored(numbers);
    const contract = new AnchorContract();
    const covering = async (n: number) =>
      (
        JSON.parse(
          await contract.anchorCovering(world.context(job), CHAIN, String(n)),
        ) as AnchorRecord | null
      )?.blockNumber ?? null;
    for (let n = 0; n <= 101; n++) {
      expect(await covering(n), `block ${n}`).toBe(numbers.find((m) => m >= n) ?? null);
    }
    expect(await covering(2 ** 40)).toBe(2 ** 40);
    expect(await covering(2 ** 40 + 1)).toBeNull();
    expect(await covering(Number.MAX_SAFE_INTEGER)).toBeNull();
    expect(await contract.anchorCovering(world.context(job), 'unknown-chain', '0')).toBe('null');
  });

  it('uses only a logarithmic number of state reads to find a covering anchor', async () => {
    const numbers = Array.from({ length: 200 }, (_, i) => i * 10);
    const world = await anchored(numbers);
    const ctx = world.context(job);
    let reads = 0;
    const getState = ctx.stub.getState.bind(ctx.stub);
    (ctx.stub as { getState: (key: string) => Promise<Uint8Array> }).getState = async (
      key: string,
    ) => {
      reads += 1;
      return getState(key);
    };
    const found = JSON.parse(
      await new AnchorContract().anchorCovering(ctx, CHAIN, '555'),
    ) as AnchorRecord;
    expect(found.blockNumber).toBe(560);
    expect(reads).toBeLessThanOrEqual(2 + Math.ceil(Math.log2(200)) + 1);
  });

  it('lists the forks of a chain, oldest first', async () => {
    const world = await anchored([10, 20]);
    await record(world, anchorJson(10, hash(1)));
    await record(world, anchorJson(5));
    const forks = JSON.parse(
      await new AnchorContract().anchorForks(world.context(job), CHAIN),
    ) as AnchorFork[];
    expect(forks.map((f) => [f.code, f.blockNumber])).toEqual([
      ['ANCHOR_CONFLICT', 10],
      ['ANCHOR_REGRESSION', 5],
    ]);
    expect(await new AnchorContract().anchorForks(world.context(job), 'unknown-chain')).toBe('[]');
  });

  it('refuses malformed chain ids and block numbers with pointers', async () => {
    const world = new FakeWorld();
    const contract = new AnchorContract();
    for (const number of ['-1', '1.5', '01', 'x', '', '9007199254740992', '1e3']) {
      const promise = contract.readAnchor(world.context(job), CHAIN, number);
      await expect(promise).rejects.toThrow(/^VALIDATION_FAILED: .*"\/blockNumber"/);
    }
    for (const chain of ['', 'a:b', '-x', 'x'.repeat(129)]) {
      expect(await codeOf(contract.latestAnchor(world.context(job), chain))).toBe(
        'VALIDATION_FAILED',
      );
      expect(await codeOf(contract.anchorForks(world.context(job), chain))).toBe(
        'VALIDATION_FAILED',
      );
      expect(await codeOf(contract.anchorCovering(world.context(job), chain, '0'))).toBe(
        'VALIDATION_FAILED',
      );
    }
  });
});

describe('AnchorContract on the embedded ledger', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'anchor-'));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  const gateway: LedgerIdentity = { mspId: 'NodeOrg', id: 'gateway', role: 'gateway' };
  const anchorJob: LedgerIdentity = { mspId: 'CourtOrg', id: 'anchor-job', role: 'anchor' };

  function evidenceRecord(content: string): EvidenceRecord {
    const d = digestBytes(Buffer.from(content));
    return { digests: [d.sha256, d.sm3!], depositor: { org: 'PlatformOrg', account: 'lawyer-1' } };
  }

  it('records a tip whose proof makes a receipt verify, and commits a rejected contradiction', async () => {
    const evidence = await openEmbeddedLedger({
      dataDir: path.join(dir, 'e'),
      org: 'NodeOrg',
      chainId: 'evidence-chain',
    });
    const court = await openEmbeddedLedger({
      dataDir: path.join(dir, 'c'),
      org: 'CourtOrg',
      chainId: 'court-chain',
      operator: 'People’s Court',
    });
    try {
      const batch = buildBatch([evidenceRecord('one'), evidenceRecord('two')]);
      const deposit = await evidence.submit<BatchResult>(
        'evidence',
        'depositBatch',
        [canonicalJson({ records: batch.records, root: batch.root })],
        gateway,
      );
      for (const content of ['three', 'four']) {
        const more = buildBatch([evidenceRecord(content)]);
        await evidence.submit(
          'evidence',
          'depositBatch',
          [canonicalJson({ records: more.records, root: more.root })],
          gateway,
        );
      }
      const tip = await evidence.info();
      expect(tip.height).toBe(4);
      const submitted = await court.submit<RecordAnchorResult>(
        'anchor',
        'recordAnchor',
        [
          canonicalJson({
            sourceChainId: evidence.chainId,
            blockNumber: tip.height - 1,
            headerHash: tip.tipHash,
          }),
        ],
        anchorJob,
      );
      expect(submitted.result.status).toBe('recorded');

      const stored = await evidence.transaction(deposit.txId);
      const anchorTx = await court.transaction(submitted.txId);
      if (!stored || !anchorTx) throw new Error('transactions not found');
      const headers: BlockHeader[] = [];
      for (let n = deposit.blockNumber + 1; n < tip.height; n++) {
        headers.push((await evidence.blockHeader(n))!.header);
      }
      const anchor: AnchorProof = {
        kind: 'embedded-anchor',
        targetChainId: court.chainId,
        headers,
        anchorTx: {
          tx: anchorTx.header,
          result: anchorTx.result as RecordedAnchorResult,
          txIndex: anchorTx.txIndex,
          txPath: anchorTx.txPath,
          block: anchorTx.block,
        },
      };
      const receipt: Receipt = {
        type: 'judicial-evidence-receipt',
        version: 1,
        record: batch.records[1]!,
        inclusion: {
          leafIndex: 1,
          treeSize: 2,
          root: batch.root,
          path: batch.tree.inclusionProof(1).map((h) => Buffer.from(h).toString('hex')),
        },
        ledger: {
          kind: 'embedded',
          chainId: evidence.chainId,
          txId: deposit.txId,
          blockNumber: deposit.blockNumber,
          time: deposit.time,
        },
        proof: {
          kind: 'embedded',
          tx: stored.header,
          result: stored.result as BatchResult,
          txIndex: stored.txIndex,
          txPath: stored.txPath,
          block: stored.block,
        },
        anchors: [anchor],
      };
      const trust = mergeTrust(evidence.trust(), court.trust());
      const verdict = verifyReceipt(JSON.parse(JSON.stringify(receipt)), trust, {
        fileDigests: digestBytes(Buffer.from('two')),
        requireAnchors: ['court-chain'],
      });
      expect(verdict.verdict).toBe('VERIFIED');
      expect(verdict.anchors).toMatchObject([
        {
          targetChainId: 'court-chain',
          anchoredAt: anchorTx.block.header.time,
          operator: 'People’s Court',
        },
      ]);

      const covering = await court.evaluate<AnchorRecord | null>(
        'anchor',
        'anchorCovering',
        [evidence.chainId, String(deposit.blockNumber)],
        anchorJob,
      );
      expect(covering?.txId).toBe(submitted.txId);

      // A contradiction commits (a block with the fork record) yet reports the refusal.
      const height = (await court.info()).height;
      const conflict = await court.submit<RecordAnchorResult>(
        'anchor',
        'recordAnchor',
        [
          canonicalJson({
            sourceChainId: evidence.chainId,
            blockNumber: tip.height - 1,
            headerHash: hash(1),
          }),
        ],
        anchorJob,
      );
      expect(conflict.result).toMatchObject({ status: 'rejected', code: 'ANCHOR_CONFLICT' });
      expect((await court.info()).height).toBe(height + 1);
      const forks = await court.evaluate<AnchorFork[]>(
        'anchor',
        'anchorForks',
        [evidence.chainId],
        anchorJob,
      );
      expect(forks.map((f) => f.txId)).toEqual([conflict.txId]);
      await expect(
        court.submit('anchor', 'recordAnchor', ['{}'], { ...anchorJob, role: 'depositor' }),
      ).rejects.toMatchObject({ code: 'FORBIDDEN' });
    } finally {
      await evidence.close();
      await court.close();
    }
  });
});
