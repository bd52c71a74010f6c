/**
 * The document-writing commands through main(): `verify --report`, `certificate`, `dossier`. The
 * PDFs are read back with Poppler (test/documents/pdf-tools.ts), as a court's reader would.
 */

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { digestBytes } from '../../core/digest';
import { KNOWN_ALGORITHMS, type ComplianceDossier } from '../../core/dossier';
import type { Receipt } from '../../core/receipt';
import { certificateNumber } from '../../documents/certificate';
import { pdfPages, pdfText, squash } from '../documents/pdf-tools';
import { makeFixture } from '../support/receipt-factory';
import { forbiddenFetch, runCli, startServer, tempDir, type TestServer } from './cli-harness';

const temp = tempDir();
afterAll(() => temp.cleanup());

const content = Buffer.from('mediation agreement, signed 2026-11-28\n');
const fixture = makeFixture([content, Buffer.from('another file of the batch')], {
  depositor: { org: 'PlatformOrg', account: 'lawyer-zhang-01' },
});
const receipt = fixture.receipts[0] as Receipt;
const digests = digestBytes(content);
const NAME = '张三丰';
const PUBLIC = 'https://node.example-court.cn/verify';

temp.write('agreement.pdf', content);
temp.write('changed.pdf', Buffer.from('mediation agreement, signed 2026-11-29\n'));
temp.write('agreement.receipt.json', JSON.stringify(receipt));
temp.write('trust.json', JSON.stringify(fixture.trust));
temp.write('not-json.json', '{ nope');
temp.write('not-a-receipt.json', JSON.stringify({ type: 'something else' }));

const verifyArgs = [
  'verify',
  'agreement.pdf',
  '--receipt',
  'agreement.receipt.json',
  '--trust',
  'trust.json',
];

describe('evidence verify --report', () => {
  it('writes the PDF report of a VERIFIED file, masked, with the QR code URL, offline', async () => {
    const fetch = forbiddenFetch();
    const run = await runCli(
      [
        ...verifyArgs,
        '--report',
        'report.pdf',
        '--depositor-name',
        NAME,
        '--public-url',
        PUBLIC,
        '--json',
      ],
      { cwd: temp.dir, fetch },
    );
    expect(run.status).toBe(0);
    expect(fetch.calls).toHaveLength(0);
    expect(run.json()).toMatchObject({
      verdict: 'VERIFIED',
      report: { path: 'report.pdf', format: 'pdf' },
    });
    const path = join(temp.dir, 'report.pdf');
    expect(pdfPages(path)).toBe(1);
    const text = pdfText(path);
    const flat = squash(text);
    expect(text).toContain('核验通过');
    expect(flat).toContain(digests.sha256);
    expect(flat).toContain(`${PUBLIC}?digest=${digests.sha256}`);
    expect(text).toContain('张某');
    expect(text).not.toContain(NAME);
    expect(text).not.toContain('lawyer-zhang-01');
    // Run from the sources: there is no build to fingerprint, and the report says so.
    expect(text).toContain('not run from a build');
  });

  it('writes the HTML report of a MISMATCH and exits 1', async () => {
    const run = await runCli(
      [
        'verify',
        'changed.pdf',
        '--receipt',
        'agreement.receipt.json',
        '--trust',
        'trust.json',
        '--report',
        'mismatch.HTML',
      ],
      { cwd: temp.dir },
    );
    expect(run.status).toBe(1);
    expect(run.stdout).toContain('report   mismatch.HTML (html)');
    const html = readFileSync(join(temp.dir, 'mismatch.HTML'), 'utf8');
    expect(html).toContain('MISMATCH');
    expect(html).toContain('DIGEST_MISMATCH');
  });

  it('keeps an existing report unless --force, before hashing anything', async () => {
    temp.write('kept.pdf', 'an earlier report');
    const refused = await runCli([...verifyArgs, '--report', 'kept.pdf'], { cwd: temp.dir });
    expect(refused.status).toBe(2);
    expect(refused.errorCodes).toEqual(['OUTPUT_EXISTS']);
    expect(refused.stdout).toBe('');
    expect(readFileSync(join(temp.dir, 'kept.pdf'), 'utf8')).toBe('an earlier report');
    const forced = await runCli([...verifyArgs, '--report', 'kept.pdf', '--force'], {
      cwd: temp.dir,
    });
    expect(forced.status).toBe(0);
    expect(readFileSync(join(temp.dir, 'kept.pdf')).subarray(0, 5).toString()).toBe('%PDF-');
  });

  it.each([
    [['--report', 'report.docx'], '--report must name a .pdf or .html or .htm file'],
    [['--report', '.pdf'], '--report must name'],
    [['--depositor-name', NAME], '--depositor-name is used only with --report'],
    [['--public-url', PUBLIC], '--public-url is used only with --report'],
    [['--force'], '--force is used only with --report'],
    [['--report', 'r.pdf', '--public-url', 'ftp://node/verify'], '--public-url must be an http'],
    [['--report', 'r.pdf', '--public-url', 'https://node/verify#x'], 'without a #fragment'],
  ])('refuses %j as a usage error', async (extra, message) => {
    const run = await runCli([...verifyArgs, ...extra], { cwd: temp.dir });
    expect(run.status).toBe(2);
    expect(run.errorCodes).toEqual(['USAGE']);
    expect(run.stderr).toContain(message);
    expect(existsSync(join(temp.dir, 'r.pdf'))).toBe(false);
  });
});

