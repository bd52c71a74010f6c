import { describe, expect, it } from 'vitest';
import { digestBytes } from '../../core/digest';
import { isEvidenceError } from '../../core/errors';
import { containsPersonalData } from '../../core/masking';
import type { Receipt } from '../../core/receipt';
import { trustFingerprint } from '../../core/trust';
import { verifyReceipt } from '../../core/verify';
import {
  buildVerificationReport,
  renderVerificationReport,
  renderVerificationReportHtml,
  renderVerificationReportPdf,
  reportFormatOf,
  type VerificationReportInput,
} from '../../documents/verification-report';
import {
  makeAnchoredFixture,
  makeFixture,
  makeNodeKey,
  trustFor,
} from '../support/receipt-factory';
import { pdfPages, pdfText, rasterise, requireTool, squash, writeArtifact } from './pdf-tools';

const NAME = '张三丰';
const ID = '110105194912310025';
const PHONE = '13812345678';
const PUBLIC = 'https://evidence.example-court.cn/verify';
const content = Buffer.from('调解协议 mediation agreement, signed 2026-11-28\n');
const fixture = makeFixture([content, Buffer.from('another file of the same batch')], {
  otherTxs: 4,
});
const receipt = fixture.receipts[0] as Receipt;
const fileDigests = digestBytes(content);
const verifier = {
  name: 'judicial-evidence-node',
  version: '0.1.0',
  codeDigest: `sha256:${'c0de'.repeat(16)}`,
};

function input(overrides: Partial<VerificationReportInput> = {}): VerificationReportInput {
  const digests = overrides.file?.digests ?? fileDigests;
  return {
    verdict: verifyReceipt(receipt, fixture.trust, { fileDigests: digests }),
    file: { name: `/home/user/案件/${NAME}-${ID}-调解协议.pdf`, size: content.length, digests },
    receipt,
    trust: fixture.trust,
    trustFingerprint: trustFingerprint(fixture.trust),
    verifier,
    verifiedAt: '2026-12-01T08:30:00.000Z',
    publicVerifyUrl: PUBLIC,
    depositorName: NAME,
    ...overrides,
  };
}

/** Renders, writes test-artifacts/report/NAME.pdf, checks it is one page and rasterises. */
async function renderChecked(
  name: string,
  value: VerificationReportInput,
): Promise<{ text: string; flat: string }> {
  const pdf = await renderVerificationReportPdf(value);
  expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
  const path = writeArtifact(`${name}.pdf`, pdf);
  expect(pdfPages(path)).toBe(1);
  const png = rasterise(path);
  // A4 at 60 dpi is 496.1 x 701.6 pixels (Poppler rounds up); a blank page is well under 10 KB.
  expect(Math.abs(png.width - 496)).toBeLessThanOrEqual(1);
  expect(Math.abs(png.height - 702)).toBeLessThanOrEqual(1);
  expect(png.bytes).toBeGreaterThan(20_000);
  const text = pdfText(path);
  return { text, flat: squash(text) };
}

