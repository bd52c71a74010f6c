/**
 * The embedded ledger as a replica: it keeps a copy of another node's chain, block by block, each
 * checked against the pinned trust file and run again through the same contracts before it is
 * written; it refuses every write of its own; a block the source signed but the contracts do not
 * give, or any block changed after signing, is refused and changes nothing.
 */

import { createPrivateKey, sign } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { blockSigningBytes, txLeafHash, valueDigest } from '../../core/block';
import { formatDigest } from '../../core/digest';
import type { FullBlock } from '../../core/full-block';
import { rootOf } from '../../core/merkle';
import type { TrustFile } from '../../core/trust';
import { checkBackup } from '../../gateway/backup-check';
import { copyStore } from '../../gateway/storage/store-copy';
import { openTextStore } from '../../gateway/storage/text-store';
import { createBackupService, type BackupView } from '../../gateway/backup';
import { openEmbeddedLedger, REPLICA_TRUST_FILE } from '../../gateway/ledger/embedded-ledger';
import { openThreadedLedger } from '../../gateway/ledger/threaded-ledger';
import { depositArgs, GATEWAY_IDENTITY } from '../support/deposit-args';
import { ensureBuilt } from '../support/build';
import { rejectionOf } from '../support/rejection';

interface Refusal {
  readonly code: string;
  readonly message: string;
}

const refusalOf = async (promise: Promise<unknown>) => (await rejectionOf(promise)) as Refusal;

const T0 = Date.parse('2026-03-01T08:00:00.000Z');
type Opened = Awaited<ReturnType<typeof openEmbeddedLedger>>;

/** Every durable block of `ledger` from `from` on, as it serves them. */
async function blocksOf(ledger: Opened, from = 0): Promise<string[]> {
  return (await ledger.rawBlocks(from, 1_000, 64 * 1024 * 1024)).blocks;
}

/** `block` signed again by the node key in `dir` (what a node that forges a block can do). */
async function signedAgain(block: FullBlock, dir: string): Promise<string> {
  const key = createPrivateKey(await fs.readFile(path.join(dir, 'node-key.pem'), 'utf8'));
  const header = {
    ...block.header,
    dataHash: formatDigest('sha256', rootOf(block.txs.map((tx) => txLeafHash(tx.header)))),
  };
  const value = sign(null, Buffer.from(blockSigningBytes(header)), key).toString('base64');
  return JSON.stringify({ ...block, header, signature: { ...block.signature, value } });
}

