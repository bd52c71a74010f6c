/**
 * The deposit certificate (存证证书): one A4 page a depositor can print and file, summarising a
 * receipt for people. It proves nothing by itself, and says so: the proof is the receipt, checked
 * by `evidence verify` against a pinned trust file, or the node's public page.
 *
 * Deterministic: the same input gives the same bytes (the PDF's creation date is the receipt's
 * chain time; the certificate number is derived from the receipt), so a certificate can be
 * re-issued and compared byte for byte.
 */

import { anchorClaimOf } from '../core/anchor';
import { blockHash } from '../core/block';
import { canonicalBytes } from '../core/canonical';
import { sha256 } from '../core/digest';
import { primaryDigest } from '../core/evidence';
import { maskAccount, maskPersonName } from '../core/masking';
import { parseReceipt, type Receipt } from '../core/receipt';
import { A4, COLORS, MARGIN, renderPdf, type Field, type PdfLayout } from './pdf-layout';
import { clip, formatSize, formatTime, type Label } from './labels';
import { qrPng, qrTarget } from './qr';

export interface IssuingNode {
  /** The node's (operator's) name as printed, e.g. `某某市中级人民法院存证节点`. */
  readonly name: string;
  readonly chainId: string;
  /** The node's public address, printed for reference. */
  readonly url?: string;
}

export interface CertificateInput {
  /** The receipt; validated again here. */
  readonly receipt: Receipt;
  readonly issuingNode: IssuingNode;
  /** Real name of the depositor; only ever printed masked (张三丰 -> 张某). */
  readonly depositorName?: string;
  /** Base URL of the node's public /verify page; the QR code encodes `URL?digest=sha256:...`. */
  readonly publicVerifyUrl?: string;
}

export const CERTIFICATE_TITLE: Label = {
  zh: '存证证书',
  en: 'Certificate of Electronic Evidence Deposit',
};

/** The command that checks a deposit offline, printed on the certificate. */
export const VERIFY_COMMAND = 'evidence verify FILE --receipt RECEIPT --trust TRUST';

/**
 * The certificate number: `JE-` and the first 16 hex digits (upper case, in groups of four) of
 * SHA-256 over the canonical JSON of `{ chainId, txId, leafIndex }`, the receipt's core. Anchors
 * added to the receipt later (`upgrade`) do not change it; two records never share it.
 */
export function certificateNumber(receipt: Receipt): string {
  const core = {
    chainId: receipt.ledger.chainId,
    txId: receipt.ledger.txId,
    leafIndex: receipt.inclusion.leafIndex,
  };
  const hex = sha256(canonicalBytes(core)).toString('hex').slice(0, 16).toUpperCase();
  return `JE-${hex.match(/.{4}/g)?.join('-') ?? hex}`;
}

function depositFields(input: CertificateInput, receipt: Receipt): Field[] {
  const { record } = receipt;
  const fields: Field[] = [
    {
      label: { zh: '存证方', en: 'Depositor' },
      value: `${record.depositor.org} / ${maskAccount(record.depositor.account)}`,
    },
  ];
  if (input.depositorName !== undefined && input.depositorName.trim() !== '') {
    fields.push({
      label: { zh: '存证人（已脱敏）', en: 'Name (masked)' },
      value: maskPersonName(input.depositorName),
    });
  }
  const about = [
    record.evidenceType,
    record.mediaType,
    record.size !== undefined ? formatSize(record.size) : undefined,
    record.process ? `process ${record.process.token} (${record.process.phase})` : undefined,
  ].filter((p): p is string => p !== undefined);
  if (about.length > 0)
    fields.push({ label: { zh: '数据说明', en: 'Evidence' }, value: about.join(' · ') });
  for (const digest of record.digests) {
    const name = digest.startsWith('sm3:') ? 'SM3' : 'SHA-256';
    fields.push({ label: { zh: `${name} 摘要`, en: 'digest' }, value: digest, mono: true });
  }
  return fields;
}

