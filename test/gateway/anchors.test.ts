/**
 * Cross-chain anchors through the gateway, on two real embedded ledgers in one process: a court
 * app that records anchors (`POST /v1/anchors`, reads, forks) and an evidence app whose anchoring
 * job submits its tip to the court app over HTTP (the HTTP target, its fetch routed to the court
 * app's `inject()`), stores the proofs and upgrades receipts from them.
 */

import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AnchorFork, AnchorRecord } from '../../core/anchor';
import { digestBytes, formatDigest } from '../../core/digest';
import type { Receipt } from '../../core/receipt';
import { mergeTrust, type TrustFile } from '../../core/trust';
import { verifyReceipt } from '../../core/verify';
import { buildApp } from '../../gateway/app';
import type { AnchoringStatus } from '../../gateway/anchoring/anchor-job';
import { createHttpTarget } from '../../gateway/anchoring/http-target';
import type { AnchorTarget } from '../../gateway/anchoring/target';
import { openKeyStore, type KeyRole, type KeyStore } from '../../gateway/auth/api-keys';
import { loadConfig, type Config } from '../../gateway/config';
import { openEmbeddedLedger } from '../../gateway/ledger/embedded-ledger';
import type { Ledger } from '../../gateway/ledger/ledger';
import { bearer, getWith, itemFor, postJson, tempDir } from './helpers';

interface Node {
  readonly app: FastifyInstance;
  readonly ledger: Ledger;
  readonly keys: KeyStore;
  readonly dir: string;
  keyFor(role: KeyRole, org?: string, account?: string): Promise<string>;
  close(): Promise<void>;
}

async function startApp(
  org: string,
  chainId: string,
  options: { config?: Partial<Config>; targets?: (node: { dir: string }) => AnchorTarget[] } = {},
): Promise<Node> {
  const dir = await tempDir('anchors-test-');
  // Two ledgers open in one test process stall the event loop once at start: no load shedding.
  const config = loadConfig({}, { dataDir: dir, org, maxEventLoopDelayMs: 0, ...options.config });
  const ledger = await openEmbeddedLedger({ dataDir: dir, org, chainId, operator: `${org} node` });
  const { keys } = await openKeyStore({
    file: config.keysFile,
    org,
    adminKeyFile: path.join(dir, 'admin.key'),
  });
  const targets = options.targets?.({ dir });
  const app = buildApp(config, {
    ledger,
    keys,
    ...(targets ? { anchoring: { targets, manual: true } } : {}),
  });
  await app.ready();
  let counter = 0;
  return {
    app,
    ledger,
    keys,
    dir,
    keyFor: async (role, keyOrg = org, account) => {
      counter += 1;
      return (await keys.create({ org: keyOrg, account: account ?? `${role}-${counter}`, role }))
        .key;
    },
    close: async () => {
      await app.close();
      await ledger.close();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

/** A fetch that answers from `app.inject()`, or fails like a refused connection while `down()`. */
function injectFetch(app: () => FastifyInstance, down: () => boolean = () => false): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    if (down()) {
      throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
    }
    const url = new URL(String(input));
    const response = await app().inject({
      method: (init?.method ?? 'GET') as 'GET' | 'POST',
      url: url.pathname,
      headers: Object.fromEntries(new Headers(init?.headers).entries()),
      ...(init?.body !== undefined ? { payload: init.body as string } : {}),
    });
    return new Response(response.body, {
      status: response.statusCode,
      headers: { 'content-type': 'application/json' },
    });
  }) as typeof fetch;
}

const EVIDENCE_CHAIN = 'evidence-chain';
const COURT_CHAIN = 'court-chain';
const otherHash = formatDigest('sha256', Buffer.alloc(32, 7));

