import { describe, expect, it } from 'vitest';
import { isEvidenceError } from '../../core/errors';
import {
  KNOWN_ALGORITHMS,
  parseComplianceDossier,
  type ComplianceDossier,
} from '../../core/dossier';
import { renderDossierPdf } from '../../documents/dossier';
import { pdfInfo, pdfPages, pdfText, rasterise, squash, writeArtifact } from './pdf-tools';

const TIP = `sha256:${'ab'.repeat(32)}`;
const CODE = `sha256:${'c0de'.repeat(16)}`;
const KEY = `sha256:${'4b'.repeat(32)}` as const;
const HEAD = `sha256:${'ee'.repeat(32)}` as const;

const dossier: ComplianceDossier = {
  type: 'judicial-evidence-compliance-dossier',
  version: 1,
  generatedAt: '2026-12-01T00:00:00.000Z',
  node: {
    name: '某某市中级人民法院存证节点',
    chainId: 'evidence-chain',
    ledger: 'embedded',
    url: 'https://node.example-court.cn',
    keys: [{ keyId: KEY, algorithm: 'ed25519', notBefore: '2026-01-01T00:00:00Z' }],
  },
  organisations: [
    { name: '某某市中级人民法院', role: 'court', creditCode: '11100000000013127D' },
    { name: '某某公证处', role: 'notary', mspId: 'NotaryMSP' },
    { name: '某某电子合同平台', role: 'platform' },
  ],
  algorithms: KNOWN_ALGORITHMS.map((a) => ({
    ...a,
    inUse: a.id !== 'sm2' && a.id !== 'ecdsa-p256-sha256',
  })),
  software: {
    name: 'judicial-evidence-node',
    version: '0.1.0',
    codeDigest: CODE as `sha256:${string}`,
    node: '20.19.0',
    openssl: '3.0.15',
  },
  chain: {
    chainId: 'evidence-chain',
    height: 12_345,
    tipHash: TIP as `sha256:${string}`,
    tipTime: '2026-11-30T23:59:00.000Z',
    records: 98_765,
    transactions: 4_321,
  },
  anchors: [
    {
      targetChainId: 'court-chain',
      description: '法院司法链 court judicial chain',
      intervalSeconds: 600,
      lastAnchor: {
        evidenceBlock: 12_340,
        targetBlock: 777,
        txId: 'f'.repeat(64),
        time: '2026-11-30T23:50:00.000Z',
      },
    },
    { targetChainId: 'backup-chain' },
  ],
  audit: {
    from: '2026-11-01T00:00:00Z',
    to: '2026-11-30T23:59:59Z',
    entries: 100_000,
    failures: 12,
    byAction: { deposit: 99_000, annotate: 988 },
    headDigest: HEAD,
  },
};