function chainFields(receipt: Receipt): Field[] {
  const { ledger, inclusion, proof } = receipt;
  return [
    { label: { zh: '上链时间', en: 'Chain time' }, value: formatTime(ledger.time) },
    { label: { zh: '区块链', en: 'Chain' }, value: ledger.chainId },
    { label: { zh: '区块高度', en: 'Block' }, value: `#${ledger.blockNumber}` },
    {
      label: { zh: '区块哈希', en: 'Block hash' },
      value: blockHash(proof.block.header),
      mono: true,
    },
    { label: { zh: '交易编号', en: 'Transaction' }, value: ledger.txId, mono: true },
    {
      label: { zh: '位置', en: 'Position' },
      value: `批次第 ${inclusion.leafIndex + 1}/${inclusion.treeSize} 条 / leaf ${inclusion.leafIndex} of ${inclusion.treeSize} (0-based)`,
    },
    {
      label: { zh: '区块签名密钥', en: 'Signing key' },
      value: proof.block.signature.keyId,
      mono: true,
    },
    ...(receipt.anchors ?? []).slice(0, 4).map((anchor, i): Field => {
      const claim = anchorClaimOf(receipt, anchor);
      const where =
        claim.kind === 'timestamp'
          ? `${claim.source} 可信时间戳 trusted time stamp`
          : `${claim.source} 区块 block #${claim.targetBlockNumber}`;
      const when = claim.anchoredAt ? `，${formatTime(claim.anchoredAt)}` : '';
      return {
        label: { zh: `锚定 ${i + 1}`, en: `Anchor ${i + 1}` },
        value: `${where}${when}（收据所载 as carried by the receipt）`,
      };
    }),
  ];
}

function nodeFields(node: IssuingNode): Field[] {
  return [
    { label: { zh: '签发节点', en: 'Issuing node' }, value: clip(node.name, 120) },
    { label: { zh: '节点所在链', en: 'Node chain' }, value: clip(node.chainId, 128) },
    ...(node.url
      ? [{ label: { zh: '节点地址', en: 'Node address' }, value: clip(node.url, 200), mono: true }]
      : []),
  ];
}

function drawBorder(layout: PdfLayout): void {
  const { doc } = layout;
  const page = { w: doc.page.width, h: doc.page.height };
  doc
    .rect(16, 16, page.w - 32, page.h - 32)
    .lineWidth(1.6)
    .strokeColor(COLORS.accent)
    .stroke();
  doc
    .rect(21, 21, page.w - 42, page.h - 42)
    .lineWidth(0.5)
    .strokeColor(COLORS.accent)
    .stroke();
}

/** Certificate number and issue time at the foot of the page, inside the border. */
function drawFooter(layout: PdfLayout, receipt: Receipt): void {
  const y = A4.height - MARGIN.bottom - layout.size(26);
  layout.bottom = y - layout.size(8);
  const text = `证书编号 ${certificateNumber(receipt)} · 依据存证收据生成 Generated from the receipt · 上链时间 ${formatTime(receipt.ledger.time)}`;
  layout.write(text, layout.left, y, layout.width, 7, { color: COLORS.muted, align: 'center' });
}