describe('anchor routes on the target node', () => {
  let court: Node;
  let anchorKey: string;
  beforeEach(async () => {
    court = await startApp('CourtOrg', COURT_CHAIN);
    anchorKey = await court.keyFor('anchor', 'PlatformOrg', 'anchor-job');
  });
  afterEach(async () => {
    await court.close();
  });

  const input = (
    blockNumber: number,
    headerHash = formatDigest('sha256', Buffer.alloc(32, 1)),
  ) => ({
    sourceChainId: EVIDENCE_CHAIN,
    blockNumber,
    headerHash,
  });

  it('records an anchor as the caller (201) with its own transaction proof, and 200 the same again', async () => {
    const first = await postJson(court.app, '/v1/anchors', anchorKey, input(5));
    expect(first.statusCode, first.body).toBe(201);
    const body = first.json<{ anchor: AnchorRecord; proof: Record<string, unknown> }>();
    expect(body.anchor).toMatchObject({
      type: 'anchor',
      ...input(5),
      anchoredBy: { org: 'PlatformOrg', account: 'anchor-job' },
    });
    expect(Object.keys(body.proof).sort()).toEqual(['block', 'result', 'tx', 'txIndex', 'txPath']);
    expect(body.proof).toMatchObject({
      tx: { txId: body.anchor.txId, chainId: COURT_CHAIN, contract: 'anchor', fn: 'recordAnchor' },
      result: { status: 'recorded', anchor: body.anchor },
      block: { header: { chainId: COURT_CHAIN } },
    });
    const again = await postJson(court.app, '/v1/anchors', anchorKey, input(5));
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual(body);
  });

  it('refuses a contradiction with 409 ANCHOR_CONFLICT, keeps the fork and lists it', async () => {
    await postJson(court.app, '/v1/anchors', anchorKey, input(5));
    const conflict = await postJson(court.app, '/v1/anchors', anchorKey, input(5, otherHash));
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json()).toMatchObject({ statusCode: 409, code: 'ANCHOR_CONFLICT' });
    const regression = await postJson(court.app, '/v1/anchors', anchorKey, input(3));
    expect(regression.statusCode).toBe(409);
    expect(regression.json()).toMatchObject({ code: 'ANCHOR_REGRESSION' });

    const summary = await getWith(court.app, `/v1/anchors/${EVIDENCE_CHAIN}`);
    expect(summary.statusCode).toBe(200);
    expect(summary.json()).toMatchObject({
      sourceChainId: EVIDENCE_CHAIN,
      latest: { blockNumber: 5 },
      forks: 2,
    });
    const forks = await getWith(court.app, `/v1/anchors/${EVIDENCE_CHAIN}/forks`);
    expect(forks.statusCode).toBe(200);
    const list = forks.json<{ forks: AnchorFork[] }>().forks;
    expect(list.map((f) => [f.code, f.blockNumber, f.headerHash])).toEqual([
      ['ANCHOR_CONFLICT', 5, otherHash],
      ['ANCHOR_REGRESSION', 3, input(3).headerHash],
    ]);
    expect(list[0]?.reportedBy).toEqual({ org: 'PlatformOrg', account: 'anchor-job' });
  });

  it('admits only anchor and admin keys to record, and validates the body', async () => {
    const depositor = await court.keyFor('depositor');
    expect((await postJson(court.app, '/v1/anchors', depositor, input(1))).json()).toMatchObject({
      statusCode: 403,
      code: 'FORBIDDEN',
    });
    expect((await postJson(court.app, '/v1/anchors', undefined, input(1))).statusCode).toBe(401);
    const admin = await court.keyFor('admin');
    expect((await postJson(court.app, '/v1/anchors', admin, input(1))).statusCode).toBe(201);
    const bad = await postJson(court.app, '/v1/anchors', anchorKey, {
      sourceChainId: 'a:b',
      blockNumber: -1,
      headerHash: 'sha256:00',
      extra: 1,
    });
    expect(bad.statusCode).toBe(400);
    expect(
      bad
        .json<{ fields: { path: string }[] }>()
        .fields.map((f) => f.path)
        .sort(),
    ).toEqual(['/blockNumber', '/extra', '/headerHash', '/sourceChainId']);
  });

  it('documents the anchor routes in the OpenAPI document', async () => {
    const doc = (await getWith(court.app, '/openapi.json')).json<{ paths: object }>();
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/v1/anchors',
        '/v1/anchors/{sourceChainId}',
        '/v1/anchors/{sourceChainId}/forks',
        '/v1/anchoring/status',
        '/v1/anchoring/trust',
        '/v1/receipts/upgrade',
      ]),
    );
  });

  it('answers 404 for a chain never anchored, on both reads, and 400 for a bad chain id', async () => {
    for (const url of ['/v1/anchors/never-anchored', '/v1/anchors/never-anchored/forks']) {
      expect((await getWith(court.app, url)).json(), url).toMatchObject({
        statusCode: 404,
        code: 'NOT_FOUND',
      });
    }
    expect((await getWith(court.app, '/v1/anchors/-bad')).statusCode).toBe(400);
  });

  it('lists no forks (200) for a chain anchored without a contradiction', async () => {
    await postJson(court.app, '/v1/anchors', anchorKey, input(5));
    const forks = await getWith(court.app, `/v1/anchors/${EVIDENCE_CHAIN}/forks`);
    expect(forks.statusCode).toBe(200);
    expect(forks.json()).toEqual({ sourceChainId: EVIDENCE_CHAIN, forks: [] });
  });

  it('never repeats a chain id from the URL that is not on record (a phone or ID number)', async () => {
    for (const typed of ['13800138000', '11010519491231002X']) {
      for (const url of [`/v1/anchors/${typed}`, `/v1/anchors/${typed}/forks`]) {
        const response = await getWith(court.app, url);
        expect(response.statusCode, url).toBe(404);
        expect(response.json()).toMatchObject({ code: 'NOT_FOUND' });
        expect(response.body).not.toContain(typed);
      }
    }
  });
});

