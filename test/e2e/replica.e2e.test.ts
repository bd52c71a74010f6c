/**
 * A replica of the real node, end to end: real processes, real files, the real CLI. A court keeps
 * a copy of a platform's chain (EVIDENCE_REPLICA_*): it catches up, serves the very receipts the
 * source serves, which the judge verifies offline with the trust file the court pinned, refuses
 * writes, and follows new blocks. With its source gone it serves on, restarts without it and
 * resumes when it is back. A source that rewrites history (restored from an old copy of its data
 * directory, then signing another block at a height the replica holds) is caught: the replica
 * keeps both signed headers as proof, stops following, and stays stopped across a restart; it
 * tells its source, which then says publicly that its key signed two histories, and, restarted
 * with a fork peer, a downstream copy that never saw the source, which stops too. A
 * platform that lost its machine rebuilds its node from the court's replica (`evidence-node
 * promote-replica`, with its escrowed key): the same chain goes on, every receipt verifies with
 * the trust file pinned at the start, and other replicas follow the rebuilt node.
 */

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestBytes } from '../../core/digest';
import type { Receipt } from '../../core/receipt';
import { parseTrustFile, verifyBlockSignature, type TrustFile } from '../../core/trust';
import type { Promotion } from '../../gateway/promote';
import type { ReplicaStatus } from '../../gateway/replica/follower';
import { ensureBuilt } from '../support/build';
import { cli } from '../support/cli-process';
import { adminKey, createKey, startNode, type NodeProcess } from '../support/node-process';
import { waitFor } from '../support/wait';

const ENV = { EVIDENCE_RATE_LIMIT_MAX: '1000000' };
const INTERVAL_MS = 200;

const auth = (key: string) => ({ authorization: `Bearer ${key}` });

/** A deposited exhibit: its file, the receipt the CLI wrote next to it, its digest and block. */
interface Exhibit {
  readonly file: string;
  readonly receipt: Receipt;
  readonly digest: string;
  readonly block: number;
}

/** Writes `names` with random content into `dir` and deposits them with the CLI. */
async function deposit(dir: string, names: string[], url: string, key: string): Promise<Exhibit[]> {
  const files = names.map((name) => path.join(dir, name));
  for (const file of files) await fs.writeFile(file, randomBytes(1000 + files.indexOf(file)));
  const run = await cli(['deposit', ...files, '--gateway', url, '--key', key]);
  expect(run.code, run.stderr).toBe(0);
  const exhibits: Exhibit[] = [];
  for (const file of files) {
    const receipt = JSON.parse(await fs.readFile(`${file}.receipt.json`, 'utf8')) as Receipt;
    const digest = receipt.record.digests[0]!;
    expect(digest).toBe(digestBytes(await fs.readFile(file)).sha256);
    exhibits.push({ file, receipt, digest, block: receipt.ledger.blockNumber });
  }
  return exhibits;
}

interface ChainView {
  chainId: string;
  height: number;
  tipHash: string;
}

async function chainOf(url: string): Promise<ChainView> {
  const response = await fetch(`${url}/v1/chain`);
  expect(response.status).toBe(200);
  return (await response.json()) as ChainView;
}

async function statusOf(url: string, key: string): Promise<ReplicaStatus> {
  const response = await fetch(`${url}/v1/replica/status`, { headers: auth(key) });
  expect(response.status).toBe(200);
  return (await response.json()) as ReplicaStatus;
}

/** Waits until the replica at `url` reports `code` as its last error; its status then. */
function failingWith(what: string, url: string, key: string, code: string): Promise<ReplicaStatus> {
  return waitFor(what, async () => {
    const status = await statusOf(url, key);
    return status.lastError?.code === code ? status : undefined;
  });
}

/** The receipt's text as the node at `url` serves it to `key`. */
async function receiptText(url: string, key: string, digest: string): Promise<string> {
  const response = await fetch(`${url}/v1/evidence/${digest}/receipt`, { headers: auth(key) });
  const text = await response.text();
  expect(response.status, text).toBe(200);
  return text;
}