describe('renderVerificationReportPdf', () => {
  it('has the Poppler tools these tests read PDFs with (fails, never skips, without them)', () => {
    expect(() => {
      requireTool('pdftotext');
      requireTool('pdftoppm');
      requireTool('pdfinfo');
    }).not.toThrow();
  });

  it('reports a VERIFIED file on one page: verdict, digests, chain facts, checks, trust and verifier', async () => {
    const { text, flat } = await renderChecked('verified', input());
    expect(text).toContain('电子数据存证核验报告');
    expect(text).toContain('Electronic Evidence Verification Report');
    expect(text).toContain('核验通过');
    expect(text).toContain('VERIFIED');
    expect(flat).toContain(fileDigests.sha256);
    expect(flat).toContain(fileDigests.sm3);
    expect(flat).toContain(receipt.ledger.txId);
    expect(flat).toContain(receipt.inclusion.root);
    expect(flat).toContain(fixture.key.keyId);
    expect(flat).toContain(trustFingerprint(fixture.trust));
    expect(flat).toContain(verifier.codeDigest);
    expect(flat).toContain('judicial-evidence-node0.1.0');
    expect(text).toContain('#7');
    expect(text).toContain('2026-11-28T10:00:00.000Z');
    expect(text).toContain('北京时间 2026-11-28 18:00:00');
    expect(text).toContain('2026-12-01T08:30:00.000Z');
    expect(text).toContain('Test node');
    // Six passed checks, nothing failed.
    expect(text.match(/✓/g)?.length).toBe(6);
    expect(text).not.toContain('×');
    expect(text).toContain('无：该收据不含锚定证明');
  });

  it('names the signature algorithm as a reader knows it: Ed25519, and SM2 for an SM2 node', async () => {
    const { flat } = await renderChecked('verified-ed25519-name', input());
    expect(flat).toContain(squash('Ed25519 (RFC 8032)'));
    const sm2 = makeFixture([content], { key: makeNodeKey('sm2-sm3') });
    const sm2Receipt = sm2.receipts[0] as Receipt;
    const verdict = verifyReceipt(sm2Receipt, sm2.trust, { fileDigests });
    expect(verdict.verdict).toBe('VERIFIED');
    const rendered = await renderChecked(
      'verified-sm2',
      input({ verdict, receipt: sm2Receipt, trust: sm2.trust }),
    );
    expect(rendered.flat).toContain(squash('SM2 (GB/T 32918-2016 / GM/T 0003-2012)'));
    expect(rendered.flat).toContain(sm2.key.keyId);
    expect(rendered.text).toContain('签名有效');
  });

  it("says when the signing key is marked compromised and the time proven is the anchor's", async () => {
    const anchored = makeAnchoredFixture([content], { time: '2026-11-28T10:00:00.000Z' });
    const trust = {
      ...anchored.trust,
      chains: anchored.trust.chains.map((chain, i) =>
        i === 0
          ? {
              ...chain,
              keys: chain.keys.map((k) => ({ ...k, compromisedSince: '2026-12-01T00:00:00Z' })),
            }
          : chain,
      ),
    };
    const anchoredReceipt = anchored.receipts[0] as Receipt;
    const verdict = verifyReceipt(anchoredReceipt, trust, { fileDigests });
    expect(verdict.verdict).toBe('VERIFIED');
    const { text, flat } = await renderChecked(
      'verified-compromised-key',
      input({
        verdict,
        receipt: anchoredReceipt,
        trust,
        trustFingerprint: trustFingerprint(trust),
      }),
    );
    expect(text).toContain('密钥泄露标记');
    expect(flat).toContain(squash('marked compromised since then'));
    // The anchor's time (10:10) is on the report.
    expect(text).toContain('北京时间 2026-11-28 18:10:00');
  });

  it('masks the depositor name, the account and the ID number in the file name', async () => {
    const { text, flat } = await renderChecked('verified-masking', input());
    expect(text).toContain('张某');
    expect(text).not.toContain(NAME);
    expect(flat).toContain('110105********0025');
    expect(flat).not.toContain(ID);
    expect(text).toContain('PlatformOrg / la***1');
    expect(text).not.toContain('lawyer-1');
    expect(text).not.toContain('/home/user');
    expect(containsPersonalData(text, [NAME])).toBe(false);
  });

  it('reports a MISMATCH with the file digests and the different ones the receipt records', async () => {
    const other = Buffer.from('a tampered copy of the agreement\n');
    const digests = digestBytes(other);
    const value = input({
      file: { name: `调解协议-${PHONE}.pdf`, size: other.length, digests },
      verdict: verifyReceipt(receipt, fixture.trust, { fileDigests: digests }),
    });
    expect(value.verdict.verdict).toBe('MISMATCH');
    const { text, flat } = await renderChecked('mismatch', value);
    expect(text).toContain('不一致');
    expect(text).toContain('MISMATCH');
    expect(text).toContain('DIGEST_MISMATCH');
    const header = text.slice(0, text.indexOf('一、检材'));
    expect(header).toContain('不一致 MISMATCH');
    expect(header).not.toContain('核验通过');
    expect(flat).toContain(digests.sha256);
    expect(flat).toContain(digests.sm3);
    expect(flat).toContain(fileDigests.sha256);
    expect(flat).toContain(fileDigests.sm3);
    expect(text).toContain('未经核验证实');
    expect(text).toContain('×');
    expect(text).toContain('未检查');
    expect(flat).toContain('138****5678');
    expect(flat).not.toContain(PHONE);
    expect(text).not.toContain(NAME);
  });

  it('lists each verified anchor with its chain, block and time', async () => {
    const anchored = makeAnchoredFixture([content], {
      courtTime: '2026-11-28T10:10:00.000Z',
      courtOperator: 'Court chain',
    });
    const r = anchored.receipts[0];
    const verdict = verifyReceipt(r, anchored.trust, { fileDigests });
    expect(verdict.verdict).toBe('VERIFIED');
    expect(verdict.anchors.length).toBe(1);
    const value = input({
      verdict,
      receipt: r,
      trust: anchored.trust,
      trustFingerprint: trustFingerprint(anchored.trust),
    });
    const { text, flat } = await renderChecked('verified-anchored', value);
    expect(text).toContain('锚定 1');
    expect(text).toContain(anchored.courtChainId);
    expect(text).toContain(`#${verdict.anchors[0]?.targetBlockNumber}`);
    expect(text).toContain('2026-11-28T10:10:00.000Z');
    expect(text).toContain('Independently proven no later than');
    expect(flat).toContain(verdict.anchors[0]?.txId);
    expect(text.match(/✓/g)?.length).toBe(7);
  });

  it('handles a verdict without an anchors field', async () => {
    const { anchors: _ignored, ...verdict } = verifyReceipt(receipt, fixture.trust, {
      fileDigests,
    });
    const { text } = await renderChecked('verified-no-anchors-field', input({ verdict }));
    expect(text).toContain('核验通过');
    expect(text).toContain('none: the receipt carries no anchor proof');
  });

  it('reports an UNTRUSTED receipt with the claimed key marked as not verified', async () => {
    const otherTrust = trustFor('test-chain', makeNodeKey());
    const value = input({
      verdict: verifyReceipt(receipt, otherTrust, { fileDigests }),
      trust: otherTrust,
      trustFingerprint: trustFingerprint(otherTrust),
    });
    const { text, flat } = await renderChecked('untrusted', value);
    expect(text).toContain('不受信任');
    expect(text).toContain('KEY_NOT_TRUSTED');
    expect(text).toContain('未经核验');
    expect(flat).toContain(fixture.key.keyId);
  });

  it('reports a malformed receipt as PROOF_INVALID without facts', async () => {
    const broken = { ...receipt, inclusion: { ...receipt.inclusion, leafIndex: -1 }, extra: 'x' };
    const value = input({
      verdict: verifyReceipt(broken, fixture.trust, { fileDigests }),
      receipt: broken,
    });
    const { text } = await renderChecked('proof-invalid', value);
    expect(text).toContain('证明无效');
    expect(text).toContain('RECEIPT_MALFORMED');
    expect(text).toContain('存证收据无法解析');
  });

  it('stays on one page with hostile lengths: a long file name, long details, many anchors', async () => {
    const base = verifyReceipt(receipt, fixture.trust, { fileDigests });
    const long = 'x'.repeat(2000);
    const anchor = {
      kind: 'chain' as const,
      targetChainId: 'court-chain',
      anchoredAt: '2026-11-28T10:10:00.000Z',
      targetBlockNumber: 3,
      txId: 'a'.repeat(64),
      keyId: fixture.key.keyId,
      sourceBlockNumber: 7,
    };
    const value = input({
      file: { name: `${'很长的文件名'.repeat(80)}.pdf`, size: 2 ** 40, digests: fileDigests },
      verdict: {
        ...base,
        checks: base.checks.map((c) => ({ ...c, detail: `${c.detail} ${long}` })),
        anchors: Array.from({ length: 12 }, () => anchor),
      },
    });
    const { text } = await renderChecked('hostile-lengths', value);
    expect(text).toContain('另有 8 项');
  });

  it('renders the CLI verdict ON_CHAIN_UNVERIFIED without receipt or trust file', async () => {
    const value: VerificationReportInput = {
      verdict: {
        verdict: 'ON_CHAIN_UNVERIFIED',
        checks: [
          { step: 'online', status: 'pass', detail: 'the gateway reports the digest on chain' },
        ],
      },
      file: { name: 'a.pdf', size: 10, digests: fileDigests },
      verifier: { ...verifier, codeDigest: undefined },
      verifiedAt: '2026-12-01T08:30:00.000Z',
    };
    const { text } = await renderChecked('on-chain-unverified', value);
    expect(text).toContain('已上链·未核验');
    expect(text).toContain('未提供存证收据');
    expect(text).toContain('not run from a build');
  });

  it('is deterministic: the same input gives the same bytes', async () => {
    const [a, b] = await Promise.all([
      renderVerificationReportPdf(input()),
      renderVerificationReportPdf(input()),
    ]);
    expect(a.equals(b)).toBe(true);
  });

  it('refuses a public verification URL that is not http(s)', async () => {
    const error = await renderVerificationReportPdf(
      input({ publicVerifyUrl: 'javascript:alert(1)' }),
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isEvidenceError(error) && error.code).toBe('VALIDATION_FAILED');
  });
});