describe('anchoring job and receipt upgrade on the evidence node', () => {
  let court: Node;
  let evidence: Node;
  let courtDown = false;
  let depositor: string;

  beforeEach(async () => {
    courtDown = false;
    court = await startApp('CourtOrg', COURT_CHAIN);
    const anchorKey = await court.keyFor('anchor', 'PlatformOrg', 'anchor-job');
    evidence = await startApp('PlatformOrg', EVIDENCE_CHAIN, {
      config: {
        // Anchor on every new block, retry quickly, and never on the timer alone during a test.
        anchorEveryBlocks: 1,
        anchorIntervalMs: 3_600_000,
        anchorBackoffMinMs: 10,
        anchorBackoffMaxMs: 20,
      },
      targets: () => [
        createHttpTarget(
          { name: 'court', kind: 'http', url: 'http://court.test', apiKey: anchorKey },
          {
            timeoutMs: 5_000,
            fetch: injectFetch(
              () => court.app,
              () => courtDown,
            ),
          },
        ),
      ],
    });
    depositor = await evidence.keyFor('depositor', 'PlatformOrg', 'lawyer-1');
  });
  afterEach(async () => {
    await evidence.close();
    await court.close();
  });

  async function deposit(content: string): Promise<Receipt> {
    const response = await postJson(
      evidence.app,
      '/v1/evidence',
      depositor,
      itemFor(Buffer.from(content)),
    );
    expect(response.statusCode).toBe(201);
    return response.json<{ receipt: Receipt }>().receipt;
  }

  async function status(): Promise<AnchoringStatus> {
    const admin = await evidence.keyFor('admin');
    const response = await getWith(evidence.app, '/v1/anchoring/status', admin);
    expect(response.statusCode).toBe(200);
    return response.json<AnchoringStatus>();
  }

  const bothTrusts = (): TrustFile => mergeTrust(evidence.ledger.trust(), court.ledger.trust());

  it('anchors the tip, upgrades a receipt whose anchor then verifies offline', async () => {
    const receipt = await deposit('contract page 1');
    await deposit('contract page 2');
    await evidence.app.anchoring.runOnce();
    const tip = (await evidence.ledger.info()).height - 1;
    const shown = await status();
    expect(shown).toMatchObject({ sourceChainId: EVIDENCE_CHAIN, tipBlock: tip, everyBlocks: 1 });
    expect(shown.targets).toEqual([
      expect.objectContaining({
        name: 'court',
        kind: 'http',
        targetChainId: COURT_CHAIN,
        trustPinned: true,
        lastAnchoredBlock: tip,
        blocksBehind: 0,
        consecutiveFailures: 0,
        lastErrorCode: null,
        nextAttemptAt: null,
      }),
    ]);

    // The age of the last anchor is a Prometheus gauge too.
    const metrics = await getWith(evidence.app, '/metrics');
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toMatch(/^evidence_last_anchor_age_seconds\{target="court"\} \d/m);

    const upgraded = await postJson(evidence.app, '/v1/receipts/upgrade', depositor, receipt);
    expect(upgraded.statusCode).toBe(200);
    const anchored = upgraded.json<Receipt>();
    const { anchors, ...rest } = anchored;
    expect(rest).toEqual(receipt);
    expect(anchors).toHaveLength(1);
    expect(anchors?.[0]).toMatchObject({
      kind: 'embedded-anchor',
      targetChainId: COURT_CHAIN,
      anchorTx: { result: { anchor: { sourceChainId: EVIDENCE_CHAIN, blockNumber: tip } } },
    });
    expect(anchors?.[0]?.headers.map((h) => h.number)).toEqual(
      Array.from(
        { length: tip - receipt.ledger.blockNumber },
        (_, i) => receipt.ledger.blockNumber + 1 + i,
      ),
    );
    const verdict = verifyReceipt(anchored, bothTrusts(), {
      fileDigests: digestBytes(Buffer.from('contract page 1')),
      requireAnchors: [COURT_CHAIN],
    });
    expect(verdict.verdict).toBe('VERIFIED');
    expect(verdict.anchors.map((a) => a.targetChainId)).toEqual([COURT_CHAIN]);
    // Without the court's trust, the anchor vouches for nothing.
    expect(verifyReceipt(anchored, evidence.ledger.trust()).code).toBe('ANCHOR_UNTRUSTED');

    // Upgrading again adds nothing: the court chain already vouches in the receipt.
    const again = await postJson(evidence.app, '/v1/receipts/upgrade', depositor, anchored);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual(anchored);
  });

  it('does not anchor a tip that has not moved', async () => {
    await deposit('one');
    await evidence.app.anchoring.runOnce();
    const height = (await court.ledger.info()).height;
    await evidence.app.anchoring.runOnce();
    await evidence.app.anchoring.runOnce();
    expect((await court.ledger.info()).height).toBe(height);
  });

  it('answers 404 ANCHOR_PENDING until an anchor covers the block', async () => {
    await evidence.app.anchoring.runOnce();
    const receipt = await deposit('late');
    const pending = await postJson(evidence.app, '/v1/receipts/upgrade', depositor, receipt);
    expect(pending.statusCode).toBe(404);
    expect(pending.json()).toMatchObject({ code: 'ANCHOR_PENDING' });
    await evidence.app.anchoring.runOnce();
    expect(
      (await postJson(evidence.app, '/v1/receipts/upgrade', depositor, receipt)).statusCode,
    ).toBe(200);
  });

  it('refuses receipts that are malformed, of another chain, or do not verify (400 RECEIPT_MALFORMED)', async () => {
    const receipt = await deposit('x');
    await evidence.app.anchoring.runOnce();
    const malformed = await postJson(evidence.app, '/v1/receipts/upgrade', depositor, {
      ...receipt,
      version: 2,
    });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json()).toMatchObject({
      code: 'RECEIPT_MALFORMED',
      fields: [expect.objectContaining({ path: '/version' })],
    });
    const forged = structuredClone(receipt) as { inclusion: { root: string } };
    forged.inclusion.root = otherHash;
    expect(
      (await postJson(evidence.app, '/v1/receipts/upgrade', depositor, forged)).json(),
    ).toMatchObject({
      statusCode: 400,
      code: 'RECEIPT_MALFORMED',
      fields: [{ rule: 'INCLUSION_INVALID' }],
    });
    const courtReceipt = structuredClone(receipt) as { ledger: { chainId: string } };
    courtReceipt.ledger.chainId = COURT_CHAIN;
    expect(
      (await postJson(evidence.app, '/v1/receipts/upgrade', depositor, courtReceipt)).json(),
    ).toMatchObject({ code: 'RECEIPT_MALFORMED', fields: [{ path: '/ledger/chainId' }] });
    expect(
      (await postJson(evidence.app, '/v1/receipts/upgrade', undefined, receipt)).statusCode,
    ).toBe(401);
  });

  it('backs off while the target is down and resumes without a gap when it is back', async () => {
    const before = await deposit('before');
    await evidence.app.anchoring.runOnce();
    courtDown = true;
    const during = [await deposit('during 1'), await deposit('during 2')];
    await evidence.app.anchoring.runOnce();
    let shown = (await status()).targets[0];
    expect(shown).toMatchObject({
      consecutiveFailures: 1,
      lastErrorCode: 'LEDGER_UNAVAILABLE',
      lastAnchoredBlock: before.ledger.blockNumber,
    });
    expect(shown?.nextAttemptAt).not.toBeNull();
    expect(shown?.blocksBehind).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 30));
    await evidence.app.anchoring.runOnce();
    expect((await status()).targets[0]?.consecutiveFailures).toBe(2);

    courtDown = false;
    await new Promise((resolve) => setTimeout(resolve, 30));
    await evidence.app.anchoring.runOnce();
    const tip = (await evidence.ledger.info()).height - 1;
    shown = (await status()).targets[0];
    expect(shown).toMatchObject({ consecutiveFailures: 0, lastAnchoredBlock: tip });
    for (const receipt of [before, ...during]) {
      const upgraded = await postJson(evidence.app, '/v1/receipts/upgrade', depositor, receipt);
      expect(upgraded.statusCode).toBe(200);
      expect(verifyReceipt(upgraded.json(), bothTrusts(), { requireAnchors: true }).verdict).toBe(
        'VERIFIED',
      );
    }
  });

  it('serves what it pinned for its targets to anyone, and nothing on a node without targets', async () => {
    await deposit('pinned');
    await evidence.app.anchoring.runOnce();
    const response = await getWith(evidence.app, '/v1/anchoring/trust');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      type: 'judicial-evidence-trust',
      version: 1,
      chains: court.ledger.trust().chains,
    });
    const plain = await getWith(court.app, '/v1/anchoring/trust');
    expect(plain.json()).toEqual({ type: 'judicial-evidence-trust', version: 1, chains: [] });
  });

  it('shows the status to admins and auditors only', async () => {
    expect((await getWith(evidence.app, '/v1/anchoring/status', depositor)).json()).toMatchObject({
      statusCode: 403,
      code: 'FORBIDDEN',
    });
    const auditor = await evidence.keyFor('auditor');
    expect((await getWith(evidence.app, '/v1/anchoring/status', auditor)).statusCode).toBe(200);
    expect((await getWith(evidence.app, '/v1/anchoring/status')).statusCode).toBe(401);
  });

  it('keeps the anchors in its own store across a restart, and leaves no timer after closing', async () => {
    const receipt = await deposit('kept');
    await evidence.app.anchoring.runOnce();
    await evidence.app.close();
    const timers = process
      .getActiveResourcesInfo()
      .filter((resource) => resource === 'Timeout').length;
    // A new app on the same data directory, with the court unreachable: the upgrade still works.
    courtDown = true;
    const config = loadConfig({}, { dataDir: evidence.dir, org: 'PlatformOrg' });
    const app = buildApp(config, {
      ledger: evidence.ledger,
      keys: evidence.keys,
      anchoring: {
        targets: [
          createHttpTarget(
            { name: 'court', kind: 'http', url: 'http://court.test', apiKey: 'ek_unused' },
            {
              timeoutMs: 1_000,
              fetch: injectFetch(
                () => court.app,
                () => courtDown,
              ),
            },
          ),
        ],
      },
    });
    await app.ready();
    try {
      const upgraded = await app.inject({
        method: 'POST',
        url: '/v1/receipts/upgrade',
        headers: { 'content-type': 'application/json', ...bearer(depositor) },
        payload: JSON.stringify(receipt),
      });
      expect(upgraded.statusCode).toBe(200);
      expect(verifyReceipt(upgraded.json(), bothTrusts(), { requireAnchors: true }).verdict).toBe(
        'VERIFIED',
      );
    } finally {
      await app.close();
    }
    expect(
      process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length,
    ).toBeLessThanOrEqual(timers);
    // evidence.close() closes its (already closed) app again, then the ledger.
  });
});
