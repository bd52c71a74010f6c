/**
 * `evidence-node promote-replica`: a platform whose store is lost rebuilds its node from a
 * court's replica. The replica becomes the chain's own store only when its whole chain verifies,
 * it holds every block the source had signed, the key given is the chain's current one and the
 * trust file does not mark it compromised, and no fork was caught; then the node signs the next
 * block on the same chain with the same keys. Every refusal names its reason and changes nothing.
 */

import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FullBlock } from '../../core/full-block';
import type { TrustFile } from '../../core/trust';
import { openAuditLog } from '../../gateway/audit/audit-log';
import { openEmbeddedLedger } from '../../gateway/ledger/embedded-ledger';
import { promoteReplicaCommand, type Promotion } from '../../gateway/promote';
import { FORK_FILE, SOURCE_HEIGHT_FILE } from '../../gateway/replica/follower';
import { openTextStore } from '../../gateway/storage/text-store';
import { depositArgs, GATEWAY_IDENTITY } from '../support/deposit-args';

const T0 = Date.parse('2026-03-01T08:00:00.000Z');
type Opened = Awaited<ReturnType<typeof openEmbeddedLedger>>;

interface Run {
  readonly code: number;
  readonly stdout: string[];
  readonly stderr: string[];
}

async function promote(args: string[]): Promise<Run> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await promoteReplicaCommand(args, {
    stdout: (line) => stdout.push(line),
    stderr: (line) => stderr.push(line),
  });
  return { code, stdout, stderr };
}