function drawCertificate(
  layout: PdfLayout,
  input: CertificateInput,
  receipt: Receipt,
  qr: Buffer,
  target: string,
): void {
  drawBorder(layout);
  drawFooter(layout, receipt);
  const number = certificateNumber(receipt);
  const digest = primaryDigest(receipt.record);
  const { ledger } = receipt;
  layout.y += layout.size(10);
  layout.y = layout.write(CERTIFICATE_TITLE.zh, layout.left, layout.y, layout.width, 30, {
    bold: true,
    color: COLORS.accent,
    align: 'center',
  });
  layout.y = layout.write(CERTIFICATE_TITLE.en, layout.left, layout.y, layout.width, 12, {
    color: COLORS.muted,
    align: 'center',
  });
  layout.y += layout.size(6);
  layout.y = layout.write(
    `证书编号 Certificate No.  ${number}`,
    layout.left,
    layout.y,
    layout.width,
    11,
    {
      bold: true,
      align: 'center',
    },
  );
  layout.y += layout.size(8);
  const org = receipt.record.depositor.org;
  layout.paragraph(
    `兹证明：下列电子数据的摘要已由 ${org} 提交存证，于 ${formatTime(ledger.time)} 记录于区块链 ${ledger.chainId} 第 ${ledger.blockNumber} 号区块。链上仅记录数据摘要，不含数据内容。`,
    9.6,
    { lineGap: 2.5 },
  );
  layout.y += layout.size(2);
  layout.paragraph(
    `This certifies that the digests of the electronic data below were deposited by ${org} and recorded on chain ${ledger.chainId} in block ${ledger.blockNumber} at ${ledger.time}. Only digests are on chain, never the data itself.`,
    8.2,
    { color: COLORS.muted },
  );
  layout.heading({ zh: '存证信息', en: 'Deposit' });
  layout.fields(depositFields(input, receipt));
  layout.heading({ zh: '链上位置', en: 'On chain' });
  layout.fields(chainFields(receipt));
  layout.heading({ zh: '签发', en: 'Issued by' });
  layout.fields(nodeFields(input.issuingNode));

  layout.heading({ zh: '核验方法', en: 'How to verify' });
  const qrSize = layout.size(96);
  layout.ensure(qrSize + layout.size(12));
  const top = layout.y + layout.size(2);
  layout.doc.image(qr, layout.left, top, { width: qrSize, height: qrSize });
  const x = layout.left + qrSize + layout.size(12);
  const w = layout.right - x;
  let y = layout.write(
    '1. 离线核验：持原始文件、本证书对应的存证收据（JSON）及法院固定的受信任文件，运行：',
    x,
    top,
    w,
    8.4,
  );
  y = layout.write(
    'Offline: with the original file, the receipt (JSON) and the trust file the court pinned, run:',
    x,
    y,
    w,
    7.6,
    {
      color: COLORS.muted,
    },
  );
  y = layout.write(
    VERIFY_COMMAND,
    x + layout.size(8),
    y + layout.size(2),
    w - layout.size(8),
    8.6,
    { mono: true, bold: true },
  );
  y += layout.size(3);
  const online =
    target === digest
      ? '2. 扫描左侧二维码可读取文件的 SHA-256 摘要，与自行计算的摘要比对。'
      : '2. 在线查询：扫描左侧二维码，或访问：';
  y = layout.write(online, x, y, w, 8.4);
  y = layout.write(
    target === digest
      ? 'The QR code holds the SHA-256 digest of the file, to compare with one computed independently.'
      : 'Online: scan the QR code, or open:',
    x,
    y,
    w,
    7.6,
    { color: COLORS.muted },
  );
  if (target !== digest)
    y = layout.write(
      clip(target, 220),
      x + layout.size(8),
      y + layout.size(1),
      w - layout.size(8),
      7.2,
      { mono: true },
    );
  layout.y = Math.max(top + qrSize, y) + layout.size(8);
  layout.rule();
  layout.y += layout.size(4);
  layout.paragraph(
    '说明：本证书是存证收据的可读摘要，其证明力来自存证收据经密码学核验的结果，而非本证书本身；核验结论仅表明数据自上链时起未被篡改，上链前数据的来源与生成须另行证明。',
    7.4,
    { color: COLORS.muted },
  );
  layout.paragraph(
    'Note: this certificate summarises the receipt for people. What proves the deposit is the receipt, verified cryptographically, not this paper; it shows the data unaltered since it went on chain, not where the data came from.',
    6.8,
    { color: COLORS.muted },
  );
}

/**
 * The certificate as a one-page A4 PDF; byte-identical for equal input.
 * @throws ValidationError `RECEIPT_MALFORMED` when the receipt is not a valid receipt.
 * @throws ValidationError `VALIDATION_FAILED` when `publicVerifyUrl` is not an http(s) URL.
 */
export async function renderCertificatePdf(input: CertificateInput): Promise<Buffer> {
  const receipt = parseReceipt(input.receipt);
  const target = qrTarget(primaryDigest(receipt.record), input.publicVerifyUrl);
  const qr = await qrPng(target);
  return renderPdf(
    {
      title: `${CERTIFICATE_TITLE.zh} ${CERTIFICATE_TITLE.en} ${certificateNumber(receipt)}`,
      subject: primaryDigest(receipt.record),
      creationDate: new Date(Date.parse(receipt.ledger.time)),
      keywords: certificateNumber(receipt),
    },
    (layout) => drawCertificate(layout, input, receipt, qr, target),
  );
}