describe('renderDossierPdf', () => {
  it('renders identities, algorithms with their standards, software, chain, anchors and audit', async () => {
    const path = writeArtifact('dossier.pdf', await renderDossierPdf(dossier));
    expect(pdfPages(path)).toBeGreaterThanOrEqual(1);
    expect(rasterise(path).bytes).toBeGreaterThan(20_000);
    const text = pdfText(path);
    const flat = squash(text);
    expect(text).toContain('电子数据存证平台合规说明');
    expect(text).toContain('某某市中级人民法院存证节点');
    expect(text).toContain('11100000000013127D');
    expect(text).toContain('NotaryMSP');
    for (const standard of [
      'FIPS 180-4',
      'GB/T 32905-2016',
      'RFC 8032',
      'FIPS 186-4',
      'GB/T 32918-2016',
      'RFC 9162',
    ]) {
      expect(text).toContain(standard);
    }
    expect(text).toContain('本节点未使用');
    expect(flat).toContain(CODE);
    expect(flat).toContain(TIP);
    expect(flat).toContain(KEY);
    expect(flat).toContain(HEAD);
    expect(text).toContain('12,345');
    expect(text).toContain('98,765');
    expect(text).toContain('court-chain');
    expect(text).toContain('#777');
    expect(text).toContain('尚未锚定');
    expect(text).toContain('deposit 99,000');
  });

  it('is byte-identical for the same dossier, dated by generatedAt', async () => {
    const a = await renderDossierPdf(dossier);
    const b = await renderDossierPdf(JSON.parse(JSON.stringify(dossier)) as ComplianceDossier);
    expect(a.equals(b)).toBe(true);
    expect(pdfInfo(writeArtifact('dossier-again.pdf', a)).CreationDate).toBe(
      '2026-12-01T00:00:00Z',
    );
  });

  it('runs onto further pages when the dossier is long', async () => {
    const long: ComplianceDossier = {
      ...dossier,
      organisations: Array.from({ length: 60 }, (_, i) => ({
        name: `参与机构 ${i + 1}`,
        role: 'platform' as const,
      })),
    };
    const path = writeArtifact('dossier-long.pdf', await renderDossierPdf(long));
    expect(pdfPages(path)).toBeGreaterThan(1);
    expect(pdfText(path)).toContain('参与机构 60');
  });

  it('says when the node keeps no audit log, has no anchors, or cannot count its records', async () => {
    const bare: ComplianceDossier = {
      ...dossier,
      chain: { chainId: 'evidence-chain', height: 3, tipHash: dossier.chain.tipHash },
      anchors: [],
      audit: { configured: false },
    };
    const text = pdfText(writeArtifact('dossier-bare.pdf', await renderDossierPdf(bare)));
    expect(text).toContain('未配置 / not configured');
    expect(text).toContain('未配置 / none configured');
    expect(text).toContain('不可用 / not available');
  });

  it('states the backup policy and the last backup, or that backups are not configured', async () => {
    const backedUp: ComplianceDossier = {
      ...dossier,
      backups: {
        intervalSeconds: 86_400,
        keep: 7,
        completed: 7,
        last: {
          finishedAt: '2026-11-30T02:00:00.000Z',
          height: 12_300,
          verifiedBlocks: 12_300,
          tipHash: TIP as `sha256:${string}`,
        },
      },
    };
    const text = pdfText(writeArtifact('dossier-backups.pdf', await renderDossierPdf(backedUp)));
    expect(text).toContain('八、数据备份');
    expect(text).toContain('every 86,400 s');
    expect(text).toContain('newest 7 kept');
    expect(text).toContain('12,300 blocks, 12,300 verified');
    expect(squash(text)).toContain(squash(TIP));
    const none = pdfText(
      writeArtifact(
        'dossier-no-backups.pdf',
        await renderDossierPdf({ ...dossier, backups: { configured: false } }),
      ),
    );
    expect(none).toContain('八、数据备份');
    // A dossier of an earlier node, without the part, renders without the section.
    expect(pdfText(writeArtifact('dossier.pdf', await renderDossierPdf(dossier)))).not.toContain(
      '数据备份',
    );
  });

  it('marks a record count that stopped at a bound as a lower bound', async () => {
    const capped: ComplianceDossier = {
      ...dossier,
      chain: { ...dossier.chain, records: 5_000_000, recordsLowerBound: true },
    };
    const text = pdfText(writeArtifact('dossier-capped.pdf', await renderDossierPdf(capped)));
    expect(text).toContain('≥ 5,000,000');
  });

  it('says when the store was rebuilt from a replica, and when the node holds proof of a fork', async () => {
    const told: ComplianceDossier = {
      ...dossier,
      chain: {
        ...dossier.chain,
        promoted: {
          height: 12_000,
          tipHash: TIP as `sha256:${string}`,
          at: '2026-11-20T08:00:00.000Z',
        },
        forked: { block: 11_999, detectedAt: '2026-11-19T10:00:00.000Z' },
      },
    };
    const text = squash(
      pdfText(writeArtifact('dossier-rebuilt.pdf', await renderDossierPdf(told))),
    );
    expect(text).toContain(squash('由副本重建'));
    expect(text).toContain(squash('the replica held 12,000 blocks'));
    expect(text).toContain(squash('分叉证明'));
    expect(text).toContain(squash("the chain's key signed two different blocks 11999"));
    // Without them, neither line.
    const plain = squash(
      pdfText(writeArtifact('dossier-plain.pdf', await renderDossierPdf(dossier))),
    );
    expect(plain).not.toContain(squash('由副本重建'));
    expect(plain).not.toContain(squash('分叉证明'));
  });

  it('refuses an invalid dossier, naming every bad field', async () => {
    const bad = {
      ...dossier,
      version: 2,
      chain: { ...dossier.chain, height: -1 },
      extra: true,
    } as unknown as ComplianceDossier;
    const error = await renderDossierPdf(bad).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isEvidenceError(error) && error.code).toBe('VALIDATION_FAILED');
    const paths = isEvidenceError(error) ? (error.fields ?? []).map((f) => f.path) : [];
    expect(paths).toEqual(expect.arrayContaining(['/version', '/chain/height', '/extra']));
  });
});

describe('parseComplianceDossier', () => {
  it('accepts the minimal dossier', () => {
    const minimal = {
      type: 'judicial-evidence-compliance-dossier',
      version: 1,
      generatedAt: '2026-12-01T00:00:00Z',
      node: { name: 'n', chainId: 'c', ledger: 'fabric', keys: [] },
      organisations: [],
      algorithms: [],
      software: { name: 's', version: '1' },
      chain: { chainId: 'c', height: 0, tipHash: TIP, records: 0 },
      anchors: [],
      audit: { entries: 0 },
    };
    expect(parseComplianceDossier(minimal)).toBe(minimal);
  });

  it('takes backups configured or not, and refuses anything else in their place', () => {
    const base = JSON.parse(JSON.stringify(dossier)) as Record<string, unknown>;
    for (const backups of [
      { configured: false },
      { completed: 0 },
      {
        completed: 2,
        keep: 2,
        last: { finishedAt: '2026-11-30T02:00:00Z', height: 3, verifiedBlocks: 3 },
      },
    ]) {
      expect(() => parseComplianceDossier({ ...base, backups })).not.toThrow();
    }
    for (const backups of [
      { configured: true },
      { completed: -1 },
      { completed: 1, path: '/x' },
      {},
    ]) {
      expect(() => parseComplianceDossier({ ...base, backups }), JSON.stringify(backups)).toThrow(
        /compliance dossier/,
      );
    }
  });

  it('takes an audit log that is not configured, and nothing else in its place', () => {
    const base = JSON.parse(JSON.stringify(dossier)) as Record<string, unknown>;
    expect(() => parseComplianceDossier({ ...base, audit: { configured: false } })).not.toThrow();
    for (const audit of [{ configured: true }, { configured: false, entries: 1 }, {}]) {
      expect(() => parseComplianceDossier({ ...base, audit })).toThrow(/compliance dossier/);
    }
  });
});
