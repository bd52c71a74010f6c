/**
 * The documents the node issues: the deposit certificate (depositor's own, or court/admin) and the
 * compliance dossier (admin), JSON and PDF, on the real embedded ledger with a real audit log.
 */

import { writeFileSync } from 'node:fs';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestBytes } from '../../core/digest';
import { parseComplianceDossier, type ComplianceDossier } from '../../core/dossier';
import type { Receipt } from '../../core/receipt';
import { certificateNumber } from '../../documents/certificate';
import { buildCodeDigest } from '../../documents/code-digest';
import type { AnchoringStatus } from '../../gateway/anchoring/anchoring';
import { buildApp } from '../../gateway/app';
import { openAuditLog, type AuditLog } from '../../gateway/audit/audit-log';
import type { KeyRole, KeyStore } from '../../gateway/auth/api-keys';
import type { Config } from '../../gateway/config';
import { createDossierBuilder } from '../../gateway/dossier';
import type { Ledger } from '../../gateway/ledger/ledger';
import { openEmbeddedLedger } from '../../gateway/ledger/embedded-ledger';
import { threadedPdfRenderer } from '../../gateway/pdf/pdf-renderer';
import { ensureBuilt } from '../support/build';
import { pdfPages, pdfText, squash } from '../documents/pdf-tools';
import { bearer, getWith, itemFor, postJson, tempDir, testNodeBase } from './helpers';

const PUBLIC_URL = 'https://evidence.example-court.cn';
const NODE_NAME = '某某市中级人民法院存证节点';

interface Node {
  app: FastifyInstance;
  ledger: Ledger;
  keys: KeyStore;
  audit?: AuditLog;
  config: Config;
  dir: string;
  admin: string;
  key(role: KeyRole, account: string): Promise<string>;
  close(): Promise<void>;
}