describe('promoting a replica to its chain’s own node', () => {
  let dir: string;
  let sourceDir: string;
  let replicaDir: string;
  let trustFile: string;
  let trust: TrustFile;
  /** The chain's current key (after a rotation) and its first, retired one. */
  let currentKey: string;
  let retiredKey: string;
  let height: number;
  let sourceBlocks: string[];
  let now: number;
  const clock = () => now;
  const opened: Opened[] = [];

  const open = async (options: Parameters<typeof openEmbeddedLedger>[0]) => {
    const ledger = await openEmbeddedLedger({ clock, ...options });
    opened.push(ledger);
    return ledger;
  };

  const args = (overrides: { key?: string; height?: number; trust?: string } = {}) => [
    replicaDir,
    '--key',
    overrides.key ?? currentKey,
    '--trust',
    overrides.trust ?? trustFile,
    '--source-height',
    String(overrides.height ?? height),
    '--json',
  ];

  /** A replica in `replicaDir` holding every block of the source. */
  const copyChain = async () => {
    const replica = await open({
      dataDir: replicaDir,
      org: 'CourtOrg',
      replica: { trust, genesis: sourceBlocks[0] },
    });
    for (const raw of sourceBlocks.slice(1)) await replica.replicate(raw);
    await replica.close();
  };

  /** Still a replica: it opens as one, and holds no node key. */
  const stillReplica = async () => {
    const replica = await open({ dataDir: replicaDir, org: 'CourtOrg', replica: { trust } });
    expect(replica.isReplica()).toBe(true);
    expect((await replica.info()).height).toBe(height);
    await replica.close();
    await expect(fs.access(path.join(replicaDir, 'node-key.pem'))).rejects.toThrow();
  };

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'promote-'));
    sourceDir = path.join(dir, 'source');
    replicaDir = path.join(dir, 'replica');
    now = T0;
    const source = await open({ dataDir: sourceDir, org: 'NodeOrg', operator: 'Platform' });
    for (const content of ['exhibit 1', 'exhibit 2']) {
      now += 1_000;
      await source.submit('evidence', 'depositBatch', depositArgs(content), GATEWAY_IDENTITY);
    }
    retiredKey = path.join(dir, 'retired-key.pem');
    await fs.copyFile(path.join(sourceDir, 'node-key.pem'), retiredKey);
    now += 1_000;
    await source.rotateKey();
    now += 1_000;
    await source.submit('evidence', 'depositBatch', depositArgs('exhibit 3'), GATEWAY_IDENTITY);
    currentKey = path.join(dir, 'current-key.pem');
    await fs.copyFile(path.join(sourceDir, 'node-key.pem'), currentKey);
    trust = source.trust();
    trustFile = path.join(dir, 'trust.json');
    await fs.writeFile(trustFile, JSON.stringify(trust));
    sourceBlocks = (await source.rawBlocks(0, 1_000, 64 * 1024 * 1024)).blocks;
    height = sourceBlocks.length;

    await copyChain();
    await source.close();
  });

  afterEach(async () => {
    for (const ledger of opened.splice(0)) await ledger.close().catch(() => undefined);
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('makes the replica the chain’s own node, which goes on signing the same chain', async () => {
    const run = await promote(args());
    expect(run.code, run.stdout.join('\n')).toBe(0);
    const result = JSON.parse(run.stdout[0]!) as Promotion;
    const sourceKeys = trust.chains[0]!.kind === 'embedded' ? trust.chains[0]!.keys : [];
    expect(result).toMatchObject({
      promoted: true,
      chainId: trust.chains[0]!.chainId,
      org: 'NodeOrg',
      verifiedBlocks: height,
      height,
      keyId: sourceKeys.at(-1)!.keyId,
      problems: [],
    });
    expect(await fs.readFile(path.join(replicaDir, 'node-key.pem'), 'utf8')).toBe(
      await fs.readFile(currentKey, 'utf8'),
    );
    // The node's audit trail says when it became the chain's node, and from what.
    const audit = await openAuditLog({ dataDir: replicaDir, retentionDays: 183 });
    const [entry] = (await audit.read(0, 100)).slice(-1);
    expect(entry).toMatchObject({
      type: 'promotion',
      params: {
        chainId: trust.chains[0]!.chainId,
        height: String(height),
        tipHash: result.tipHash,
        keyId: sourceKeys.at(-1)!.keyId,
      },
    });
    expect((await audit.verify()).intact).toBe(true);
    await audit.close();

    // The node opens it as its own: the same blocks, keys and trust, and it signs the next block.
    const node = await open({ dataDir: replicaDir, org: 'NodeOrg', operator: 'Platform' });
    expect(node.isReplica()).toBe(false);
    // It says, for as long as it runs, that its store was a replica's copy up to that tip.
    expect((await node.info()).promoted).toEqual({
      height,
      tipHash: result.tipHash,
      at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
    });
    expect((await node.rawBlocks(0, 1_000, 64 * 1024 * 1024)).blocks).toEqual(sourceBlocks);
    expect(node.trust()).toEqual(trust);
    now += 1_000;
    const next = await node.submit(
      'evidence',
      'depositBatch',
      depositArgs('exhibit 4'),
      GATEWAY_IDENTITY,
    );
    expect(next.blockNumber).toBe(height);
    const [raw] = (await node.rawBlocks(height, 1, 64 * 1024 * 1024)).blocks;
    const block = JSON.parse(raw!) as FullBlock;
    expect(block.signature.keyId).toBe(sourceKeys.at(-1)!.keyId);
    expect(await node.verifyChain()).toBe(height + 1);
    await node.close();

    // It is no replica any more: started as one, it is refused.
    await expect(
      openEmbeddedLedger({ dataDir: replicaDir, org: 'CourtOrg', replica: { trust } }),
    ).rejects.toThrow(/of its own node; a replica needs an empty one/);
  });

  it('takes the most blocks the source ever said it held, as the replica recorded it, unless told of more', async () => {
    const noFlag = args().filter(
      (_, i, all) => all[i] !== '--source-height' && all[i - 1] !== '--source-height',
    );
    const never = await promote(noFlag);
    expect(never.code).toBe(1);
    expect((JSON.parse(never.stdout[0]!) as Promotion).problems).toEqual([
      expect.stringContaining('never recorded how many blocks its source held'),
    ]);
    const record = (said: number) =>
      fs.writeFile(
        path.join(replicaDir, SOURCE_HEIGHT_FILE),
        JSON.stringify({
          source: 'http://source',
          chainId: trust.chains[0]!.chainId,
          height: said,
          at: '2026-03-01T09:00:00.000Z',
        }),
      );
    await record(height + 3);
    const behind = await promote(noFlag);
    expect(behind.code).toBe(1);
    expect((JSON.parse(behind.stdout[0]!) as Promotion).problems).toEqual([
      expect.stringContaining(
        `holds ${height} blocks and the source had signed ${height + 3} (as the source said, 2026-03-01T09:00:00.000Z)`,
      ),
    ]);
    // A flag below the record does not lower it.
    expect((await promote(args({ height: 1 }))).code).toBe(1);
    await stillReplica();
    await record(height);
    const run = await promote(noFlag);
    expect(run.code, run.stdout.join('\n')).toBe(0);
    expect((JSON.parse(run.stdout[0]!) as Promotion).sourceHeight).toEqual({
      height,
      from: 'source',
    });
  });

  it('checks everything and changes nothing with --dry-run, ready or not', async () => {
    const ready = await promote([...args(), '--dry-run']);
    expect(ready.code, ready.stdout.join('\n')).toBe(0);
    expect(JSON.parse(ready.stdout[0]!) as Promotion).toMatchObject({
      promoted: false,
      dryRun: true,
      verifiedBlocks: height,
      height,
      problems: [],
    });
    await stillReplica();
    const text = await promote([...args().filter((a) => a !== '--json'), '--dry-run']);
    expect(text.stdout[0]).toMatch(/can be promoted \(nothing was changed\)/);
    // A recovery drill on a copy of the replica's backup: a backup folder is a data directory.
    const copy = path.join(dir, 'replica-backup');
    const replica = await open({ dataDir: replicaDir, org: 'CourtOrg', replica: { trust } });
    await replica.backup(copy);
    await replica.close();
    const drill = await promote([copy, ...args().slice(1), '--dry-run']);
    expect(drill.code, drill.stdout.join('\n')).toBe(0);
    expect(JSON.parse(drill.stdout[0]!) as Promotion).toMatchObject({ dryRun: true, height });
    const notReady = await promote([...args({ key: retiredKey }), '--dry-run']);
    expect(notReady.code).toBe(1);
    expect((JSON.parse(notReady.stdout[0]!) as Promotion).problems).toEqual([
      expect.stringMatching(/the chain is signed by sha256:/),
    ]);
    await stillReplica();
  });

  it('refuses a key that is not the chain’s current one, and changes nothing', async () => {
    const run = await promote(args({ key: retiredKey }));
    expect(run.code).toBe(1);
    const result = JSON.parse(run.stdout[0]!) as Promotion;
    expect(result.promoted).toBe(false);
    expect(result.problems).toEqual([expect.stringMatching(/the chain is signed by sha256:/)]);
    await stillReplica();
  });

  it('refuses a replica that holds fewer blocks than the source had signed', async () => {
    const run = await promote(args({ height: height + 2 }));
    expect(run.code).toBe(1);
    const result = JSON.parse(run.stdout[0]!) as Promotion;
    expect(result.problems).toEqual([
      expect.stringContaining(
        `holds ${height} blocks and the source had signed ${height + 2} (as --source-height says)`,
      ),
    ]);
    await stillReplica();
    // Holding more than the operator last knew of is no loss.
    expect((await promote(args({ height: height - 1 }))).code).toBe(0);
  });

  it('refuses a replica that caught a fork, and a key the trust file marks compromised', async () => {
    await fs.writeFile(path.join(replicaDir, FORK_FILE), '{}');
    const chain = trust.chains[0]!;
    const marked: TrustFile = {
      ...trust,
      chains: [
        {
          ...chain,
          keys: (chain.kind === 'embedded' ? chain.keys : []).map((key, i, keys) =>
            i === keys.length - 1 ? { ...key, compromisedSince: '2026-03-01T09:00:00.000Z' } : key,
          ),
        } as typeof chain,
      ],
    };
    const markedFile = path.join(dir, 'marked-trust.json');
    await fs.writeFile(markedFile, JSON.stringify(marked));
    const run = await promote(args({ trust: markedFile }));
    expect(run.code).toBe(1);
    const { problems } = JSON.parse(run.stdout[0]!) as Promotion;
    expect(problems).toHaveLength(2);
    expect(problems[0]).toContain(FORK_FILE);
    expect(problems[1]).toContain('compromised since 2026-03-01T09:00:00.000Z');
    await stillReplica();
  });

  it('refuses a store whose chain does not verify, and the chain’s own store', async () => {
    // A stored write of block 1 changed after the block was signed.
    const db = await openTextStore(path.join(replicaDir, 'ledger'), 'test');
    const blocks = db.sublevel<string, string>('blocks', { valueEncoding: 'utf8' });
    const key = '000000000001';
    const block = JSON.parse((await blocks.get(key))!) as {
      txs: Array<{ writes: Array<{ value: string | null }> }>;
    };
    const write = block.txs[0]!.writes[0]!;
    write.value = write.value!.replace('PlatformOrg', 'OtherOrg');
    await blocks.put(key, JSON.stringify(block));
    await db.close();
    const run = await promote(args());
    expect(run.code).toBe(1);
    expect((JSON.parse(run.stdout[0]!) as Promotion).problems).toEqual([
      expect.stringMatching(/^the replica does not open and verify: .*block 1/),
    ]);
    await expect(fs.access(path.join(replicaDir, 'node-key.pem'))).rejects.toThrow();

    const own = await promote([...args().slice(1), sourceDir]);
    expect(own.code).toBe(1);
    expect((JSON.parse(own.stdout[0]!) as Promotion).problems).toEqual([
      expect.stringContaining('of its own node'),
    ]);
  });

  it('finishes a promotion stopped after the key was written, and refuses another key there', async () => {
    await fs.copyFile(currentKey, path.join(replicaDir, 'node-key.pem'));
    expect((await promote(args())).code).toBe(0);
    const node = await open({ dataDir: replicaDir, org: 'NodeOrg' });
    expect((await node.info()).height).toBe(height);
    await node.close();

    await fs.rm(replicaDir, { recursive: true });
    await copyChain();
    await fs.copyFile(retiredKey, path.join(replicaDir, 'node-key.pem'));
    const run = await promote(args());
    expect(run.code).toBe(1);
    expect((JSON.parse(run.stdout[0]!) as Promotion).problems).toEqual([
      expect.stringContaining('node-key.pem in'),
    ]);
    // The chain record was not touched: it is still a replica.
    const again = await open({ dataDir: replicaDir, org: 'CourtOrg', replica: { trust } });
    expect(again.isReplica()).toBe(true);
  });

  it('names every missing or bad argument, and reads nothing then', async () => {
    const run = await promote(['--source-height', 'many', '--trust']);
    expect(run.code).toBe(2);
    expect(run.stderr.slice(0, 4)).toEqual([
      '--trust needs a value',
      'DIR: give exactly one data directory',
      '--key is required',
      '--source-height must be a whole number of blocks, at least 1',
    ]);
    expect(run.stderr.at(-1)).toMatch(/^usage: evidence-node promote-replica/);
    const badTrust = path.join(dir, 'bad-trust.json');
    await fs.writeFile(badTrust, '{"type":"x"}');
    const bad = await promote(args({ trust: badTrust }));
    expect(bad.code).toBe(2);
    expect(bad.stderr[0]).toMatch(/^--trust .*bad-trust\.json: /);
    const missingKey = await promote(args({ key: path.join(dir, 'nope.pem') }));
    expect(missingKey.code).toBe(1);
    expect((JSON.parse(missingKey.stdout[0]!) as Promotion).problems[0]).toMatch(
      /the key file .*nope\.pem cannot be used/,
    );
    await stillReplica();
  });
});