describe('evidence certificate', () => {
  it('writes the one-page certificate of a receipt, offline', async () => {
    const fetch = forbiddenFetch();
    const run = await runCli(
      [
        'certificate',
        'agreement.receipt.json',
        '--out',
        'certificate.pdf',
        '--node-name',
        '某某市中级人民法院存证节点',
        '--public-url',
        PUBLIC,
        '--depositor-name',
        NAME,
        '--json',
      ],
      { cwd: temp.dir, fetch },
    );
    expect(run.status).toBe(0);
    expect(fetch.calls).toHaveLength(0);
    expect(run.json()).toEqual({
      receipt: 'agreement.receipt.json',
      number: certificateNumber(receipt),
      digest: digests.sha256,
      out: 'certificate.pdf',
    });
    const path = join(temp.dir, 'certificate.pdf');
    expect(pdfPages(path)).toBe(1);
    const text = pdfText(path);
    expect(text).toContain('存证证书');
    expect(text).toContain(certificateNumber(receipt));
    expect(text).toContain('某某市中级人民法院存证节点');
    expect(squash(text)).toContain(`${PUBLIC}?digest=${digests.sha256}`);
    expect(text).toContain('张某');
    expect(text).not.toContain(NAME);
  });

  it('names the organisation that submitted the deposit when no --node-name is given', async () => {
    const run = await runCli(['certificate', 'agreement.receipt.json', '--out', 'plain.pdf'], {
      cwd: temp.dir,
    });
    expect(run.status).toBe(0);
    expect(run.stdout).toBe(
      `certificate ${certificateNumber(receipt)} for ${digests.sha256}\nwrote plain.pdf\n`,
    );
    expect(pdfText(join(temp.dir, 'plain.pdf'))).toContain('NodeOrg');
  });

  it.each([
    [['certificate', 'not-a-receipt.json', '--out', 'x.pdf'], 2, 'RECEIPT_MALFORMED'],
    [['certificate', 'not-json.json', '--out', 'x.pdf'], 2, 'INVALID_JSON'],
    [['certificate', 'missing.json', '--out', 'x.pdf'], 3, 'IO_ERROR'],
    [['certificate', 'agreement.receipt.json'], 2, 'USAGE'],
    [['certificate', 'agreement.receipt.json', '--out', 'x.html'], 2, 'USAGE'],
    [['certificate', '--out', 'x.pdf'], 2, 'USAGE'],
    [['certificate', 'agreement.receipt.json', '--out', 'certificate.pdf'], 2, 'OUTPUT_EXISTS'],
  ])('refuses %j with exit %i and %s', async (argv, status, code) => {
    const run = await runCli(argv, { cwd: temp.dir });
    expect(run.status).toBe(status);
    expect(run.errorCodes).toEqual([code]);
    expect(existsSync(join(temp.dir, 'x.pdf'))).toBe(false);
  });
});

