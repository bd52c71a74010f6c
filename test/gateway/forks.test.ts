/**
 * Fork notices (gateway/replica/forks.ts, `POST /v1/forks`, `GET /v1/forks`): a node keeps the
 * first proof that its chain's key signed two blocks at one height, whether a replica found it or
 * another node gave it, once it has checked it against its own chain's keys; refuses one that
 * proves nothing here with FORK_NOT_PROVEN and why; passes the first on to its targets until they
 * answer; and a replica that is given one follows its source no more.
 */

import { createPrivateKey, sign } from 'node:crypto';
import { promises as fs } from 'node:fs';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { blockSigningBytes, type SignedBlockHeader } from '../../core/block';
import type { Digest } from '../../core/digest';
import { forkProofOf, type ForkProof } from '../../core/fork';
import { buildApp } from '../../gateway/app';
import { openAuditLog } from '../../gateway/audit/audit-log';
import { loadConfig } from '../../gateway/config';
import { openEmbeddedLedger } from '../../gateway/ledger/embedded-ledger';
import { createMetrics } from '../../gateway/metrics';
import { createReplicaFollower } from '../../gateway/replica/follower';
import { FORK_FILE, ForkRecord } from '../../gateway/replica/forks';
import { replicaSource } from '../../gateway/replica/source';
import { depositArgs, GATEWAY_IDENTITY } from '../support/deposit-args';
import { evidenceErrorOf } from '../support/rejection';
import { getWith, tempDir, testNodeBase, type TestNodeBase } from './helpers';
import { waitFor } from '../support/wait';

type Opened = Awaited<ReturnType<typeof openEmbeddedLedger>>;

/** `header` with another time, signed by the node key in `dir`: a second history's block. */
async function signedOther(held: SignedBlockHeader, dir: string): Promise<SignedBlockHeader> {
  const key = createPrivateKey(await fs.readFile(path.join(dir, 'node-key.pem'), 'utf8'));
  const header = { ...held.header, time: new Date(Date.parse(held.header.time) + 1).toISOString() };
  const value = sign(null, Buffer.from(blockSigningBytes(header)), key).toString('base64');
  return { header, signature: { ...held.signature, value } };
}

/** The proof two headers make, seen at a fixed time. */
const proofOf = (held: SignedBlockHeader, served: SignedBlockHeader): ForkProof =>
  forkProofOf(held, served, new Date('2026-11-29T10:00:00.000Z'));

const post = (app: FastifyInstance, key: string | undefined, body: unknown) =>
  app.inject({
    method: 'POST',
    url: '/v1/forks',
    headers: {
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      'content-type': 'application/json',
    },
    payload: JSON.stringify(body),
  });

