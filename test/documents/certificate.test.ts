import { describe, expect, it } from 'vitest';
import { blockHash } from '../../core/block';
import { digestBytes } from '../../core/digest';
import { isEvidenceError } from '../../core/errors';
import { containsPersonalData } from '../../core/masking';
import type { Receipt } from '../../core/receipt';
import { parseTimestampResponse, parseTimestampToken } from '../../core/timestamp';
import {
  VERIFY_COMMAND,
  certificateNumber,
  renderCertificatePdf,
  type CertificateInput,
} from '../../documents/certificate';
import { createTsaAuthority } from '../support/openssl-tsa';
import { makeAnchoredFixture, makeFixture } from '../support/receipt-factory';
import { pdfInfo, pdfPages, pdfText, rasterise, squash, writeArtifact } from './pdf-tools';

const NAME = '欧阳修文';
const PUBLIC = 'https://evidence.example-court.cn/verify';
const content = Buffer.from('借款合同 loan contract, scanned 2026-11-28\n');
const fixture = makeFixture([content, Buffer.from('second file')], {
  depositor: { org: 'NotaryOrg', account: 'notary-clerk-07' },
  item: { evidenceType: 'contract', mediaType: 'application/pdf', size: content.length },
});
const receipt = fixture.receipts[0] as Receipt;
const digests = digestBytes(content);

const input: CertificateInput = {
  receipt,
  issuingNode: {
    name: '某某市中级人民法院存证节点',
    chainId: 'test-chain',
    url: 'https://node.example-court.cn',
  },
  depositorName: NAME,
  publicVerifyUrl: PUBLIC,
};

describe('certificateNumber', () => {
  it('is JE- and 16 upper-case hex digits in groups of four', () => {
    expect(certificateNumber(receipt)).toMatch(
      /^JE-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}$/,
    );
  });

  it('differs between records of the same batch and is stable for one record', () => {
    const other = fixture.receipts[1] as Receipt;
    expect(certificateNumber(other)).not.toBe(certificateNumber(receipt));
    expect(certificateNumber(JSON.parse(JSON.stringify(receipt)) as Receipt)).toBe(
      certificateNumber(receipt),
    );
  });

  it('does not change when anchors are added to the receipt', () => {
    const anchored = makeAnchoredFixture([content]);
    expect(certificateNumber(anchored.receipts[0] as Receipt)).toBe(
      certificateNumber(anchored.plain[0] as Receipt),
    );
  });
});

describe('renderCertificatePdf', () => {
  it('renders one page with number, digests, chain facts, issuing node, masked depositor and how to verify', async () => {
    const pdf = await renderCertificatePdf(input);
    const path = writeArtifact('certificate.pdf', pdf);
    expect(pdfPages(path)).toBe(1);
    const png = rasterise(path);
    expect(png.bytes).toBeGreaterThan(20_000);
    const text = pdfText(path);
    const flat = squash(text);
    expect(text).toContain('存证证书');
    expect(text).toContain('Certificate of Electronic Evidence Deposit');
    expect(text).toContain(certificateNumber(receipt));
    expect(flat).toContain(digests.sha256);
    expect(flat).toContain(digests.sm3);
    expect(flat).toContain(receipt.ledger.txId);
    expect(text).toContain('#7');
    expect(text).toContain('北京时间 2026-11-28 18:00:00');
    expect(text).toContain('某某市中级人民法院存证节点');
    expect(text).toContain('contract · application/pdf');
    expect(flat).toContain(squash(VERIFY_COMMAND));
    expect(flat).toContain(`${PUBLIC}?digest=${digests.sha256}`);
    // Compound surname kept, given name masked; the account masked (chain state holds no phone
    // numbers or e-mail addresses, core/personal-data.ts, so it is an identifier).
    expect(text).toContain('欧阳某');
    expect(text).not.toContain(NAME);
    expect(text).toContain('NotaryOrg / no***7');
    expect(flat).not.toContain('notary-clerk-07');
    expect(containsPersonalData(text, [NAME])).toBe(false);
  });

  it('is byte-identical for the same input', async () => {
    const a = await renderCertificatePdf(input);
    const b = await renderCertificatePdf(JSON.parse(JSON.stringify(input)) as CertificateInput);
    expect(a.equals(b)).toBe(true);
    // The creation date is the chain time, not the time of rendering.
    expect(pdfInfo(writeArtifact('certificate-again.pdf', a)).CreationDate).toBe(
      '2026-11-28T10:00:00Z',
    );
  });

  it('changes when the receipt does', async () => {
    const a = await renderCertificatePdf(input);
    const b = await renderCertificatePdf({ ...input, receipt: fixture.receipts[1] as Receipt });
    expect(a.equals(b)).toBe(false);
  });

  it('lists the anchors a receipt carries', async () => {
    const anchored = makeAnchoredFixture([content], { courtTime: '2026-11-28T10:10:00.000Z' });
    const pdf = await renderCertificatePdf({ ...input, receipt: anchored.receipts[0] as Receipt });
    const text = pdfText(writeArtifact('certificate-anchored.pdf', pdf));
    expect(text).toContain('锚定 1');
    expect(text).toContain(anchored.courtChainId);
    expect(text).toContain('2026-11-28T10:10:00.000Z');
  });

  it('lists a trusted time stamp the receipt carries, with the time the token states', async () => {
    const authority = await createTsaAuthority('ec');
    try {
      const imprint = blockHash(receipt.proof.block.header).slice('sha256:'.length);
      const token = parseTimestampResponse(await authority.stamp(imprint)).token;
      if (!token) throw new Error('the authority did not stamp');
      const stamped: Receipt = {
        ...receipt,
        anchors: [
          {
            kind: 'rfc3161-timestamp',
            authority: 'ntsc-tsa',
            headers: [],
            token: Buffer.from(token).toString('base64'),
          },
        ],
      };
      const pdf = await renderCertificatePdf({ ...input, receipt: stamped });
      const text = pdfText(writeArtifact('certificate-time-stamped.pdf', pdf));
      expect(text).toContain('锚定 1');
      expect(text).toContain('ntsc-tsa');
      expect(text).toContain('可信时间戳');
      expect(text).toContain(parseTimestampToken(Buffer.from(token)).genTime);
    } finally {
      await authority.remove();
    }
  });

  it('carries the digest in the QR code and says so without a public page', async () => {
    const { publicVerifyUrl: _none, ...rest } = input;
    const pdf = await renderCertificatePdf(rest);
    const text = pdfText(writeArtifact('certificate-offline.pdf', pdf));
    expect(text).not.toMatch(/verify\?digest=/);
    expect(text).toContain('二维码可读取文件的 SHA-256 摘要');
  });

  it('refuses a malformed receipt with RECEIPT_MALFORMED', async () => {
    const broken = { ...receipt, version: 2 } as unknown as Receipt;
    const error = await renderCertificatePdf({ ...input, receipt: broken }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isEvidenceError(error) && error.code).toBe('RECEIPT_MALFORMED');
  });
});