describe('buildVerificationReport', () => {
  it('points the QR code at the public page for the file digest', () => {
    const model = buildVerificationReport(input());
    expect(model.qr.target).toBe(`${PUBLIC}?digest=${fileDigests.sha256}`);
    expect(model.qr.showTarget).toBe(true);
  });

  it('carries the digest alone in the QR code without a public page', () => {
    const { publicVerifyUrl: _none, ...rest } = input();
    const model = buildVerificationReport(rest);
    expect(model.qr.target).toBe(fileDigests.sha256);
    expect(model.qr.showTarget).toBe(false);
  });

  it('lists the steps a failure stopped before as not checked', () => {
    const other = digestBytes(Buffer.from('other'));
    const model = buildVerificationReport(
      input({ verdict: verifyReceipt(receipt, fixture.trust, { fileDigests: other }) }),
    );
    expect(model.checks.map((c) => [c.step.en, c.status])).toEqual([
      ['Receipt', 'pass'],
      ['Digest', 'fail'],
      ['Inclusion', 'skip'],
      ['Transaction', 'skip'],
      ['Block', 'skip'],
      ['Signature', 'skip'],
    ]);
  });
});

describe('renderVerificationReportHtml', () => {
  const html = renderVerificationReportHtml(input());

  it('is self-contained: no URL but the QR target, no script, only data: images', () => {
    writeArtifact('verified.html', html);
    const urls = html.match(/https?:\/\/[^\s"'<>)]+/g) ?? [];
    expect(new Set(urls)).toEqual(new Set([`${PUBLIC}?digest=${fileDigests.sha256}`]));
    expect(html).not.toMatch(/<script|<link|@import|url\(/i);
    for (const [, src] of html.matchAll(/src="([^"]*)"/g))
      expect(src).toMatch(/^data:image\/svg\+xml;base64,/);
    expect(html).toContain("default-src 'none'");
  });

  it('has no URL at all without a public page', () => {
    const { publicVerifyUrl: _none, ...rest } = input();
    expect(renderVerificationReportHtml(rest)).not.toMatch(/https?:\/\//);
  });

  it('shows the masked name only, and the ID number masked', () => {
    expect(html).toContain('张某');
    expect(html).not.toContain(NAME);
    expect(html).toContain('110105********0025');
    expect(html).not.toContain(ID);
    expect(containsPersonalData(html, [NAME])).toBe(false);
  });

  it('says what the PDF says: verdict, digests, checks', () => {
    expect(html).toContain('核验通过');
    expect(html).toContain('VERIFIED');
    expect(html).toContain(fileDigests.sha256);
    expect(html).toContain(fileDigests.sm3);
    expect(html.match(/✓/g)?.length).toBe(6);
  });

  it('escapes markup in attacker-controlled text', () => {
    const out = renderVerificationReportHtml(
      input({ file: { name: '<img src=x onerror=alert(1)>.pdf', size: 1, digests: fileDigests } }),
    );
    expect(out).not.toContain('<img src=x');
    expect(out).toContain('&lt;img src=x onerror=alert(1)&gt;.pdf');
  });
});

describe('reportFormatOf and renderVerificationReport', () => {
  it('picks the format from the extension', () => {
    expect(reportFormatOf('out.pdf')).toBe('pdf');
    expect(reportFormatOf('OUT.PDF')).toBe('pdf');
    expect(reportFormatOf('r.html')).toBe('html');
    expect(reportFormatOf('r.htm')).toBe('html');
    expect(reportFormatOf('r.txt')).toBeUndefined();
  });

  it('returns bytes of either format', async () => {
    expect((await renderVerificationReport(input(), 'pdf')).subarray(0, 5).toString()).toBe(
      '%PDF-',
    );
    expect((await renderVerificationReport(input(), 'html')).toString('utf8')).toMatch(
      /^<!DOCTYPE html>/,
    );
  });
});
