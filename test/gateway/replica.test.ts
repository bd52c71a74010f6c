/**
 * Replicas over the gateway: `GET /v1/blocks` on a source node (roles, bounds, the stored text),
 * the replica's job (gateway/replica/follower.ts) copying a real source over real HTTP, reporting
 * in `GET /v1/replica/status` and the metrics, and its answers to a source that misbehaves: a
 * second signed history (a fork, kept as proof across restarts), junk, a shorter chain, another
 * chain, silence; and the HTTP client's own refusals (gateway/replica/source.ts). The real nodes,
 * as processes: test/e2e/replica.e2e.test.ts.
 */

import { createPrivateKey, sign } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { blockSigningBytes } from '../../core/block';
import type { FullBlock } from '../../core/full-block';
import { authorityCertificate } from '../../core/timestamp-authority';
import { mergeTrust, type TrustFile } from '../../core/trust';
import { verifyReceipt } from '../../core/verify';
import { createTimestampTarget } from '../../gateway/anchoring/timestamp-target';
import { buildApp } from '../../gateway/app';
import { loadConfig } from '../../gateway/config';
import { openEmbeddedLedger } from '../../gateway/ledger/embedded-ledger';
import { createMetrics } from '../../gateway/metrics';
import {
  FORK_FILE,
  createReplicaFollower,
  readSourceHeight,
  type ReplicaFollower,
} from '../../gateway/replica/follower';
import { replicaSource, type BlocksAnswer, type ReplicaSource } from '../../gateway/replica/source';
import { depositArgs, GATEWAY_IDENTITY } from '../support/deposit-args';
import { createTsaAuthority, type TsaAuthority } from '../support/openssl-tsa';
import { rejectionOf } from '../support/rejection';
import { getWith, tempDir, testNodeBase, type TestNodeBase } from './helpers';

type Opened = Awaited<ReturnType<typeof openEmbeddedLedger>>;

interface Refusal {
  readonly code: string;
  readonly message: string;
}
const refusalOf = async (promise: Promise<unknown>) => (await rejectionOf(promise)) as Refusal;