const dossier: ComplianceDossier = {
  type: 'judicial-evidence-compliance-dossier',
  version: 1,
  generatedAt: '2026-12-01T00:00:00.000Z',
  node: { name: 'NodeOrg evidence node', chainId: 'test-chain', ledger: 'embedded', keys: [] },
  organisations: [{ name: 'NodeOrg', role: 'operator', mspId: 'NodeOrg' }],
  algorithms: KNOWN_ALGORITHMS.map((a) => ({ ...a, inUse: a.id !== 'sm2' })),
  software: { name: 'judicial-evidence-node', version: '0.1.0' },
  chain: { chainId: 'test-chain', height: 8, tipHash: `sha256:${'ab'.repeat(32)}`, records: 3 },
  anchors: [],
  audit: { configured: false },
};

describe('evidence dossier', () => {
  let server: TestServer;
  let answer: { status: number; body: unknown } = { status: 200, body: dossier };

  afterAll(async () => server?.close());

  const dossierRun = async (extra: string[], env: Record<string, string> = {}) => {
    server ??= await startServer(() => answer);
    return runCli(['dossier', '--gateway', server.url, ...extra], {
      cwd: temp.dir,
      fetch: (...args) => globalThis.fetch(...args),
      env,
    });
  };

  it('fetches the dossier with the admin key and saves the JSON as the node gave it', async () => {
    answer = { status: 200, body: dossier };
    const run = await dossierRun(['--key', 'ek_admin', '--out', 'dossier.json', '--json']);
    expect(run.status).toBe(0);
    expect(run.json()).toEqual({
      gateway: `${server.url}/`,
      out: 'dossier.json',
      format: 'json',
      generatedAt: dossier.generatedAt,
      chainId: 'test-chain',
    });
    const request = server.requests.at(-1);
    expect(request?.method).toBe('GET');
    expect(request?.url).toBe('/v1/admin/dossier');
    expect(request?.headers.authorization).toBe('Bearer ek_admin');
    expect(JSON.parse(readFileSync(join(temp.dir, 'dossier.json'), 'utf8'))).toEqual(dossier);
  });

  it('renders the PDF, taking the key from EVIDENCE_API_KEY', async () => {
    answer = { status: 200, body: dossier };
    const run = await dossierRun(['--out', 'dossier.pdf'], { EVIDENCE_API_KEY: 'ek_env' });
    expect(run.status).toBe(0);
    expect(server.requests.at(-1)?.headers.authorization).toBe('Bearer ek_env');
    const text = pdfText(join(temp.dir, 'dossier.pdf'));
    expect(text).toContain('电子数据存证平台合规说明');
    expect(text).toContain('NodeOrg evidence node');
    expect(text).toContain('未配置 / not configured');
  });

  it('refuses an answer that is not a valid dossier, and writes nothing', async () => {
    answer = { status: 200, body: { ...dossier, version: 2 } };
    const run = await dossierRun(['--key', 'k', '--out', 'bad.json']);
    expect(run.status).toBe(3);
    expect(run.errorCodes).toEqual(['GATEWAY_RESPONSE_INVALID']);
    expect(run.stderr).toContain('/version');
    expect(existsSync(join(temp.dir, 'bad.json'))).toBe(false);
  });

  it("passes the gateway's refusal of a non-admin key on as FORBIDDEN (exit 2)", async () => {
    answer = {
      status: 403,
      body: { statusCode: 403, code: 'FORBIDDEN', message: 'role depositor may not do this' },
    };
    const run = await dossierRun(['--key', 'k', '--out', 'refused.pdf']);
    expect(run.status).toBe(2);
    expect(run.errorCodes).toEqual(['FORBIDDEN']);
  });

  it.each([
    [['--out', 'd.pdf']],
    [['--key', 'k']],
    [['--key', 'k', '--out', 'd.txt']],
    [['--key', 'k', '--out', 'd.pdf', 'extra']],
  ])('refuses %j as a usage error without calling the gateway', async (extra) => {
    answer = { status: 200, body: dossier };
    const before = server?.requests.length ?? 0;
    const run = await dossierRun(extra);
    expect(run.status).toBe(2);
    expect(run.errorCodes).toEqual(['USAGE']);
    expect(server.requests.length).toBe(before);
  });
});