describe('a replica of an embedded chain', () => {
  let sourceDir: string;
  let replicaDir: string;
  let now: number;
  const clock = () => now;
  let source: Opened;
  let pinned: TrustFile;
  const opened: Opened[] = [];
  const closers: Array<() => Promise<unknown>> = [];
  beforeEach(async () => {
    sourceDir = await fs.mkdtemp(path.join(os.tmpdir(), 'replica-source-'));
    replicaDir = await fs.mkdtemp(path.join(os.tmpdir(), 'replica-copy-'));
    now = T0;
    source = await openEmbeddedLedger({
      dataDir: sourceDir,
      org: 'NodeOrg',
      operator: 'Hangzhou Evidence Platform',
      clock,
    });
    opened.push(source);
    pinned = source.trust();
  });
  afterEach(async () => {
    for (const close of closers.splice(0)) await close().catch(() => undefined);
    for (const ledger of opened.splice(0)) await ledger.close().catch(() => undefined);
    await fs.rm(sourceDir, { recursive: true, force: true });
    await fs.rm(replicaDir, { recursive: true, force: true });
  });

  async function deposit(content: string) {
    now += 1_000;
    return source.submit('evidence', 'depositBatch', depositArgs(content), GATEWAY_IDENTITY);
  }

  async function openReplica(trust: TrustFile = pinned, genesis?: string): Promise<Opened> {
    const ledger = await openEmbeddedLedger({
      dataDir: replicaDir,
      org: 'CourtOrg',
      clock,
      replica: { trust, genesis: genesis ?? (await blocksOf(source))[0] },
    });
    opened.push(ledger);
    return ledger;
  }

  it('copies the chain through a key rotation: same blocks, state, receipts material and trust', async () => {
    const first = await deposit('exhibit 1');
    await deposit('exhibit 2');
    now += 1_000;
    await source.rotateKey();
    const third = await deposit('exhibit 3');

    const replica = await openReplica();
    for (const raw of await blocksOf(source, 1)) await replica.replicate(raw);

    expect(await replica.info()).toEqual(await source.info());
    expect(await blocksOf(replica)).toEqual(await blocksOf(source));
    expect(replica.trust()).toEqual(source.trust());
    expect(replica.trust().chains[0]).toMatchObject({ operator: 'Hangzhou Evidence Platform' });
    expect(replica.nodeKeys()).toEqual(source.nodeKeys());
    expect(await replica.transaction(first.txId)).toEqual(await source.transaction(first.txId));
    expect(await replica.transaction(third.txId)).toEqual(await source.transaction(third.txId));
    const digest = JSON.parse(depositArgs('exhibit 3')[0]!).records[0].digests[0] as string;
    expect(await replica.evaluate('evidence', 'readEvidence', [digest], GATEWAY_IDENTITY)).toEqual(
      await source.evaluate('evidence', 'readEvidence', [digest], GATEWAY_IDENTITY),
    );
    expect(await replica.verifyChain()).toBe(5);
    expect(replica.isReplica()).toBe(true);
    expect(source.isReplica()).toBe(false);
  });

  it('refuses every write of its own: transactions and key rotations', async () => {
    const replica = await openReplica();
    const submitted = await refusalOf(
      replica.submit('evidence', 'depositBatch', depositArgs('x'), GATEWAY_IDENTITY),
    );
    expect(submitted).toMatchObject({ code: 'READ_ONLY_REPLICA' });
    expect(await refusalOf(replica.rotateKey())).toMatchObject({ code: 'READ_ONLY_REPLICA' });
    expect((await replica.info()).height).toBe(1);
    expect(await refusalOf(source.replicate((await blocksOf(source))[0]!))).toMatchObject({
      code: 'CONFLICT',
    });
  });

  it('refuses a block its source signed whose writes the contracts do not give', async () => {
    await deposit('exhibit 1');
    const replica = await openReplica();
    const raw = (await blocksOf(source, 1))[0]!;
    const block = JSON.parse(raw) as FullBlock;
    const tx = block.txs[0]!;
    // The source backdates the record it writes and signs a block that commits to it.
    const writes = tx.writes.map((write) => ({
      ...write,
      value: write.value?.replace(/"time":"[^"]+"/, '"time":"2020-01-01T00:00:00.000Z"') ?? null,
    }));
    expect(writes).not.toEqual(tx.writes);
    const forged: FullBlock = {
      ...block,
      txs: [{ ...tx, writes, header: { ...tx.header, writesDigest: valueDigest(writes) } }],
    };
    const refused = await refusalOf(replica.replicate(await signedAgain(forged, sourceDir)));
    expect(refused).toMatchObject({ code: 'BLOCK_INVALID' });
    expect(refused.message).toContain('does not write what its block says when run again');
    expect((await replica.info()).height).toBe(1);
    // The genuine block is taken afterwards.
    await expect(replica.replicate(raw)).resolves.toMatchObject({ number: 1 });
  });

  it('refuses a signed block the contracts refuse outright (a deposit the chain already has)', async () => {
    const committed = await deposit('exhibit 1');
    const replica = await openReplica();
    for (const raw of await blocksOf(source, 1)) await replica.replicate(raw);
    const block = JSON.parse((await blocksOf(source, 1))[0]!) as FullBlock;
    // The same transaction, renumbered onto the tip with a new id: the record exists already,
    // so the contract's answer (and writes) differ from what the block commits to.
    const tip = await replica.info();
    const tx = { ...block.txs[0]!, header: { ...block.txs[0]!.header, txId: 'f'.repeat(64) } };
    const replay: FullBlock = {
      ...block,
      header: { ...block.header, number: tip.height, previousHash: tip.tipHash },
      txs: [tx],
    };
    const refused = await refusalOf(replica.replicate(await signedAgain(replay, sourceDir)));
    expect(refused).toMatchObject({ code: 'BLOCK_INVALID' });
    expect(refused.message).toMatch(/when run again|contracts refuse/);
    expect(await replica.transaction('f'.repeat(64))).toBeUndefined();
    expect(await replica.transaction(committed.txId)).toBeDefined();
  });

  it('refuses a block changed anywhere after signing, and then takes the genuine one', async () => {
    await deposit('exhibit 1');
    const replica = await openReplica();
    const raw = (await blocksOf(source, 1))[0]!;
    const block = JSON.parse(raw) as FullBlock;
    const tx = block.txs[0]!;
    const changes: Array<[string, FullBlock]> = [
      ['number', { ...block, header: { ...block.header, number: 2 } }],
      [
        'previousHash',
        { ...block, header: { ...block.header, previousHash: `sha256:${'0'.repeat(64)}` } },
      ],
      ['time', { ...block, header: { ...block.header, time: '2026-03-01T09:00:00.000Z' } }],
      [
        'signature',
        {
          ...block,
          signature: {
            ...block.signature,
            value: block.signature.value.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')),
          },
        },
      ],
      ['args', { ...block, txs: [{ ...tx, args: [tx.args[0]!.replace('a-1', 'a-2')] }] }],
      ['result', { ...block, txs: [{ ...tx, result: '{}' }] }],
      ['writes', { ...block, txs: [{ ...tx, writes: tx.writes.slice(1) }] }],
      ['event', { ...block, txs: [{ ...tx, event: null }] }],
      [
        'creator',
        {
          ...block,
          txs: [
            { ...tx, header: { ...tx.header, creator: { ...tx.header.creator, id: 'other' } } },
          ],
        },
      ],
    ];
    for (const [what, changed] of changes) {
      const refused = await refusalOf(replica.replicate(JSON.stringify(changed)));
      expect(refused, what).toMatchObject({ code: 'BLOCK_INVALID' });
    }
    for (const text of ['', 'null', '{"header":1}', raw.slice(0, -1), `${raw}x`]) {
      expect(await refusalOf(replica.replicate(text)), text.slice(0, 20)).toMatchObject({
        code: 'BLOCK_INVALID',
      });
    }
    expect((await replica.info()).height).toBe(1);
    await expect(replica.replicate(raw)).resolves.toMatchObject({ number: 1, rotated: false });
  });

  it('refuses blocks signed by a key the trust file marks compromised, from the mark on', async () => {
    await deposit('before the mark');
    await deposit('after the mark');
    const blocks = await blocksOf(source, 1);
    const secondTime = (JSON.parse(blocks[1]!) as FullBlock).header.time;
    const chain = pinned.chains[0]!;
    const marked: TrustFile = {
      ...pinned,
      chains: [{ ...chain, keys: [{ ...chain.keys[0]!, compromisedSince: secondTime }] }],
    };
    const replica = await openReplica(marked);
    await replica.replicate(blocks[0]!);
    const refused = await refusalOf(replica.replicate(blocks[1]!));
    expect(refused).toMatchObject({ code: 'BLOCK_INVALID' });
    expect(refused.message).toContain('marks compromised');
  });

  it('starts only from a genesis the trust file vouches for, and only in a store of its own kind', async () => {
    const other = await fs.mkdtemp(path.join(os.tmpdir(), 'replica-other-'));
    try {
      const stranger = await openEmbeddedLedger({ dataDir: other, org: 'OtherOrg', clock });
      const foreignGenesis = (await blocksOf(stranger))[0]!;
      await stranger.close();
      expect(await refusalOf(openReplica(pinned, foreignGenesis))).toMatchObject({
        code: 'BLOCK_INVALID',
      });
      // A node's own store cannot be opened as a replica, nor a replica's as a node's.
      const own = await refusalOf(
        openEmbeddedLedger({ dataDir: other, org: 'OtherOrg', replica: { trust: pinned } }),
      );
      expect(own).toMatchObject({ code: 'LEDGER_UNAVAILABLE' });
      expect(own.message).toContain('of its own node');
    } finally {
      await fs.rm(other, { recursive: true, force: true });
    }
    const replica = await openReplica();
    await replica.close();
    const asNode = await refusalOf(openEmbeddedLedger({ dataDir: replicaDir, org: 'CourtOrg' }));
    expect(asNode).toMatchObject({ code: 'LEDGER_UNAVAILABLE' });
    expect(asNode.message).toContain('replica');
  });

  it('goes on from its tip after a restart, without the genesis', async () => {
    await deposit('exhibit 1');
    await deposit('exhibit 2');
    const blocks = await blocksOf(source, 1);
    const replica = await openReplica();
    await replica.replicate(blocks[0]!);
    await replica.close();
    const reopened = await openEmbeddedLedger({
      dataDir: replicaDir,
      org: 'CourtOrg',
      replica: { trust: pinned },
    });
    opened.push(reopened);
    expect((await reopened.info()).height).toBe(2);
    // A block it has already is not the next one.
    expect(await refusalOf(reopened.replicate(blocks[0]!))).toMatchObject({
      code: 'BLOCK_INVALID',
    });
    await reopened.replicate(blocks[1]!);
    expect(await reopened.info()).toEqual(await source.info());
  });

  it('serves at most the blocks asked for, within the byte budget, and never past the durable tip', async () => {
    for (let i = 0; i < 5; i++) await deposit(`exhibit ${i}`);
    expect(
      (await source.rawBlocks(2, 2, 1 << 20)).blocks.map((b) => JSON.parse(b).header.number),
    ).toEqual([2, 3]);
    // However small the budget, the first two: a replica asking from the block it holds
    // always gets one more.
    const two = await source.rawBlocks(0, 10, 1);
    expect(two.blocks).toHaveLength(2);
    expect(two.height).toBe(6);
    expect((await source.rawBlocks(5, 10, 1)).blocks).toHaveLength(1);
    expect((await source.rawBlocks(6, 10, 1 << 20)).blocks).toEqual([]);
  });

  it('is the source of another replica: the same blocks, checked again', async () => {
    await deposit('exhibit 1');
    await deposit('exhibit 2');
    const first = await openReplica();
    for (const raw of await blocksOf(source, 1)) await first.replicate(raw);
    const secondDir = await fs.mkdtemp(path.join(os.tmpdir(), 'replica-second-'));
    try {
      const second = await openEmbeddedLedger({
        dataDir: secondDir,
        org: 'NotaryOrg',
        replica: { trust: pinned, genesis: (await blocksOf(first))[0] },
      });
      opened.push(second);
      for (const raw of await blocksOf(first, 1)) await second.replicate(raw);
      expect(await blocksOf(second)).toEqual(await blocksOf(source));
    } finally {
      await fs.rm(secondDir, { recursive: true, force: true });
    }
  });

  it('takes backups that hold its trust file instead of a node key, and that check offline', async () => {
    await deposit('exhibit 1');
    const replica = await openReplica();
    for (const raw of await blocksOf(source, 1)) await replica.replicate(raw);
    const backups = await fs.mkdtemp(path.join(os.tmpdir(), 'replica-backups-'));
    try {
      const keysFile = path.join(replicaDir, 'keys.json');
      const agreements = await openTextStore(path.join(replicaDir, 'agreements'), 'agreements');
      closers.push(() => agreements.close());
      await fs.writeFile(keysFile, '{"keys":[]}\n');
      // What its job recorded of its source's height goes with it, for a promotion from the copy.
      const sourceHeight = path.join(replicaDir, 'replica-source.json');
      await fs.writeFile(sourceHeight, '{"height":2}\n');
      const service = createBackupService({
        dir: backups,
        sources: {
          ledger: replica,
          agreements: { copyStore: (location) => copyStore(agreements, location) },
          anchoring: { copyStore: async () => undefined },
          keysFile,
          extraFiles: [sourceHeight, path.join(replicaDir, 'absent.json')],
        },
      });
      const { id } = service.start();
      await service.close();
      const backup = (await service.get(id)) as BackupView;
      expect(backup.state).toBe('completed');
      const folder = path.join(backups, id);
      expect(backup.files).toEqual([REPLICA_TRUST_FILE, 'keys.json', 'replica-source.json']);
      expect(await fs.readFile(path.join(folder, 'replica-source.json'), 'utf8')).toBe(
        '{"height":2}\n',
      );
      await expect(fs.access(path.join(folder, 'node-key.pem'))).rejects.toThrow();
      expect(JSON.parse(await fs.readFile(path.join(folder, REPLICA_TRUST_FILE), 'utf8'))).toEqual(
        pinned,
      );
      expect(await checkBackup(folder)).toEqual({
        intact: true,
        id,
        verifiedBlocks: 2,
        problems: [],
      });
      // Without its trust file the folder is not a backup that checks.
      await fs.rm(path.join(folder, REPLICA_TRUST_FILE));
      const without = await checkBackup(folder);
      expect(without.intact).toBe(false);
      expect(without.verifiedBlocks).toBeNull();
    } finally {
      await fs.rm(backups, { recursive: true, force: true });
    }
  });

  it('runs on a thread of its own as the node runs it, following a key rotation into its trust file', async () => {
    await deposit('exhibit 1');
    now += 1_000;
    await source.rotateKey();
    await deposit('exhibit 2');
    ensureBuilt();
    const threaded = await openThreadedLedger({
      threadScript: path.resolve('dist/gateway/ledger/embedded/ledger-thread.js'),
      dataDir: replicaDir,
      org: 'CourtOrg',
      replica: { trust: pinned, genesis: (await blocksOf(source))[0] },
    });
    opened.push(threaded as unknown as Opened);
    expect(threaded.isReplica()).toBe(true);
    const rotated: boolean[] = [];
    for (const raw of await blocksOf(source, 1))
      rotated.push((await threaded.replicate(raw)).rotated);
    expect(rotated).toEqual([false, true, false]);
    expect(threaded.trust()).toEqual(source.trust());
    expect(threaded.nodeKeys()).toEqual(source.nodeKeys());
    expect(await threaded.rawBlocks(0, 10, 1 << 20)).toEqual(
      await source.rawBlocks(0, 10, 1 << 20),
    );
    expect(
      await refusalOf(
        threaded.submit('evidence', 'depositBatch', depositArgs('x'), GATEWAY_IDENTITY),
      ),
    ).toMatchObject({
      code: 'READ_ONLY_REPLICA',
    });
  });
});