describe('replicas over the gateway', () => {
  let sourceDir: string;
  let replicaDir: string;
  let source: Opened;
  let replica: Opened;
  let base: TestNodeBase;
  let sourceApp: FastifyInstance;
  let sourceUrl: string;
  let courtKey: string;
  const cleanups: Array<() => Promise<unknown>> = [];

  beforeEach(async () => {
    sourceDir = await tempDir('replica-source-');
    replicaDir = await tempDir('replica-copy-');
    source = await openEmbeddedLedger({ dataDir: sourceDir, org: 'NodeOrg' });
    base = await testNodeBase(sourceDir);
    sourceApp = buildApp(base.config, { ledger: source, keys: base.keys });
    await sourceApp.listen({ host: '127.0.0.1', port: 0 });
    sourceUrl = `http://127.0.0.1:${(sourceApp.server.address() as AddressInfo).port}`;
    courtKey = await base.keyFor('court', 'CourtOrg');
    const genesis = (await source.rawBlocks(0, 1, 1 << 20)).blocks[0]!;
    replica = await openEmbeddedLedger({
      dataDir: replicaDir,
      org: 'CourtOrg',
      replica: { trust: source.trust(), genesis },
    });
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
    await sourceApp.close();
    await source.close();
    await replica.close().catch(() => undefined);
    await fs.rm(sourceDir, { recursive: true, force: true });
    await fs.rm(replicaDir, { recursive: true, force: true });
  });

  async function deposit(content: string) {
    return source.submit('evidence', 'depositBatch', depositArgs(content), GATEWAY_IDENTITY);
  }

  function httpSource(apiKey = courtKey): ReplicaSource {
    return replicaSource({ url: sourceUrl, apiKey, timeoutMs: 5_000 });
  }

  function follower(from: ReplicaSource, metrics = createMetrics({ processMetrics: false })) {
    const job = createReplicaFollower({
      ledger: replica,
      source: from,
      dataDir: replicaDir,
      intervalMs: 100,
      manual: true,
      metrics: metrics.replica,
    });
    cleanups.push(() => job.close());
    return { job, metrics };
  }

  async function catchUp(job: ReplicaFollower): Promise<void> {
    while (await job.syncOnce());
  }

  /** A source that serves what `serve` answers, counting the calls. */
  function fakeSource(serve: (from: number, limit: number) => Promise<BlocksAnswer>) {
    const calls: number[] = [];
    const fake: ReplicaSource = {
      url: 'http://source.invalid',
      blocks: async (from, limit) => {
        calls.push(from);
        return serve(from, limit);
      },
    };
    return { fake, calls };
  }

  describe('GET /v1/blocks', () => {
    it('serves whole blocks as stored, from a block on, to courts, auditors and admins only', async () => {
      for (let i = 0; i < 3; i++) await deposit(`exhibit ${i}`);
      const stored = (await source.rawBlocks(1, 10, 1 << 20)).blocks;
      for (const role of ['court', 'auditor', 'admin'] as const) {
        const response = await getWith(
          sourceApp,
          '/v1/blocks?from=1&limit=2',
          await base.keyFor(role),
        );
        expect(response.statusCode, role).toBe(200);
        expect(response.headers['content-type']).toContain('application/json');
        const body = response.json() as { chainId: string; height: number; blocks: unknown[] };
        expect(body.chainId).toBe(source.chainId);
        expect(body.height).toBe(4);
        expect(body.blocks.map((block) => JSON.stringify(block))).toEqual(stored.slice(0, 2));
      }
      for (const role of ['depositor', 'platform', 'anchor', 'payment'] as const) {
        const response = await getWith(sourceApp, '/v1/blocks', await base.keyFor(role));
        expect(response.statusCode, role).toBe(403);
        expect(response.json()).toMatchObject({ code: 'FORBIDDEN' });
      }
      expect((await getWith(sourceApp, '/v1/blocks')).statusCode).toBe(401);
    });

    it('sends block `from` as its signed header only when asked (what a replica holds), the rest whole', async () => {
      for (let i = 0; i < 3; i++) await deposit(`exhibit ${i}`);
      const stored = (await source.rawBlocks(1, 10, 1 << 20)).blocks;
      const response = await getWith(sourceApp, '/v1/blocks?from=1&limit=3&first=header', courtKey);
      expect(response.statusCode).toBe(200);
      const body = response.json() as { height: number; blocks: unknown[] };
      expect(body.height).toBe(4);
      expect(body.blocks[0]).toEqual(await source.blockHeader(1));
      expect(body.blocks.slice(1).map((block) => JSON.stringify(block))).toEqual(
        stored.slice(1, 3),
      );
      expect(JSON.stringify(body.blocks[0]).length).toBeLessThan(stored[0]!.length);
      // Asked whole (the default), it is the stored block.
      const whole = await getWith(sourceApp, '/v1/blocks?from=1&limit=1&first=whole', courtKey);
      expect(JSON.stringify((whole.json() as { blocks: unknown[] }).blocks[0])).toBe(stored[0]);
      // A replica's client asks so: the held block comes back as its header; by default, whole
      // (how a replica takes block 0 at its first start).
      const answer = await httpSource().blocks(3, 32, undefined, 'header');
      expect(answer.blocks.map((block) => JSON.parse(block) as unknown)).toEqual([
        await source.blockHeader(3),
      ]);
      expect((await httpSource().blocks(3, 32)).blocks).toEqual([stored[2]]);
      const bad = await getWith(sourceApp, '/v1/blocks?first=headers', courtKey);
      expect(bad.statusCode).toBe(400);
      expect((bad.json() as { fields: Array<{ path: string }> }).fields.map((f) => f.path)).toEqual(
        ['/first'],
      );
    });

    it('caps the blocks per answer, answers none past the tip, and names every bad query field', async () => {
      const all = await getWith(sourceApp, '/v1/blocks?limit=999', courtKey);
      expect((all.json() as { blocks: unknown[] }).blocks).toHaveLength(1);
      const past = await getWith(sourceApp, '/v1/blocks?from=5', courtKey);
      expect(past.json()).toEqual({ chainId: source.chainId, height: 1, blocks: [] });
      const bad = await getWith(sourceApp, '/v1/blocks?from=-1&limit=0&extra=1', courtKey);
      expect(bad.statusCode).toBe(400);
      const paths = (bad.json() as { fields: Array<{ path: string }> }).fields.map((f) => f.path);
      expect(paths).toEqual(expect.arrayContaining(['/from', '/limit']));
    });

    it('is not a replica: its replica status is 404', async () => {
      const response = await getWith(sourceApp, '/v1/replica/status', courtKey);
      expect(response.statusCode).toBe(404);
      expect(response.json()).toMatchObject({ code: 'NOT_FOUND' });
    });
  });

  describe('the replica job', () => {
    it('copies the source over HTTP, asking for the next blocks while it commits, and reports it', async () => {
      for (let i = 0; i < 40; i++) await deposit(`exhibit ${i}`);
      // What happens, in order: the calls to the source, and each block once it is durable.
      const events: string[] = [];
      const http = httpSource();
      const watched: ReplicaSource = {
        url: http.url,
        blocks: async (from, limit, signal, first) => {
          events.push(`ask ${from}`);
          const answer = await http.blocks(from, limit, signal, first);
          // The block held comes as its signed header: compared, not fetched again.
          if (from > 0)
            expect(Object.keys(JSON.parse(answer.blocks[0]!) as object)).toHaveLength(2);
          return answer;
        },
      };
      const replicate = replica.replicate.bind(replica);
      replica.replicate = async (raw) => {
        const done = await replicate(raw);
        events.push(`durable ${done.number}`);
        return done;
      };
      const { job, metrics } = follower(watched);
      expect(await job.syncOnce()).toBe(false);
      expect(await replica.info()).toEqual(await source.info());
      // At most 32 blocks an answer, the held one first: from 0, then from 31, the last of the
      // first answer, asked for before that block was durable.
      expect(events.filter((e) => e.startsWith('ask'))).toEqual(['ask 0', 'ask 31']);
      expect(events.indexOf('ask 31')).toBeLessThan(events.indexOf('durable 31'));
      expect(events.filter((e) => e.startsWith('durable'))).toHaveLength(40);
      const status = await job.status();
      expect(status).toMatchObject({
        source: sourceUrl,
        chainId: source.chainId,
        height: 41,
        sourceHeight: 41,
        behind: 0,
        replicatedBlocks: 40,
        failures: 0,
        lastError: null,
        forked: null,
      });
      expect(status.lastSyncAt).not.toBeNull();
      const text = (await metrics.render()).text;
      expect(text).toMatch(/^evidence_replica_height 41$/m);
      expect(text).toMatch(/^evidence_replica_behind_blocks 0$/m);
      expect(text).toMatch(/^evidence_replica_forked 0$/m);
      // The most blocks the source said it held, kept for a promotion.
      expect(await readSourceHeight(replicaDir)).toMatchObject({
        source: sourceUrl,
        chainId: source.chainId,
        height: 41,
      });
      // A source restored from an old copy says less: the record keeps the most.
      const { job: later } = follower(
        fakeSource(async () => ({ chainId: source.chainId, height: 5, blocks: [] })).fake,
      );
      await later.start();
      await expect(later.syncOnce()).rejects.toMatchObject({ code: 'CHAIN_FORKED' });
      expect((await readSourceHeight(replicaDir))?.height).toBe(41);
    });

    it('serves its status and refuses deposits over its own HTTP API', async () => {
      const replicaBase = await testNodeBase(replicaDir);
      const app = buildApp(replicaBase.config, {
        ledger: replica,
        keys: replicaBase.keys,
        replica: { source: httpSource(), manual: true },
      });
      cleanups.push(() => app.close());
      await app.ready();
      await deposit('exhibit');
      const judge = await replicaBase.keyFor('court', 'CourtOrg');
      const before = await getWith(app, '/v1/replica/status', judge);
      expect(before.json()).toMatchObject({ height: 1, sourceHeight: null, behind: null });
      const refused = await app.inject({
        method: 'POST',
        url: '/v1/evidence',
        headers: { authorization: `Bearer ${judge}`, 'content-type': 'application/json' },
        payload: JSON.stringify({ digests: [`sha256:${'1'.repeat(64)}`] }),
      });
      expect(refused.statusCode).toBe(409);
      expect(refused.json()).toMatchObject({ code: 'READ_ONLY_REPLICA' });
      const depositor = await replicaBase.keyFor('depositor');
      expect((await getWith(app, '/v1/replica/status', depositor)).statusCode).toBe(403);
      // Every write, whatever route it comes by, is refused the same way and changes nothing.
      const digest = JSON.parse(depositArgs('exhibit')[0]!).records[0].digests[0] as string;
      await catchUp(
        createReplicaFollower({
          ledger: replica,
          source: httpSource(),
          dataDir: replicaDir,
          intervalMs: 100,
          manual: true,
        }),
      );
      const height = (await replica.info()).height;
      const writes: Array<[string, string, unknown]> = [
        ['/v1/evidence/batch', judge, { items: [{ digests: [`sha256:${'2'.repeat(64)}`] }] }],
        [`/v1/evidence/${digest}/annotations`, judge, { kind: 'court-hold' }],
        [
          '/v1/anchors',
          await replicaBase.keyFor('anchor'),
          { sourceChainId: 'other-chain', blockNumber: 1, headerHash: `sha256:${'3'.repeat(64)}` },
        ],
        ['/v1/admin/node-keys', replicaBase.adminKey, {}],
      ];
      for (const [url, key, body] of writes) {
        const response = await app.inject({
          method: 'POST',
          url,
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          payload: JSON.stringify(body),
        });
        const answer = response.json() as {
          code?: string;
          results?: Array<{ error?: { code: string } }>;
        };
        const code = answer.code ?? answer.results?.[0]?.error?.code;
        expect(code, url).toBe('READ_ONLY_REPLICA');
      }
      expect((await replica.info()).height).toBe(height);
      // Reads are served from the copy.
      const read = await getWith(app, `/v1/evidence/${digest}/receipt`, judge);
      expect(read.statusCode).toBe(200);
      // Its dossier names the chain's operator, and itself as the holder of a copy.
      const dossier = await getWith(app, '/v1/admin/dossier', replicaBase.adminKey);
      expect(dossier.statusCode).toBe(200);
      expect((dossier.json() as { organisations: unknown[] }).organisations).toEqual([
        { name: `the source of ${source.chainId}`, role: 'operator' },
        {
          name: expect.stringContaining('a replica, keeping a checked copy'),
          role: 'other',
          mspId: replicaBase.config.org,
        },
      ]);
    });

    it('keeps the proof when the source signs another block at a height it holds, and stops', async () => {
      await deposit('held');
      await catchUp(follower(httpSource()).job);
      const held = JSON.parse((await source.rawBlocks(1, 1, 1 << 20)).blocks[0]!) as FullBlock;
      // The source signs a second block 1: same key, another time.
      const key = createPrivateKey(await fs.readFile(path.join(sourceDir, 'node-key.pem'), 'utf8'));
      const header = {
        ...held.header,
        time: new Date(Date.parse(held.header.time) + 1).toISOString(),
      };
      const other: FullBlock = {
        ...held,
        header,
        signature: {
          ...held.signature,
          value: sign(null, Buffer.from(blockSigningBytes(header)), key).toString('base64'),
        },
      };
      const { fake, calls } = fakeSource(async () => ({
        chainId: source.chainId,
        height: 2,
        blocks: [JSON.stringify(other)],
      }));
      const { job, metrics } = follower(fake);
      await job.start();
      expect(await refusalOf(job.syncOnce())).toMatchObject({ code: 'CHAIN_FORKED' });
      const status = await job.status();
      expect(status.forked).toMatchObject({
        type: 'judicial-evidence-fork',
        chainId: source.chainId,
        number: 1,
        held: { header: held.header, signature: held.signature },
        served: { header: other.header, signature: other.signature },
      });
      expect(status.lastError).toMatchObject({ code: 'CHAIN_FORKED' });
      const kept = JSON.parse(await fs.readFile(path.join(replicaDir, FORK_FILE), 'utf8'));
      expect(kept).toEqual(status.forked);
      expect((await metrics.render()).text).toMatch(/^evidence_replica_forked 1$/m);
      // Stopped: no more calls, and a restarted job reads the proof back.
      expect(await job.syncOnce()).toBe(false);
      expect(calls).toHaveLength(1);
      const restarted = follower(fake).job;
      await restarted.start();
      expect((await restarted.status()).forked).toEqual(status.forked);
      expect(await restarted.syncOnce()).toBe(false);
      expect(calls).toHaveLength(1);
      expect((await replica.info()).height).toBe(2);
    });

    it('takes another block at a held height without a valid signature for junk, not a fork', async () => {
      await deposit('held');
      await catchUp(follower(httpSource()).job);
      const held = JSON.parse((await source.rawBlocks(1, 1, 1 << 20)).blocks[0]!) as FullBlock;
      const junk = { ...held, header: { ...held.header, time: '2030-01-01T00:00:00.000Z' } };
      const { fake } = fakeSource(async () => ({
        chainId: source.chainId,
        height: 2,
        blocks: [JSON.stringify(junk)],
      }));
      const { job } = follower(fake);
      const refused = await refusalOf(job.syncOnce());
      expect(refused.code).toBe('BLOCK_INVALID');
      expect(refused.message).toContain('not validly signed');
      expect((await job.status()).forked).toBeNull();
      await expect(fs.access(path.join(replicaDir, FORK_FILE))).rejects.toThrow();
    });

    it('reports a source with fewer blocks, another chain, bad blocks and silence', async () => {
      await deposit('one');
      await catchUp(follower(httpSource()).job);
      const cases: Array<[string, () => Promise<BlocksAnswer>]> = [
        ['CHAIN_FORKED', async () => ({ chainId: source.chainId, height: 1, blocks: [] })],
        ['BLOCK_INVALID', async () => ({ chainId: 'other-chain', height: 9, blocks: [] })],
        ['BLOCK_INVALID', async () => ({ chainId: source.chainId, height: 2, blocks: ['{'] })],
        // More blocks said, none sent after the held one: refused, not asked again at once.
        [
          'BLOCK_INVALID',
          async () => ({
            chainId: source.chainId,
            height: 9,
            blocks: [(await source.rawBlocks(1, 1, 1 << 20)).blocks[0]!],
          }),
        ],
      ];
      for (const [code, serve] of cases) {
        const { job, metrics } = follower(fakeSource(serve).fake);
        expect(await refusalOf(job.syncOnce()), code).toMatchObject({ code });
        const status = await job.status();
        expect(status).toMatchObject({ failures: 1, lastError: { code }, forked: null });
        expect((await metrics.render()).text).toContain(
          `evidence_replica_failures_total{code="${code}"} 1`,
        );
      }
      // A source that cannot be reached.
      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const port = (closed.address() as AddressInfo).port;
      await new Promise<void>((resolve) => closed.close(() => resolve()));
      const gone = replicaSource({
        url: `http://127.0.0.1:${port}`,
        apiKey: 'k',
        timeoutMs: 2_000,
      });
      const { job } = follower(gone);
      expect(await refusalOf(job.syncOnce())).toMatchObject({ code: 'LEDGER_UNAVAILABLE' });
      expect(await refusalOf(job.syncOnce())).toMatchObject({ code: 'LEDGER_UNAVAILABLE' });
      expect((await job.status()).failures).toBe(2);
      expect((await replica.info()).height).toBe(2);
    });

    it('refuses a block that fails its checks and commits the ones before it', async () => {
      for (let i = 0; i < 3; i++) await deposit(`exhibit ${i}`);
      const blocks = (await source.rawBlocks(0, 10, 1 << 20)).blocks;
      const third = JSON.parse(blocks[3]!) as FullBlock;
      const bad = JSON.stringify({ ...third, txs: [{ ...third.txs[0]!, result: '"changed"' }] });
      const { fake } = fakeSource(async () => ({
        chainId: source.chainId,
        height: 4,
        blocks: [blocks[0]!, blocks[1]!, blocks[2]!, bad],
      }));
      const { job } = follower(fake);
      expect(await refusalOf(job.syncOnce())).toMatchObject({ code: 'BLOCK_INVALID' });
      expect((await replica.info()).height).toBe(3);
      expect((await job.status()).replicatedBlocks).toBe(2);
    });
  });

  describe('a replica that time-stamps the chain it keeps', () => {
    let authority: TsaAuthority;
    beforeAll(async () => {
      authority = await createTsaAuthority('rsa');
    }, 60_000);
    afterAll(async () => authority.remove());

    it("gives the source's receipts a trusted time stamp, without the source", async () => {
      const deposited = await deposit('exhibit');
      const digest = JSON.parse(depositArgs('exhibit')[0]!).records[0].digests[0] as string;
      const tsa = createTimestampTarget(
        {
          name: 'court-tsa',
          kind: 'rfc3161',
          url: 'http://tsa.test/stamp',
          key: authorityCertificate(authority.certificatePem).key,
          operator: 'Court Time Service',
        },
        {
          timeoutMs: 10_000,
          fetch: (async (_url: unknown, init?: RequestInit) =>
            new Response(
              new Uint8Array(await authority.reply(Buffer.from(init?.body as Uint8Array))),
              { status: 200, headers: { 'content-type': 'application/timestamp-reply' } },
            )) as typeof fetch,
        },
      );
      const replicaBase = await testNodeBase(replicaDir);
      const app = buildApp(replicaBase.config, {
        ledger: replica,
        keys: replicaBase.keys,
        replica: { source: httpSource(), manual: true },
        anchoring: { targets: [tsa], manual: true },
      });
      cleanups.push(() => app.close());
      await app.ready();
      await catchUp(follower(httpSource()).job);
      await app.anchoring.runOnce();

      // The receipt the platform gave, upgraded on the court's replica.
      const receipt = (
        await getWith(sourceApp, `/v1/evidence/${digest}/receipt`, courtKey)
      ).json() as Record<string, unknown>;
      const judge = await replicaBase.keyFor('court', 'CourtOrg');
      const upgraded = await app.inject({
        method: 'POST',
        url: '/v1/receipts/upgrade',
        headers: { authorization: `Bearer ${judge}`, 'content-type': 'application/json' },
        payload: JSON.stringify(receipt),
      });
      expect(upgraded.statusCode).toBe(200);
      const stamped = upgraded.json() as { anchors: Array<{ kind: string; authority: string }> };
      expect(stamped.anchors).toEqual([
        expect.objectContaining({ kind: 'rfc3161-timestamp', authority: 'court-tsa' }),
      ]);
      const pinned = mergeTrust(
        source.trust(),
        (await getWith(app, '/v1/anchoring/trust')).json() as TrustFile,
      );
      const verdict = verifyReceipt(stamped, pinned, { requireAnchors: ['court-tsa'] });
      expect(verdict.verdict).toBe('VERIFIED');
      expect(verdict.facts?.txId).toBe(deposited.txId);
      // Without the authority pinned, the stamp does not count.
      expect(
        verifyReceipt(stamped, source.trust(), { requireAnchors: ['court-tsa'] }).verdict,
      ).not.toBe('VERIFIED');
    });
  });

  describe('the HTTP client of the source', () => {
    let server: Server;
    let answer: (response: import('node:http').ServerResponse) => void;
    let url: string;
    beforeEach(async () => {
      server = createServer((_request, response) => answer(response));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterEach(async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    const reply =
      (status: number, body: string) => (response: import('node:http').ServerResponse) =>
        response.writeHead(status, { 'content-type': 'application/json' }).end(body);

    it('passes the source refusal code on, and calls other failures unavailable or invalid', async () => {
      const client = replicaSource({ url, apiKey: 'k', timeoutMs: 2_000 });
      answer = reply(401, '{"statusCode":401,"code":"UNAUTHENTICATED","message":"no"}');
      expect(await refusalOf(client.blocks(0, 1))).toMatchObject({ code: 'UNAUTHENTICATED' });
      answer = reply(503, '{"code":"OVERLOADED"}');
      expect(await refusalOf(client.blocks(0, 1))).toMatchObject({ code: 'LEDGER_UNAVAILABLE' });
      answer = reply(200, 'not json');
      expect(await refusalOf(client.blocks(0, 1))).toMatchObject({ code: 'BLOCK_INVALID' });
      answer = reply(200, '{"chainId":"c","height":1,"blocks":[1]}');
      expect(await refusalOf(client.blocks(0, 1))).toMatchObject({ code: 'BLOCK_INVALID' });
      answer = () => undefined; // never answers
      const slow = replicaSource({ url, apiKey: 'k', timeoutMs: 200 });
      expect(await refusalOf(slow.blocks(0, 1))).toMatchObject({ code: 'LEDGER_TIMEOUT' });
    });

    it('asks for the held block as its header, and for whole blocks from a source that does not know how', async () => {
      const asked: string[] = [];
      const older = '{"code":"VALIDATION_FAILED","message":"bad","fields":[{"path":"/first"}]}';
      const served = '{"chainId":"c","height":1,"blocks":[]}';
      server.removeAllListeners('request');
      server.on('request', (request: import('node:http').IncomingMessage, response) => {
        asked.push(request.url ?? '');
        const body = request.url?.includes('first=') ? older : served;
        response
          .writeHead(body === older ? 400 : 200, { 'content-type': 'application/json' })
          .end(body);
      });
      const client = replicaSource({ url, apiKey: 'k', timeoutMs: 2_000 });
      expect((await client.blocks(4, 32, undefined, 'header')).height).toBe(1);
      expect((await client.blocks(5, 32, undefined, 'header')).height).toBe(1);
      expect(asked).toEqual([
        '/v1/blocks?from=4&limit=32&first=header',
        '/v1/blocks?from=4&limit=32',
        '/v1/blocks?from=5&limit=32',
      ]);
      // Another 400 is the source's refusal, passed on.
      server.removeAllListeners('request');
      server.on('request', (_request, response) =>
        response
          .writeHead(400, { 'content-type': 'application/json' })
          .end('{"code":"VALIDATION_FAILED","message":"bad","fields":[{"path":"/from"}]}'),
      );
      const fresh = replicaSource({ url, apiKey: 'k', timeoutMs: 2_000 });
      expect(await refusalOf(fresh.blocks(4, 32, undefined, 'header'))).toMatchObject({
        code: 'VALIDATION_FAILED',
      });
    });
  });

  describe('configuration', () => {
    it('needs the source, the trust file and the key file together, and refuses what a replica cannot do', async () => {
      const dir = await tempDir('replica-config-');
      cleanups.push(() => fs.rm(dir, { recursive: true, force: true }));
      const trustFile = path.join(dir, 'trust.json');
      await fs.writeFile(trustFile, JSON.stringify(source.trust()));
      const keyFile = path.join(dir, 'key');
      await fs.writeFile(keyFile, `${courtKey}\n`);
      const config = loadConfig({
        EVIDENCE_REPLICA_SOURCE: `${sourceUrl}/`,
        EVIDENCE_REPLICA_TRUST: trustFile,
        EVIDENCE_REPLICA_API_KEY_FILE: keyFile,
      });
      expect(config.replicaSource).toBe(sourceUrl);
      expect(config.replicaTrust).toEqual(source.trust());
      const fieldsOf = (env: Record<string, string>) => {
        try {
          loadConfig(env);
        } catch (error) {
          return (error as { fields: Array<{ path: string }> }).fields.map((f) => f.path).sort();
        }
        throw new Error('expected CONFIG_INVALID');
      };
      expect(fieldsOf({ EVIDENCE_REPLICA_SOURCE: sourceUrl })).toEqual([
        '/replicaApiKeyFile',
        '/replicaTrust',
      ]);
      const noChain = path.join(dir, 'authorities.json');
      await fs.writeFile(
        noChain,
        JSON.stringify({ type: 'judicial-evidence-trust', version: 1, chains: [] }),
      );
      expect(
        fieldsOf({
          EVIDENCE_REPLICA_SOURCE: 'ftp://source',
          EVIDENCE_REPLICA_TRUST: noChain,
          EVIDENCE_REPLICA_API_KEY_FILE: path.join(dir, 'missing'),
          EVIDENCE_CHAIN_ID: 'mine',
          EVIDENCE_NODE_KEY_ALGORITHM: 'sm2-sm3',
          // A replica may anchor the chain it keeps: not refused.
          EVIDENCE_ANCHOR_TARGETS: '[]',
        }),
      ).toEqual([
        '/chainId',
        '/nodeKeyAlgorithm',
        '/replicaApiKeyFile',
        '/replicaSource',
        '/replicaTrust',
      ]);
    });
  });
});