describe('the record of a fork', () => {
  let dir: string;
  const proof = proofOf(
    {
      header: {
        type: 'block',
        chainId: 'c',
        number: 1,
        previousHash: null,
        dataHash: `sha256:${'0'.repeat(64)}`,
        txCount: 1,
        time: '2026-11-29T09:00:00.000Z',
      },
      signature: { algorithm: 'ed25519', keyId: `sha256:${'1'.repeat(64)}`, value: 'AA==' },
    } as SignedBlockHeader,
    {
      header: {
        type: 'block',
        chainId: 'c',
        number: 1,
        previousHash: null,
        dataHash: `sha256:${'2'.repeat(64)}`,
        txCount: 1,
        time: '2026-11-29T09:00:01.000Z',
      },
      signature: { algorithm: 'ed25519', keyId: `sha256:${'1'.repeat(64)}`, value: 'AA==' },
    } as SignedBlockHeader,
  );
  beforeEach(async () => {
    dir = await tempDir('forks-');
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('keeps the first proof, tells each target until it answers, and tells them again after a restart', async () => {
    const calls: string[] = [];
    let flaky = 2;
    let behind = 2;
    const fetcher = (async (url: string | URL | Request, init?: RequestInit) => {
      const target = String(url);
      calls.push(`${target} ${(init?.headers as Record<string, string>).authorization}`);
      expect(JSON.parse(String(init?.body))).toEqual(proof);
      if (target.startsWith('http://flaky') && flaky-- > 0)
        return new Response('{"code":"OVERLOADED"}', { status: 503 });
      if (target.startsWith('http://other-chain'))
        return new Response('{"code":"FORK_NOT_PROVEN"}', { status: 422 });
      if (target.startsWith('http://behind') && behind-- > 0)
        return new Response('{"code":"FORK_KEY_UNKNOWN"}', { status: 409 });
      if (target.startsWith('http://conflict'))
        return new Response('{"code":"CONFLICT"}', { status: 409 });
      if (target.startsWith('http://down')) throw new TypeError('fetch failed');
      return new Response('{}', { status: 200 });
    }) as typeof fetch;
    const targets = [
      { name: 'ok', url: 'http://ok', apiKey: 'k1' },
      { name: 'flaky', url: 'http://flaky', apiKey: 'k2' },
      { name: 'other', url: 'http://other-chain', apiKey: 'k3' },
      { name: 'down', url: 'http://down', apiKey: 'k4' },
      { name: 'behind', url: 'http://behind', apiKey: 'k5' },
      { name: 'conflict', url: 'http://conflict', apiKey: 'k6' },
    ];
    let forked = 0;
    const record = new ForkRecord({
      dataDir: dir,
      targets,
      fetch: fetcher,
      retryMinMs: 5,
      onForked: () => (forked += 1),
    });
    expect(await record.load()).toBeNull();
    // Nothing to tell while no proof is held.
    expect(record.notices()).toEqual([]);
    expect(await record.keep(proof, { how: 'found' })).toBe(true);
    expect(await record.keep({ ...proof, number: 2 }, { how: 'given', by: 'a' })).toBe(false);
    expect(record.current()).toEqual(proof);
    expect(JSON.parse(await fs.readFile(path.join(dir, FORK_FILE), 'utf8'))).toEqual(proof);
    expect(forked).toBe(1);
    const settled = await waitFor('the notices', async () => {
      const notices = record.notices();
      return notices[1]!.state === 'sent' &&
        notices[3]!.attempts >= 3 &&
        notices[4]!.state === 'sent'
        ? notices
        : undefined;
    });
    expect(settled[0]).toEqual({ target: 'ok', state: 'sent', attempts: 1, lastError: null });
    expect(settled[1]).toMatchObject({ target: 'flaky', state: 'sent', attempts: 3 });
    expect(settled[2]).toMatchObject({ target: 'other', state: 'refused', attempts: 1 });
    expect(settled[2]!.lastError).toContain('422');
    expect(settled[3]).toMatchObject({ target: 'down', state: 'pending' });
    expect(settled[3]!.lastError).toContain('fetch failed');
    // A replica that had not reached the proof's key is asked again until it takes it; any
    // other 409 is a refusal.
    expect(settled[4]).toEqual({ target: 'behind', state: 'sent', attempts: 3, lastError: null });
    expect(settled[5]).toMatchObject({ target: 'conflict', state: 'refused', attempts: 1 });
    expect(calls.filter((c) => c.startsWith('http://ok/v1/forks'))).toEqual([
      'http://ok/v1/forks Bearer k1',
    ]);
    record.close();

    // Started again: the proof is read back and every target told again.
    calls.length = 0;
    const again = new ForkRecord({ dataDir: dir, targets: targets.slice(0, 1), fetch: fetcher });
    expect(await again.load()).toEqual(proof);
    expect(await again.keep({ ...proof, number: 3 }, { how: 'given', by: 'a' })).toBe(false);
    await waitFor('the notice after a restart', async () =>
      again.notices()[0]!.state === 'sent' ? true : undefined,
    );
    expect(calls).toEqual(['http://ok/v1/forks Bearer k1']);
    again.close();

    await fs.writeFile(path.join(dir, FORK_FILE), '{"type":"other"}');
    await expect(new ForkRecord({ dataDir: dir, targets: [] }).load()).rejects.toThrow(
      /is not the fork proof this node wrote/,
    );
  });
});

describe('EVIDENCE_FORK_PEERS', () => {
  it('tells no one by default, reads peers with their key inline or from a file, and names every bad field', async () => {
    expect(loadConfig({}).forkPeers).toEqual([]);
    const dir = await tempDir('fork-peers-');
    const keyFile = path.join(dir, 'peer.key');
    await fs.writeFile(keyFile, 'ek_from-file\n');
    expect(
      loadConfig({
        EVIDENCE_FORK_PEERS: JSON.stringify([
          { name: 'court-a', url: 'https://court-a.example/base/', apiKeyFile: keyFile },
          { name: 'court-b', url: 'http://127.0.0.1:9000', apiKey: 'ek_inline' },
        ]),
      }).forkPeers,
    ).toEqual([
      { name: 'court-a', url: 'https://court-a.example/base', apiKey: 'ek_from-file' },
      { name: 'court-b', url: 'http://127.0.0.1:9000', apiKey: 'ek_inline' },
    ]);
    const error = evidenceErrorOf(() =>
      loadConfig({
        EVIDENCE_FORK_PEERS: JSON.stringify([
          { name: 'bad name', url: 'ftp://x', apiKey: 'k', apiKeyFile: keyFile, kind: 'http' },
          { name: 'source', url: 'http://a', apiKey: 'k' },
          { name: 'c', url: 'http://c', apiKeyFile: path.join(dir, 'missing.key') },
          { name: 'd', url: 'http://d', apiKey: 'two\nlines' },
          'nope',
        ]),
      }),
    );
    expect(error.code).toBe('CONFIG_INVALID');
    const message = error.fields?.[0]?.message ?? '';
    expect(error.fields?.[0]).toMatchObject({ path: '/forkPeers', rule: 'forkPeers' });
    for (const part of [
      '[0].kind is not a setting of a fork peer',
      '[0].name must be an identifier',
      '[0].url must be an http or https URL',
      '[0] needs exactly one of apiKey and apiKeyFile',
      '[1].name "source" is a replica\'s own source',
      '[2].apiKeyFile',
      'cannot be read (ENOENT)',
      '[3]: the API key must be one line of printable ASCII',
      '[4] must be an object',
    ])
      expect(message).toContain(part);
    expect(evidenceErrorOf(() => loadConfig({ EVIDENCE_FORK_PEERS: '[{' })).fields?.[0]?.rule).toBe(
      'json',
    );
    expect(
      evidenceErrorOf(() =>
        loadConfig({
          EVIDENCE_FORK_PEERS: JSON.stringify([
            { name: 'a', url: 'http://a', apiKey: 'k' },
            { name: 'a', url: 'http://b', apiKey: 'k' },
          ]),
        }),
      ).fields?.[0]?.message,
    ).toContain('peer names must be unique (a)');
    await fs.rm(dir, { recursive: true, force: true });
  });
});

describe('fork proofs over the gateway', () => {
  let sourceDir: string;
  let replicaDir: string;
  let source: Opened;
  let replica: Opened;
  let base: TestNodeBase;
  const cleanups: Array<() => Promise<unknown>> = [];

  beforeEach(async () => {
    sourceDir = await tempDir('forks-source-');
    replicaDir = await tempDir('forks-replica-');
    source = await openEmbeddedLedger({ dataDir: sourceDir, org: 'NodeOrg' });
    for (const content of ['exhibit 1', 'exhibit 2'])
      await source.submit('evidence', 'depositBatch', depositArgs(content), GATEWAY_IDENTITY);
    const genesis = (await source.rawBlocks(0, 1, 1 << 20)).blocks[0]!;
    replica = await openEmbeddedLedger({
      dataDir: replicaDir,
      org: 'CourtOrg',
      replica: { trust: source.trust(), genesis },
    });
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
    await source.close();
    await replica.close();
    await fs.rm(sourceDir, { recursive: true, force: true });
    await fs.rm(replicaDir, { recursive: true, force: true });
  });

  /** An app over `ledger` listening on 127.0.0.1, and its base URL. */
  async function serve(app: FastifyInstance): Promise<string> {
    cleanups.push(() => app.close());
    await app.listen({ host: '127.0.0.1', port: 0 });
    return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  }

  it('checks a proof against its own chain, keeps the first, says so publicly and passes it on to a replica, which stops', async () => {
    // The replica, following the source; the source's node tells it with a key of its own.
    const replicaBase = await testNodeBase(replicaDir);
    const replicaMetrics = createMetrics({ processMetrics: false });
    let sourceUrl = '';
    let readKey = '';
    const fromSource = () => replicaSource({ url: sourceUrl, apiKey: readKey, timeoutMs: 5_000 });
    const replicaApp = buildApp(replicaBase.config, {
      ledger: replica,
      keys: replicaBase.keys,
      metrics: replicaMetrics,
      replica: {
        source: {
          url: 'http://127.0.0.1:9',
          blocks: (from, limit, signal, first) => fromSource().blocks(from, limit, signal, first),
        },
        manual: true,
      },
    });
    const replicaUrl = await serve(replicaApp);
    const tellKey = await replicaBase.keyFor('court', 'PlatformOrg');
    const sourceMetrics = createMetrics({ processMetrics: false });
    base = await testNodeBase(sourceDir, {
      forkPeers: [{ name: 'court-replica', url: replicaUrl, apiKey: tellKey }],
    });
    const audit = await openAuditLog({ dataDir: sourceDir, retentionDays: 183 });
    cleanups.push(() => audit.close());
    const sourceApp = buildApp(base.config, {
      ledger: source,
      keys: base.keys,
      metrics: sourceMetrics,
      audit,
    });
    sourceUrl = await serve(sourceApp);
    readKey = await base.keyFor('court', 'CourtOrg');
    const court = await base.keyFor('court', 'CourtOrg');

    const held = (await source.blockHeader(1))!;
    const other = await signedOther(held, sourceDir);
    const none = await sourceApp.inject({ method: 'GET', url: '/v1/forks' });
    expect(none.statusCode).toBe(200);
    expect(none.json()).toEqual({ chainId: source.chainId, forked: null, notices: [] });

    // Refused: no key, a depositor, a body that is not a proof, and proofs of nothing here.
    expect((await post(sourceApp, undefined, proofOf(held, other))).statusCode).toBe(401);
    const depositor = await base.keyFor('depositor');
    expect((await post(sourceApp, depositor, proofOf(held, other))).statusCode).toBe(403);
    const junk = await post(sourceApp, court, { type: 'x', number: -1 });
    expect(junk.statusCode).toBe(400);
    expect(junk.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
    const fields = (junk.json() as { fields: Array<{ path: string }> }).fields.map((f) => f.path);
    expect(fields).toEqual(expect.arrayContaining(['/type', '/number']));
    const refusals: Array<[ForkProof, RegExp]> = [
      [proofOf(held, held), /the same block/],
      [{ ...proofOf(held, other), chainId: 'another-chain' }, /^chainId: the proof is of chain/],
      [proofOf(held, { ...other, signature: held.signature }), /the served block: .*signature/],
    ];
    for (const [proof, why] of refusals) {
      const refused = await post(sourceApp, court, proof);
      expect(refused.statusCode, JSON.stringify(proof)).toBe(422);
      expect(refused.json()).toMatchObject({ code: 'FORK_NOT_PROVEN' });
      expect((refused.json() as { message: string }).message).toMatch(why);
    }
    await expect(fs.access(path.join(sourceDir, FORK_FILE))).rejects.toThrow();
    expect((await sourceMetrics.render()).text).toMatch(/^evidence_chain_forked 0$/m);

    // A proven one is kept, once, and said publicly.
    const proof = proofOf(held, other);
    const taken = await post(sourceApp, court, proof);
    expect(taken.statusCode).toBe(200);
    expect(taken.json()).toMatchObject({ chainId: source.chainId, number: 1, kept: 'new' });
    expect((taken.json() as { detail: string }).detail).toContain('signed two histories');
    const again = await post(sourceApp, court, proofOf(held, await signedOther(other, sourceDir)));
    expect(again.json()).toMatchObject({ kept: 'known' });
    expect(JSON.parse(await fs.readFile(path.join(sourceDir, FORK_FILE), 'utf8'))).toEqual(proof);
    expect((await sourceMetrics.render()).text).toMatch(/^evidence_chain_forked 1$/m);
    // The compliance dossier says so too.
    const admin = await base.keyFor('admin', 'NodeOrg');
    const dossier = await getWith(sourceApp, '/v1/admin/dossier', admin);
    expect(dossier.statusCode).toBe(200);
    expect((dossier.json() as { chain: { forked: unknown } }).chain.forked).toEqual({
      block: 1,
      detectedAt: proof.detectedAt,
    });
    // One audit entry, for the proof kept.
    await audit.flush();
    const forkEntries = (await audit.read(0, 1_000)).filter((e) => e.type === 'fork');
    expect(forkEntries).toEqual([
      expect.objectContaining({
        type: 'fork',
        params: { chainId: source.chainId, block: '1', how: 'given' },
      }),
    ]);

    // Passed on to the replica, which keeps it and follows no more.
    const told = await waitFor('the replica to be told', async () => {
      const answer = (await sourceApp.inject({ method: 'GET', url: '/v1/forks' })).json() as {
        forked: ForkProof;
        notices: Array<{ state: string }>;
      };
      return answer.notices[0]!.state === 'sent' ? answer : undefined;
    });
    expect(told.forked).toEqual(proof);
    const judge = await replicaBase.keyFor('court', 'CourtOrg');
    const status = await getWith(replicaApp, '/v1/replica/status', judge);
    expect(status.json()).toMatchObject({ height: 1, forked: proof });
    const replicaForks = (await replicaApp.inject({ method: 'GET', url: '/v1/forks' })).json() as {
      forked: ForkProof;
    };
    expect(replicaForks.forked).toEqual(proof);
    const text = (await replicaMetrics.render()).text;
    expect(text).toMatch(/^evidence_chain_forked 1$/m);
    expect(text).toMatch(/^evidence_replica_forked 1$/m);
    // Its source has two more blocks: a job started on its data directory takes none.
    const job = createReplicaFollower({
      ledger: replica,
      source: fromSource(),
      dataDir: replicaDir,
      intervalMs: 100,
      manual: true,
    });
    cleanups.push(() => job.close());
    await job.start();
    expect(await job.syncOnce()).toBe(false);
    expect((await replica.info()).height).toBe(1);
    expect((await job.status()).forked).toEqual(proof);
  });

  /** An app over `ledger` (not listening) and a court's key for it. */
  async function courtOn(ledger: Opened, dir: string) {
    const nodeBase = await testNodeBase(dir);
    const app = buildApp(nodeBase.config, {
      ledger,
      keys: nodeBase.keys,
      metrics: createMetrics({ processMetrics: false }),
    });
    await app.ready();
    cleanups.push(() => app.close());
    return { app, court: await nodeBase.keyFor('court', 'CourtOrg') };
  }

  it("has a replica that has not reached a proof's key say so (409 FORK_KEY_UNKNOWN), and take the proof once it followed the rotation", async () => {
    // The source rotates its key; block 4 is the new key's first, and it signs a second one.
    await source.rotateKey();
    await source.submit('evidence', 'depositBatch', depositArgs('exhibit 3'), GATEWAY_IDENTITY);
    const held = (await source.blockHeader(4))!;
    expect(held.signature.keyId).not.toBe((await source.blockHeader(1))!.signature.keyId);
    const proof = proofOf(held, await signedOther(held, sourceDir));

    const { app: replicaApp, court } = await courtOn(replica, replicaDir);

    // At block 0, the replica knows only the first key: it cannot check the proof yet.
    const early = await post(replicaApp, court, proof);
    expect(early.statusCode).toBe(409);
    expect(early.json()).toMatchObject({ code: 'FORK_KEY_UNKNOWN' });
    const message = (early.json() as { message: string }).message;
    expect(message).toContain('holds 1 blocks');
    expect(message).toContain(held.signature.keyId);
    await expect(fs.access(path.join(replicaDir, FORK_FILE))).rejects.toThrow();

    // Having followed the chain through the rotation (and past the proof's height), it checks
    // the proof and keeps it.
    for (const raw of (await source.rawBlocks(1, 10, 1 << 22)).blocks) await replica.replicate(raw);
    expect((await replica.info()).height).toBe(5);
    const later = await post(replicaApp, court, proof);
    expect(later.statusCode).toBe(200);
    expect(later.json()).toMatchObject({ chainId: source.chainId, number: 4, kept: 'new' });

    // A key it has not seen, for a height it holds, proves nothing: 422, not 409.
    const stranger = { ...held.signature, keyId: `sha256:${'e'.repeat(64)}` as Digest };
    const other = await signedOther((await source.blockHeader(1))!, sourceDir);
    const refused = await post(
      replicaApp,
      court,
      proofOf((await source.blockHeader(1))!, { ...other, signature: stranger }),
    );
    expect(refused.statusCode).toBe(422);
    expect(refused.json()).toMatchObject({ code: 'FORK_NOT_PROVEN' });

    // Nor does a node of its own chain give 409: it knows every key its chain was signed with.
    const onSource = await courtOn(source, sourceDir);
    const unknownToSource = await post(
      onSource.app,
      onSource.court,
      proofOf(held, { ...held, signature: { ...held.signature, keyId: stranger.keyId } }),
    );
    expect(unknownToSource.statusCode).toBe(422);
  });
});