async function startNode(options: { audit: boolean; config?: Partial<Config> }): Promise<Node> {
  ensureBuilt();
  const dir = await tempDir('documents-');
  const { config, keys, adminKey } = await testNodeBase(dir, options.config);
  const ledger = await openEmbeddedLedger({ dataDir: dir, org: config.org });
  const audit = options.audit
    ? await openAuditLog({ dataDir: dir, retentionDays: config.auditRetentionDays })
    : undefined;
  // PDFs rendered as the node renders them: on a thread of their own (the compiled script).
  const pdf = threadedPdfRenderer(path.resolve('dist/gateway/pdf/pdf-thread.js'));
  const app = buildApp(config, { ledger, keys, pdf, ...(audit ? { audit } : {}) });
  await app.ready();
  return {
    app,
    ledger,
    keys,
    ...(audit ? { audit } : {}),
    config,
    dir,
    admin: adminKey,
    key: async (role, account) => (await keys.create({ org: 'PlatformOrg', account, role })).key,
    close: async () => {
      await app.close();
      await audit?.close();
      await ledger.close();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

async function deposit(node: Node, key: string, content: Buffer): Promise<Receipt> {
  const response = await postJson(node.app, '/v1/evidence', key, itemFor(content));
  expect([200, 201]).toContain(response.statusCode);
  return (response.json() as { receipt: Receipt }).receipt;
}

function savePdf(node: Node, name: string, body: Buffer): string {
  const file = path.join(node.dir, name);
  writeFileSync(file, body);
  return file;
}

describe('GET /v1/evidence/:digest/certificate.pdf', () => {
  let node: Node;
  let alice: string;
  let bob: string;
  const content = Buffer.from('loan contract, scanned 2026-11-28\n');
  const digest = digestBytes(content).sha256;
  let receipt: Receipt;

  beforeAll(async () => {
    node = await startNode({
      audit: false,
      config: { publicUrl: PUBLIC_URL, nodeName: NODE_NAME },
    });
    alice = await node.key('depositor', 'alice-01');
    bob = await node.key('depositor', 'bob-02');
    receipt = await deposit(node, alice, content);
  });
  afterAll(async () => node.close());

  it("gives the depositor the certificate of their receipt, with the node's name and page", async () => {
    const response = await getWith(node.app, `/v1/evidence/${digest}/certificate.pdf`, alice);
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/pdf');
    expect(response.headers['content-disposition']).toBe(
      `attachment; filename="certificate-${certificateNumber(receipt)}.pdf"`,
    );
    expect(response.headers['cache-control']).toBe('no-store');
    const file = savePdf(node, 'certificate.pdf', response.rawPayload);
    expect(pdfPages(file)).toBe(1);
    const text = pdfText(file);
    expect(text).toContain('存证证书');
    expect(text).toContain(certificateNumber(receipt));
    expect(text).toContain(NODE_NAME);
    expect(squash(text)).toContain(`${PUBLIC_URL}/verify?digest=${digest}`);
    expect(text).not.toContain('alice-01');
  });

  it("refuses another depositor's evidence with 403 FORBIDDEN", async () => {
    const response = await getWith(node.app, `/v1/evidence/${digest}/certificate.pdf`, bob);
    expect(response.statusCode).toBe(403);
    expect(response.json()).toMatchObject({ code: 'FORBIDDEN' });
  });

  it('gives a court and an admin the certificate of the first deposit', async () => {
    const court = await node.key('court', 'judge-01');
    for (const key of [court, node.admin]) {
      const response = await getWith(node.app, `/v1/evidence/${digest}/certificate.pdf`, key);
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-disposition']).toContain(certificateNumber(receipt));
    }
  });

  it('gives a depositor who attested the same file the certificate of their own attestation', async () => {
    const carol = await node.key('depositor', 'carol-03');
    const own = await deposit(node, carol, content);
    expect(own.record.depositor.account).toBe('carol-03');
    const response = await getWith(node.app, `/v1/evidence/${digest}/certificate.pdf`, carol);
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-disposition']).toContain(certificateNumber(own));
    expect(certificateNumber(own)).not.toBe(certificateNumber(receipt));
  });

  it('answers 404, 401 and 400 as the other evidence routes do', async () => {
    const unknown = digestBytes(Buffer.from('never deposited')).sha256;
    const missing = await getWith(node.app, `/v1/evidence/${unknown}/certificate.pdf`, alice);
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ code: 'EVIDENCE_NOT_FOUND' });
    const anonymous = await getWith(node.app, `/v1/evidence/${digest}/certificate.pdf`);
    expect(anonymous.statusCode).toBe(401);
    const bad = await getWith(node.app, '/v1/evidence/sha256:xyz/certificate.pdf', alice);
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
  });
});

describe('GET /v1/admin/dossier and /v1/admin/dossier.pdf', () => {
  let node: Node;
  let depositor: string;

  beforeAll(async () => {
    node = await startNode({ audit: true, config: { nodeName: NODE_NAME } });
    depositor = await node.key('depositor', 'lawyer-1');
    for (let i = 0; i < 3; i++) await deposit(node, depositor, Buffer.from(`file ${i}`));
    // The same file again, and by someone else: still three records.
    await deposit(node, depositor, Buffer.from('file 0'));
    await deposit(node, await node.key('platform', 'platform-1'), Buffer.from('file 1'));
    await node.audit?.flush();
  });
  afterAll(async () => node.close());

  it('states the node, its algorithms, software, chain, anchors and audit log', async () => {
    const response = await getWith(node.app, '/v1/admin/dossier', node.admin);
    expect(response.statusCode).toBe(200);
    expect(response.headers['cache-control']).toBe('no-store');
    const dossier = parseComplianceDossier(response.json()) as ComplianceDossier;
    const info = await node.ledger.info();
    const trust = node.ledger.trust().chains[0];
    expect(dossier.node).toEqual({
      name: NODE_NAME,
      chainId: node.ledger.chainId,
      ledger: 'embedded',
      keys: [{ keyId: trust?.keys[0]?.keyId, algorithm: 'ed25519' }],
    });
    expect(dossier.organisations).toEqual([
      { name: node.config.org, role: 'operator', mspId: node.config.org },
    ]);
    const inUse = Object.fromEntries(dossier.algorithms.map((a) => [a.id, a.inUse]));
    expect(inUse).toEqual({
      sha256: true,
      sm3: true,
      merkle: true,
      'canonical-json': true,
      ed25519: true,
      'ecdsa-p256-sha256': false,
      sm2: false,
      rfc3161: false,
    });
    expect(dossier.software).toMatchObject({
      name: 'judicial-evidence-node',
      node: process.versions.node,
      openssl: process.versions.openssl,
    });
    // Run from the sources: no build to fingerprint.
    expect(dossier.software.codeDigest).toBeUndefined();
    expect(dossier.chain).toEqual({
      chainId: info.chainId,
      height: info.height,
      tipHash: info.tipHash,
      tipTime: info.tipTime,
      records: 3,
    });
    expect(dossier.anchors).toEqual([]);
    const audit = dossier.audit as { entries: number; headDigest?: string; from?: string };
    expect(audit.entries).toBeGreaterThanOrEqual(5);
    expect(audit.headDigest).toBe((await node.audit?.status())?.head.hash);
    expect(typeof audit.from).toBe('string');
    // This node has no backup directory.
    expect(dossier.backups).toEqual({ configured: false });
  });

  it('renders the same dossier as a PDF', async () => {
    const response = await getWith(node.app, '/v1/admin/dossier.pdf', node.admin);
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/pdf');
    expect(response.headers['content-disposition']).toMatch(
      new RegExp(
        `^attachment; filename="dossier-${node.ledger.chainId}-\\d{4}-\\d{2}-\\d{2}\\.pdf"$`,
      ),
    );
    const text = pdfText(savePdf(node, 'dossier.pdf', response.rawPayload));
    expect(text).toContain('电子数据存证平台合规说明');
    expect(text).toContain(NODE_NAME);
    expect(text).toContain('RFC 8032');
  });

  it('is for admins only', async () => {
    for (const url of ['/v1/admin/dossier', '/v1/admin/dossier.pdf']) {
      expect((await getWith(node.app, url, depositor)).statusCode).toBe(403);
      expect((await getWith(node.app, url)).statusCode).toBe(401);
    }
  });

  it('says the audit log is not configured when the node has none', async () => {
    const bare = await startNode({ audit: false });
    try {
      const response = await bare.app.inject({
        method: 'GET',
        url: '/v1/admin/dossier',
        headers: bearer(bare.admin),
      });
      expect(response.statusCode).toBe(200);
      const dossier = response.json() as ComplianceDossier;
      expect(dossier.audit).toEqual({ configured: false });
      expect(dossier.node.name).toBe(`${bare.config.org} evidence node`);
      expect(dossier.chain.records).toBe(0);
    } finally {
      await bare.close();
    }
  });
});

describe('createDossierBuilder', () => {
  let node: Node;
  beforeAll(async () => {
    node = await startNode({ audit: false, config: { publicUrl: PUBLIC_URL } });
  });
  afterAll(async () => node.close());

  it('fingerprints the whole build once, by the documented recipe', async () => {
    const dist = await tempDir('dist-');
    await fs.mkdir(path.join(dist, 'gateway'));
    await fs.writeFile(path.join(dist, 'gateway', 'app.js'), 'exports.app = 1;\n');
    const builder = createDossierBuilder({
      config: node.config,
      ledger: node.ledger,
      distDir: dist,
    });
    const first = await builder.build();
    expect(first.software.codeDigest).toBe(await buildCodeDigest(dist));
    expect(first.node.url).toBe(PUBLIC_URL);
    await fs.writeFile(path.join(dist, 'gateway', 'app.js'), 'changed');
    expect((await builder.build()).software.codeDigest).toBe(first.software.codeDigest);
    await fs.rm(dist, { recursive: true, force: true });
  });

  it('lists anchor targets with their last anchor, and names a target whose chain is not known yet', async () => {
    const status: AnchoringStatus = {
      sourceChainId: node.ledger.chainId,
      tipBlock: 9,
      intervalMs: 60_000,
      everyBlocks: 100,
      targets: [
        {
          name: 'court',
          kind: 'http',
          targetChainId: 'court-chain',
          trustPinned: true,
          lastAnchoredBlock: 7,
          lastAnchoredAt: '2026-11-28T10:00:00.000Z',
          lastSuccessAt: '2026-11-28T10:00:01.000Z',
          ageSeconds: 5,
          blocksBehind: 2,
          consecutiveFailures: 0,
          lastErrorCode: null,
          lastErrorAt: null,
          nextAttemptAt: null,
        },
        {
          name: 'backup',
          kind: 'http',
          targetChainId: null,
          trustPinned: false,
          lastAnchoredBlock: null,
          lastAnchoredAt: null,
          lastSuccessAt: null,
          ageSeconds: null,
          blocksBehind: null,
          consecutiveFailures: 3,
          lastErrorCode: 'LEDGER_UNAVAILABLE',
          lastErrorAt: '2026-11-28T10:00:00.000Z',
          nextAttemptAt: '2026-11-28T10:01:00.000Z',
        },
      ],
    };
    const builder = createDossierBuilder({
      config: node.config,
      ledger: node.ledger,
      anchoring: async () => status,
    });
    const dossier = parseComplianceDossier(await builder.build());
    expect(dossier.anchors).toEqual([
      {
        name: 'court',
        targetChainId: 'court-chain',
        description: 'http 锚定目标 anchor target',
        intervalSeconds: 60,
        lastAnchor: { evidenceBlock: 7, time: '2026-11-28T10:00:00.000Z' },
      },
      {
        name: 'backup',
        description: 'http 锚定目标 anchor target（未固定受信任文件 / no trust file pinned）',
        intervalSeconds: 60,
      },
    ]);
  });

  it('marks a record count that stopped at its bound as a lower bound', async () => {
    const ledger: Ledger = {
      ...node.ledger,
      chainId: node.ledger.chainId,
      kind: 'embedded',
      info: () => node.ledger.info(),
      trust: () => node.ledger.trust(),
      countState: async (_prefix, limit) => ({ count: limit, complete: false }),
    };
    const dossier = await createDossierBuilder({ config: node.config, ledger }).build();
    expect(dossier.chain).toMatchObject({ records: 1_000_000, recordsLowerBound: true });
  });
});

describe('countState of the embedded ledger', () => {
  it('counts keys under a prefix, up to a bound', async () => {
    const node = await startNode({ audit: false });
    try {
      const key = await node.key('depositor', 'counter');
      for (let i = 0; i < 5; i++) await deposit(node, key, Buffer.from(`count ${i}`));
      expect(await node.ledger.countState?.('evidence:', 100)).toEqual({
        count: 5,
        complete: true,
      });
      expect(await node.ledger.countState?.('evidence:', 5)).toEqual({ count: 5, complete: true });
      expect(await node.ledger.countState?.('evidence:', 3)).toEqual({ count: 3, complete: false });
      expect(await node.ledger.countState?.('nothing-here:', 3)).toEqual({
        count: 0,
        complete: true,
      });
    } finally {
      await node.close();
    }
  });
});