/** The value of the sample `name` (with its labels, if any) in the node's `/metrics`. */
async function metric(url: string, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

/** Waits until the replica holds all `height` blocks of its source and says it is not behind. */
async function caughtUp(url: string, key: string, height: number): Promise<ReplicaStatus> {
  return waitFor(`the replica at ${height} blocks`, async () => {
    const status = await statusOf(url, key);
    return status.height === height && status.sourceHeight === height && status.behind === 0
      ? status
      : undefined;
  });
}

describe('a replica of the real node', () => {
  let dir: string;
  const nodes: NodeProcess[] = [];

  const startSource = async (dataDir: string, port?: string): Promise<NodeProcess> => {
    const node = await startNode({
      dataDir,
      env: { ...ENV, ...(port === undefined ? {} : { EVIDENCE_PORT: port }) },
    });
    nodes.push(node);
    return node;
  };

  /** A court's replica of `source`, reading blocks with the key in `keyFile`. */
  const startReplica = async (
    dataDir: string,
    source: string,
    trustFile: string,
    keyFile: string,
    env: Record<string, string> = {},
  ): Promise<NodeProcess> => {
    const node = await startNode({
      dataDir,
      env: {
        ...ENV,
        EVIDENCE_ORG: 'CourtOrg',
        EVIDENCE_REPLICA_SOURCE: source,
        EVIDENCE_REPLICA_TRUST: trustFile,
        EVIDENCE_REPLICA_API_KEY_FILE: keyFile,
        EVIDENCE_REPLICA_INTERVAL_MS: String(INTERVAL_MS),
        ...env,
      },
    });
    nodes.push(node);
    return node;
  };

  /** A source node with a platform key, and a court key for the replica, written to a file. */
  const setUpSource = async (name: string) => {
    const dataDir = path.join(dir, `${name}-source`);
    const source = await startSource(dataDir);
    const admin = await adminKey(dataDir);
    const platform = await createKey(source.url, admin, {
      org: 'PlatformOrg',
      account: `${name}-platform`,
      role: 'platform',
    });
    const court = await createKey(source.url, admin, {
      org: 'CourtOrg',
      account: `${name}-replica`,
      role: 'court',
    });
    const keyFile = path.join(dir, `${name}-court.key`);
    await fs.writeFile(keyFile, `${court}\n`, { mode: 0o600 });
    const files = path.join(dir, `${name}-files`);
    await fs.mkdir(files);
    return { dataDir, source, port: new URL(source.url).port, platform, court, keyFile, files };
  };

  /** The source's trust file, as `GET /v1/trust` serves it, pinned in a file. */
  const pinTrust = async (url: string, name: string): Promise<[string, TrustFile]> => {
    const response = await fetch(`${url}/v1/trust`);
    expect(response.status).toBe(200);
    const text = await response.text();
    const file = path.join(dir, `${name}-trust.json`);
    await fs.writeFile(file, text);
    return [file, parseTrustFile(JSON.parse(text))];
  };

  beforeAll(async () => {
    ensureBuilt();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'replica-e2e-'));
  });

  afterAll(async () => {
    for (const node of nodes) await node.kill9();
    await fs.rm(dir, { recursive: true, force: true });
  });

  describe('a court keeps a replica', () => {
    let setup: Awaited<ReturnType<typeof setUpSource>>;
    let source: NodeProcess;
    let replica: NodeProcess;
    let replicaDir: string;
    let trustFile: string;
    let replicaCourt: string;
    let exhibits: Exhibit[];
    /** Receipts as the source served them to its court key, by digest. */
    const served = new Map<string, string>();

    it('copies the chain, serves the same receipts, verifies offline and refuses writes', async () => {
      setup = await setUpSource('court');
      source = setup.source;
      exhibits = await deposit(
        setup.files,
        ['contract.pdf', 'chat-log.txt', 'photo.jpg'],
        source.url,
        setup.platform,
      );
      for (const exhibit of exhibits)
        served.set(exhibit.digest, await receiptText(source.url, setup.court, exhibit.digest));
      [trustFile] = await pinTrust(source.url, 'court');

      replicaDir = path.join(dir, 'court-replica');
      replica = await startReplica(replicaDir, source.url, trustFile, setup.keyFile);
      const replicaAdmin = await adminKey(replicaDir);
      replicaCourt = await createKey(replica.url, replicaAdmin, {
        org: 'CourtOrg',
        account: 'judge-1',
        role: 'court',
      });
      const sourceChain = await chainOf(source.url);
      expect(sourceChain.height).toBeGreaterThan(1);
      const status = await caughtUp(replica.url, replicaCourt, sourceChain.height);
      expect(status).toMatchObject({
        source: source.url,
        chainId: sourceChain.chainId,
        failures: 0,
        lastError: null,
        forked: null,
      });
      // Block 0 came with the first start; the rest by replication.
      expect(status.replicatedBlocks).toBe(sourceChain.height - 1);
      expect(status.lastSyncAt).not.toBeNull();
      expect(await chainOf(replica.url)).toEqual(sourceChain);
      // What an up-to-date replica fetches at each poll: the block it holds as its signed header
      // (on the real node, through its ledger thread), not the block again.
      const tip = sourceChain.height - 1;
      const ask = (first: string) =>
        fetch(`${source.url}/v1/blocks?from=${tip}&first=${first}`, {
          headers: { authorization: `Bearer ${setup.court}` },
        }).then(async (response) => {
          expect(response.status).toBe(200);
          return (await response.json()) as { blocks: Array<Record<string, unknown>> };
        });
      const [held] = (await ask('header')).blocks;
      expect(Object.keys(held!).sort()).toEqual(['header', 'signature']);
      const [whole] = (await ask('whole')).blocks;
      expect(whole).toMatchObject({ header: held!.header, signature: held!.signature });
      expect(whole!.txs).toBeDefined();
      expect(await (await fetch(`${replica.url}/v1/trust`)).json()).toEqual(
        JSON.parse(await fs.readFile(trustFile, 'utf8')),
      );
      expect(await metric(replica.url, 'evidence_replica_height')).toBe(sourceChain.height);
      expect(await metric(replica.url, 'evidence_replica_behind_blocks')).toBe(0);
      expect(await metric(replica.url, 'evidence_replica_forked')).toBe(0);
      // The real node splits its CPU by thread: the ledger thread of each checked or signed, and
      // wrote, every block.
      for (const url of [replica.url, source.url]) {
        const cpu = (thread: string) =>
          metric(url, `evidence_thread_cpu_seconds_total{thread="${thread}"}`);
        expect(await cpu('ledger'), url).toBeGreaterThan(0);
        expect(await cpu('http'), url).toBeGreaterThan(0);
      }
      // Not a replica: no status.
      const none = await fetch(`${source.url}/v1/replica/status`, { headers: auth(setup.court) });
      expect(none.status).toBe(404);
      expect(((await none.json()) as { code: string }).code).toBe('NOT_FOUND');

      // The replica's receipts are the source's, byte for byte; the judge verifies them offline.
      const copies: string[] = [];
      for (const exhibit of exhibits) {
        const text = await receiptText(replica.url, replicaCourt, exhibit.digest);
        expect(text).toBe(served.get(exhibit.digest));
        expect(JSON.parse(text)).toEqual(exhibit.receipt);
        const copy = `${exhibit.file}.from-replica.json`;
        await fs.writeFile(copy, text);
        copies.push(copy);
      }
      const verified = await Promise.all(
        exhibits.map((exhibit, i) =>
          cli(['verify', exhibit.file, '--receipt', copies[i]!, '--trust', trustFile, '--json'], {
            offline: true,
          }),
        ),
      );
      for (const run of verified) {
        expect(run.code, run.stderr + run.stdout).toBe(0);
        expect((JSON.parse(run.stdout) as { verdict: string }).verdict).toBe('VERIFIED');
      }
      const publicFacts = await fetch(`${replica.url}/v1/public/evidence/${exhibits[0]!.digest}`);
      expect(publicFacts.status).toBe(200);
      expect(await publicFacts.json()).toEqual(
        await (await fetch(`${source.url}/v1/public/evidence/${exhibits[0]!.digest}`)).json(),
      );

      // Writes are refused, whoever asks, and nothing changes anywhere.
      const replicaPlatform = await createKey(replica.url, replicaAdmin, {
        org: 'PlatformOrg',
        account: 'lost-depositor',
        role: 'platform',
      });
      const stray = digestBytes(randomBytes(64)).sha256;
      for (const key of [replicaCourt, replicaPlatform]) {
        const refused = await fetch(`${replica.url}/v1/evidence`, {
          method: 'POST',
          headers: { ...auth(key), 'content-type': 'application/json' },
          body: JSON.stringify({ digests: [stray] }),
        });
        expect(refused.status).toBe(409);
        expect(((await refused.json()) as { code: string }).code).toBe('READ_ONLY_REPLICA');
      }
      const batch = await fetch(`${replica.url}/v1/evidence/batch`, {
        method: 'POST',
        headers: { ...auth(replicaPlatform), 'content-type': 'application/json' },
        body: JSON.stringify({ items: [{ digests: [stray] }] }),
      });
      // A batch is refused whole, before any item is read.
      expect(batch.status).toBe(409);
      expect(((await batch.json()) as { code: string }).code).toBe('READ_ONLY_REPLICA');
      const strayFile = path.join(setup.files, 'stray.pdf');
      await fs.writeFile(strayFile, randomBytes(2000));
      const viaCli = await cli([
        'deposit',
        strayFile,
        '--gateway',
        replica.url,
        '--key',
        replicaPlatform,
      ]);
      // The CLI's deposit goes through the batch route: refused, nothing is written.
      expect(viaCli.code).toBe(2);
      expect(viaCli.stderr).toContain('error READ_ONLY_REPLICA');
      await expect(fs.access(`${strayFile}.receipt.json`)).rejects.toThrow();
      expect(await chainOf(replica.url)).toEqual(sourceChain);
      expect(await chainOf(source.url)).toEqual(sourceChain);
      for (const node of [replica, source]) {
        const lookup = await fetch(`${node.url}/v1/public/evidence/${stray}`);
        expect(lookup.status).toBe(404);
        await lookup.arrayBuffer();
      }

      // The source takes more deposits: the replica follows.
      const more = await deposit(setup.files, ['witness.txt'], source.url, setup.platform);
      exhibits.push(...more);
      const newChain = await chainOf(source.url);
      expect(newChain.height).toBeGreaterThan(sourceChain.height);
      await caughtUp(replica.url, replicaCourt, newChain.height);
      expect(await chainOf(replica.url)).toEqual(newChain);
      served.set(more[0]!.digest, await receiptText(source.url, setup.court, more[0]!.digest));
      expect(await receiptText(replica.url, replicaCourt, more[0]!.digest)).toBe(
        served.get(more[0]!.digest),
      );
      expect(await metric(replica.url, 'evidence_replica_height')).toBe(newChain.height);
    }, 60_000);

    it('serves on with its source gone, restarts without it and resumes when it is back', async () => {
      const chain = await chainOf(source.url);
      const publicBefore = await (
        await fetch(`${source.url}/v1/public/evidence/${exhibits[1]!.digest}`)
      ).json();
      expect(await source.stop()).toBe(0);

      // The replica serves its copy and says its source cannot be reached.
      const checkServes = async () => {
        for (const exhibit of exhibits)
          expect(await receiptText(replica.url, replicaCourt, exhibit.digest)).toBe(
            served.get(exhibit.digest),
          );
        const facts = await fetch(`${replica.url}/v1/public/evidence/${exhibits[1]!.digest}`);
        expect(facts.status).toBe(200);
        expect(await facts.json()).toEqual(publicBefore);
        expect(await chainOf(replica.url)).toEqual(chain);
      };
      await checkServes();
      const down = await failingWith(
        'the replica to notice its source is down',
        replica.url,
        replicaCourt,
        'LEDGER_UNAVAILABLE',
      );
      expect(down.failures).toBeGreaterThan(0);
      expect(down.height).toBe(chain.height);
      expect(down.forked).toBeNull();
      expect(
        await metric(replica.url, 'evidence_replica_failures_total{code="LEDGER_UNAVAILABLE"}'),
      ).toBeGreaterThan(0);

      // Restarted with its source still down, it starts from its own copy.
      expect(await replica.stop()).toBe(0);
      replica = await startReplica(replicaDir, source.url, trustFile, setup.keyFile);
      await checkServes();
      const restarted = await failingWith(
        'the restarted replica to try its source',
        replica.url,
        replicaCourt,
        'LEDGER_UNAVAILABLE',
      );
      expect(restarted.replicatedBlocks).toBe(0);
      expect(restarted.height).toBe(chain.height);
      // Its metrics say what it holds, and that it has not heard from its source in this run.
      expect(await metric(replica.url, 'evidence_replica_height')).toBe(chain.height);
      expect(await metric(replica.url, 'evidence_replica_behind_blocks')).toBeNaN();
      expect(await metric(replica.url, 'evidence_replica_last_sync_timestamp_seconds')).toBe(0);

      // The source comes back on its address: the replica resumes and follows new blocks.
      source = await startSource(setup.dataDir, setup.port);
      expect(source.url).toBe(restarted.source);
      const resumed = await waitFor('the replica to resume', async () => {
        const status = await statusOf(replica.url, replicaCourt);
        return status.failures === 0 && status.lastSyncAt !== null ? status : undefined;
      });
      expect(resumed).toMatchObject({
        height: chain.height,
        sourceHeight: chain.height,
        behind: 0,
        lastError: null,
      });
      const later = await deposit(setup.files, ['after-outage.pdf'], source.url, setup.platform);
      const newChain = await chainOf(source.url);
      await caughtUp(replica.url, replicaCourt, newChain.height);
      expect(await chainOf(replica.url)).toEqual(newChain);
      expect(await receiptText(replica.url, replicaCourt, later[0]!.digest)).toBe(
        await receiptText(source.url, setup.court, later[0]!.digest),
      );
      expect(await replica.stop()).toBe(0);
      expect(await source.stop()).toBe(0);
    }, 60_000);
  });

  it('catches a source that rewrites history, keeps the proof and stops following', async () => {
    const setup = await setUpSource('fork');
    let source = setup.source;
    const [a] = await deposit(setup.files, ['a.pdf'], source.url, setup.platform);
    const [trustFile, trust] = await pinTrust(source.url, 'fork');

    // An old copy of the source's whole data directory, taken while it is stopped.
    expect(await source.stop()).toBe(0);
    const copy = path.join(dir, 'fork-source-copy');
    await fs.cp(setup.dataDir, copy, { recursive: true });
    source = await startSource(setup.dataDir, setup.port);

    const replicaDir = path.join(dir, 'fork-replica');
    let replica = await startReplica(replicaDir, source.url, trustFile, setup.keyFile);
    const replicaCourt = await createKey(replica.url, await adminKey(replicaDir), {
      org: 'CourtOrg',
      account: 'judge-2',
      role: 'court',
    });
    // A court's downstream copy, fed by this replica: it never sees the source itself.
    const downstreamDir = path.join(dir, 'fork-downstream');
    const feedKey = path.join(dir, 'fork-feed.key');
    await fs.writeFile(
      feedKey,
      `${await createKey(replica.url, await adminKey(replicaDir), {
        org: 'CourtOrg',
        account: 'downstream',
        role: 'court',
      })}\n`,
    );
    const downstream = await startReplica(downstreamDir, replica.url, trustFile, feedKey);
    const downstreamJudge = await createKey(downstream.url, await adminKey(downstreamDir), {
      org: 'CourtOrg',
      account: 'judge-5',
      role: 'court',
    });
    const [b] = await deposit(setup.files, ['b.pdf'], source.url, setup.platform);
    expect(b!.block).toBeGreaterThan(a!.block);
    const held = await caughtUp(replica.url, replicaCourt, b!.block + 1);
    await waitFor('the downstream copy to hold B', async () =>
      (await statusOf(downstream.url, downstreamJudge)).height === b!.block + 1 ? true : undefined,
    );
    const heldChain = await chainOf(replica.url);
    const bReceipt = await receiptText(replica.url, replicaCourt, b!.digest);
    expect(JSON.parse(bReceipt)).toEqual(b!.receipt);

    // The source is put back to the copy taken before B: it holds fewer blocks than the replica.
    expect(await source.stop()).toBe(0);
    await fs.rm(setup.dataDir, { recursive: true, force: true });
    await fs.cp(copy, setup.dataDir, { recursive: true });
    source = await startSource(setup.dataDir, setup.port);
    expect((await chainOf(source.url)).height).toBe(b!.block);
    const shorter = await failingWith(
      'the replica to see blocks gone from its source',
      replica.url,
      replicaCourt,
      'CHAIN_FORKED',
    );
    expect(shorter.forked).toBeNull();
    expect(shorter.sourceHeight).toBe(b!.block);

    // It signs another block at B's height.
    const [c] = await deposit(setup.files, ['c.pdf'], source.url, setup.platform);
    expect(c!.block).toBe(b!.block);
    const forked = await waitFor(
      'the replica to keep proof of the fork',
      async () => {
        const status = await statusOf(replica.url, replicaCourt);
        return status.forked !== null ? status : undefined;
      },
      30_000,
    );
    const proof = forked.forked!;
    expect(proof).toMatchObject({
      type: 'judicial-evidence-fork',
      chainId: held.chainId,
      number: b!.block,
    });
    expect(proof.held).toEqual(b!.receipt.proof.block);
    expect(proof.served).toEqual(c!.receipt.proof.block);
    expect(proof.held.header).not.toEqual(proof.served.header);
    expect(proof.held.signature.keyId).toBe(proof.served.signature.keyId);
    // Both headers are signed by the key the court pinned: the proof stands on its own.
    for (const header of [proof.held, proof.served])
      expect(verifyBlockSignature(header, trust).ok).toBe(true);
    expect(forked.lastError?.code).toBe('CHAIN_FORKED');
    expect(forked.height).toBe(held.height);
    const file = path.join(replicaDir, 'replica-fork.json');
    expect(JSON.parse(await fs.readFile(file, 'utf8'))).toEqual(proof);
    expect(await metric(replica.url, 'evidence_replica_forked')).toBe(1);
    expect(
      await metric(replica.url, 'evidence_replica_failures_total{code="CHAIN_FORKED"}'),
    ).toBeGreaterThan(0);

    // It told its source, which says so publicly: its key signed two histories.
    const atSource = await waitFor('the source to be told', async () => {
      const answer = (await (await fetch(`${source.url}/v1/forks`)).json()) as {
        forked: unknown;
      };
      return answer.forked !== null ? answer : undefined;
    });
    expect(atSource.forked).toEqual(proof);
    expect(await metric(source.url, 'evidence_chain_forked')).toBe(1);
    // A judge checking B's receipt online learns it, the court's trust file confirming the proof:
    // from the replica (which holds B) UNTRUSTED; from the source (which holds C there instead)
    // NOT_ON_CHAIN, with the same finding.
    const judge = (gateway: string) =>
      cli([
        'verify',
        b!.file,
        '--receipt',
        `${b!.file}.receipt.json`,
        '--trust',
        trustFile,
        '--online',
        '--gateway',
        gateway,
        '--json',
      ]);
    for (const [gateway, verdict] of [
      [replica.url, 'UNTRUSTED'],
      [source.url, 'NOT_ON_CHAIN'],
    ] as const) {
      const judged = await judge(gateway);
      expect(judged.code, judged.stderr).toBe(1);
      const report = JSON.parse(judged.stdout) as {
        verdict: string;
        checks: Array<{ step: string; status: string; code?: string }>;
      };
      expect(report.verdict, gateway).toBe(verdict);
      expect(report.checks.at(-1), gateway).toMatchObject({
        step: 'online',
        status: 'fail',
        code: 'CHAIN_FORKED',
      });
    }
    const replicaNotices = (await (await fetch(`${replica.url}/v1/forks`)).json()) as {
      notices: Array<{ target: string; state: string }>;
    };
    expect(replicaNotices.notices).toEqual([
      expect.objectContaining({ target: 'source', state: 'sent' }),
    ]);

    // It keeps what it held: B's receipt, not C.
    const checkHeld = async () => {
      expect(await chainOf(replica.url)).toEqual(heldChain);
      expect(await receiptText(replica.url, replicaCourt, b!.digest)).toBe(bReceipt);
      const cLookup = await fetch(`${replica.url}/v1/public/evidence/${c!.digest}`);
      expect(cLookup.status).toBe(404);
      await cLookup.arrayBuffer();
      const cReceipt = await fetch(`${replica.url}/v1/evidence/${c!.digest}/receipt`, {
        headers: auth(replicaCourt),
      });
      expect(cReceipt.status).toBe(404);
      await cReceipt.arrayBuffer();
    };
    await checkHeld();

    // Restarted, it is still stopped by the proof, and follows no more; now told of the
    // downstream copy as a fork peer, it passes the proof on at start.
    expect((await statusOf(downstream.url, downstreamJudge)).forked).toBeNull();
    expect(await replica.stop()).toBe(0);
    const downstreamKey = path.join(dir, 'fork-downstream-notice.key');
    await fs.writeFile(
      downstreamKey,
      `${await createKey(downstream.url, await adminKey(downstreamDir), {
        org: 'CourtOrg',
        account: 'upstream-replica',
        role: 'court',
      })}\n`,
    );
    replica = await startReplica(replicaDir, source.url, trustFile, setup.keyFile, {
      EVIDENCE_FORK_PEERS: JSON.stringify([
        { name: 'downstream', url: downstream.url, apiKeyFile: downstreamKey },
      ]),
    });
    const toldDownstream = await waitFor('the downstream copy to be told', async () => {
      const status = await statusOf(downstream.url, downstreamJudge);
      return status.forked !== null ? status : undefined;
    });
    expect(toldDownstream.forked).toEqual(proof);
    expect(toldDownstream.height).toBe(b!.block + 1);
    expect(await metric(downstream.url, 'evidence_replica_forked')).toBe(1);
    expect(await downstream.stop()).toBe(0);
    const [d] = await deposit(setup.files, ['d.pdf'], source.url, setup.platform);
    await new Promise((resolve) => setTimeout(resolve, 5 * INTERVAL_MS));
    const after = await statusOf(replica.url, replicaCourt);
    expect(after.forked).toEqual(proof);
    expect(after).toMatchObject({ height: held.height, replicatedBlocks: 0, sourceHeight: null });
    expect(await metric(replica.url, 'evidence_replica_forked')).toBe(1);
    expect(await metric(replica.url, 'evidence_replica_height')).toBe(held.height);
    await checkHeld();
    const dLookup = await fetch(`${replica.url}/v1/public/evidence/${d!.digest}`);
    expect(dLookup.status).toBe(404);
    await dLookup.arrayBuffer();
    expect(JSON.parse(await fs.readFile(file, 'utf8'))).toEqual(proof);
    expect(await replica.stop()).toBe(0);
    expect(await source.stop()).toBe(0);
  }, 90_000);

  it('rebuilds a platform that lost its store from the court’s replica: the same chain goes on', async () => {
    const setup = await setUpSource('rebuild');
    const exhibits = await deposit(
      setup.files,
      ['a.pdf', 'b.pdf'],
      setup.source.url,
      setup.platform,
    );
    const [trustFile, trust] = await pinTrust(setup.source.url, 'rebuild');
    // The platform keeps its node key apart from the store (a safe, an HSM's export).
    const escrowedKey = path.join(dir, 'rebuild-escrowed-key.pem');
    await fs.copyFile(path.join(setup.dataDir, 'node-key.pem'), escrowedKey);

    const courtDir = path.join(dir, 'rebuild-court');
    const otherDir = path.join(dir, 'rebuild-other');
    const court = await startReplica(courtDir, setup.source.url, trustFile, setup.keyFile);
    const other = await startReplica(otherDir, setup.source.url, trustFile, setup.keyFile);
    const judge = await createKey(court.url, await adminKey(courtDir), {
      org: 'CourtOrg',
      account: 'judge-3',
      role: 'court',
    });
    const otherJudge = await createKey(other.url, await adminKey(otherDir), {
      org: 'CourtOrg',
      account: 'judge-4',
      role: 'court',
    });
    const chain = await chainOf(setup.source.url);
    await caughtUp(court.url, judge, chain.height);
    await caughtUp(other.url, otherJudge, chain.height);

    // The platform's machine is lost, with its data directory.
    await setup.source.kill9();
    await fs.rm(setup.dataDir, { recursive: true, force: true });
    expect(await court.stop()).toBe(0);

    const promote = (...extra: string[]) =>
      spawnSync(
        process.execPath,
        [
          'bin/evidence-node.js',
          'promote-replica',
          courtDir,
          '--key',
          escrowedKey,
          '--trust',
          trustFile,
          '--json',
          ...extra,
        ],
        { encoding: 'utf8' },
      );
    // The operator knows of more blocks than it holds: refused, they would be signed again.
    const refused = promote('--source-height', String(chain.height + 1));
    expect(refused.status, refused.stderr).toBe(1);
    expect((JSON.parse(refused.stdout) as Promotion).problems[0]).toContain(
      `holds ${chain.height} blocks and the source had signed ${chain.height + 1}`,
    );
    // A drill first: every check, nothing changed.
    const drill = promote('--dry-run');
    expect(drill.status, drill.stderr + drill.stdout).toBe(0);
    expect(JSON.parse(drill.stdout) as Promotion).toMatchObject({
      promoted: false,
      dryRun: true,
      problems: [],
    });
    await expect(fs.access(path.join(courtDir, 'node-key.pem'))).rejects.toThrow();
    // Without a figure, the most blocks the source ever said it held, as the replica recorded it.
    const run = promote();
    expect(run.status, run.stderr + run.stdout).toBe(0);
    const promoted = JSON.parse(run.stdout) as Promotion;
    expect(promoted).toMatchObject({
      promoted: true,
      sourceHeight: { height: chain.height, from: 'source' },
      chainId: chain.chainId,
      height: chain.height,
      verifiedBlocks: chain.height,
      tipHash: chain.tipHash,
    });

    // Started as another organisation, it refuses and says which one the chain is.
    await expect(
      startNode({ dataDir: courtDir, env: { ...ENV, EVIDENCE_ORG: 'CourtOrg' } }),
    ).rejects.toThrow(`set EVIDENCE_ORG=${promoted.org}`);
    // The node runs on it as the platform's organisation: same chain, same keys, same trust file.
    const node = await startNode({
      dataDir: courtDir,
      env: { ...ENV, EVIDENCE_ORG: promoted.org! },
    });
    nodes.push(node);
    // Its chain says, publicly, that its store was rebuilt from a replica holding that tip.
    expect(await chainOf(node.url)).toEqual({
      ...chain,
      promoted: { height: chain.height, tipHash: chain.tipHash, at: expect.any(String) },
    });
    expect(await (await fetch(`${node.url}/v1/trust`)).json()).toEqual(trust);
    const status = await fetch(`${node.url}/v1/replica/status`, { headers: auth(judge) });
    expect(status.status).toBe(404);
    await status.arrayBuffer();
    // Depositors' keys were in the lost store: the platform issues new ones.
    const platform = await createKey(node.url, await adminKey(courtDir), {
      org: 'PlatformOrg',
      account: 'rebuild-platform-2',
      role: 'platform',
    });
    const [c] = await deposit(setup.files, ['c.pdf'], node.url, platform);
    expect(c!.block).toBe(chain.height);
    // Receipts from before and after the loss verify with the trust file the court pinned first.
    for (const exhibit of [...exhibits, c!]) {
      const verified = await cli(
        [
          'verify',
          exhibit.file,
          '--receipt',
          `${exhibit.file}.receipt.json`,
          '--trust',
          trustFile,
          '--json',
        ],
        { offline: true },
      );
      expect(verified.code, verified.stderr + verified.stdout).toBe(0);
      expect((JSON.parse(verified.stdout) as { verdict: string }).verdict).toBe('VERIFIED');
    }
    const online = await cli([
      'verify',
      exhibits[0]!.file,
      '--receipt',
      `${exhibits[0]!.file}.receipt.json`,
      '--trust',
      trustFile,
      '--online',
      '--gateway',
      node.url,
      '--json',
    ]);
    expect(online.code, online.stderr + online.stdout).toBe(0);

    // Another replica of the chain, pointed at the rebuilt node, follows it: no fork, one chain.
    // Its key to read blocks was in the lost store too: the rebuilt node issues another.
    const readKey = path.join(dir, 'rebuild-other.key');
    const reader = await createKey(node.url, await adminKey(courtDir), {
      org: 'CourtOrg',
      account: 'rebuild-other',
      role: 'court',
    });
    await fs.writeFile(readKey, `${reader}\n`, { mode: 0o600 });
    expect(await other.stop()).toBe(0);
    const otherAgain = await startReplica(otherDir, node.url, trustFile, readKey);
    const followed = await caughtUp(otherAgain.url, otherJudge, chain.height + 1);
    expect(followed).toMatchObject({ forked: null, failures: 0 });
    const { promoted: _promoted, ...rebuilt } = (await chainOf(node.url)) as ChainView & {
      promoted?: unknown;
    };
    expect(await chainOf(otherAgain.url)).toEqual(rebuilt);
    expect(await otherAgain.stop()).toBe(0);
    expect(await node.stop()).toBe(0);
  }, 90_000);
});
