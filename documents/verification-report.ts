/**
 * The verification report a judge reads: one A4 page (PDF) or one self-contained HTML page that
 * says, in Chinese and English, whether the file in hand is the one on chain, since when, who
 * signed for it, and how the answer was reached (every check, the pinned trust file's fingerprint,
 * the verifier's version and the digest of its own code), with a QR code to the public page.
 *
 * Both forms come from one model built by {@link buildVerificationReport}, so they say the same
 * thing. Personal data is masked (core/masking.ts): the depositor's real name when supplied, the
 * account, and any ID or mobile number inside file names or check details. Facts of a receipt that
 * did not verify are printed as the receipt's claims, marked as not proven.
 */

import type { Digest, DigestSet } from '../core/digest';
import { maskAccount, maskPersonName, maskText } from '../core/masking';
import { parseReceipt, type Receipt } from '../core/receipt';
import type { TrustFile } from '../core/trust';
import type { AnchorFact } from '../core/anchor';
import type { ProvenFacts } from '../core/verify';
import { renderVerificationReportDocument } from './verification-report-html';
import {
  CORE_STEPS,
  NOT_PROVEN,
  STEP_LABELS,
  VERDICT_STYLES,
  baseName,
  clip,
  formatSize,
  formatTime,
  signatureAlgorithmName,
  type CheckStatus,
  type Label,
  type ReportVerdictName,
  type VerdictStyle,
} from './labels';
import { drawVerificationReport } from './verification-report-pdf';
import type { CheckLine, Field } from './pdf-layout';
import { qrPng, qrTarget } from './qr';

/** A check as reported: core's `Check`, or one the CLI adds (e.g. `online`). */
export interface ReportCheck {
  readonly step: string;
  readonly status: CheckStatus;
  readonly code?: string;
  readonly detail: string;
}

/**
 * The verdict to report: core's `Verdict` fits, as does the CLI's (with `ON_CHAIN_UNVERIFIED` and
 * an `online` check).
 */
export interface ReportVerdict {
  readonly verdict: ReportVerdictName;
  readonly code?: string;
  readonly checks: readonly ReportCheck[];
  readonly facts?: ProvenFacts;
  /** What the receipt claims when it did not verify (core's `Verdict.claims`): shown, not proven. */
  readonly claims?: ProvenFacts;
  /** Anchors verified (core's `Verdict.anchors`); absent or empty when there were none. */
  readonly anchors?: readonly AnchorFact[];
}

export interface VerificationReportInput {
  readonly verdict: ReportVerdict;
  /** The file examined; `name` is shown without its folders. */
  readonly file: { readonly name: string; readonly size: number; readonly digests: DigestSet };
  /** The receipt as parsed JSON, possibly malformed; absent when none was given. */
  readonly receipt?: unknown;
  /** The pinned trust file(s), merged; absent when no receipt was checked. */
  readonly trust?: TrustFile;
  readonly trustFingerprint?: Digest;
  readonly verifier: {
    readonly name: string;
    readonly version: string;
    /** {@link verifierCodeDigest} of the running verifier; undefined when not run from a build. */
    readonly codeDigest: string | undefined;
  };
  /** RFC 3339 time of the verification. */
  readonly verifiedAt: string;
  /** Base URL of the node's public /verify page; the QR code encodes `URL?digest=sha256:...`. */
  readonly publicVerifyUrl?: string;
  /** Real name of the depositor, supplied by the user; only ever printed masked (张三丰 -> 张某). */
  readonly depositorName?: string;
}

export interface ReportSection {
  readonly title: Label;
  /** Shown next to the title, e.g. that the facts below are not proven. */
  readonly note?: Label;
  readonly fields: readonly Field[];
}

/** Everything both renderers print, already masked and clipped. */
export interface VerificationReportModel {
  readonly verdict: ReportVerdictName;
  readonly style: VerdictStyle;
  readonly code?: string;
  /** `存在不晚于 ...`: the proven time bound, only when verified. */
  readonly existedBy?: string;
  /** The earliest verified anchor's time: the same bound by an independent chain's clock. */
  readonly anchoredBy?: string;
  readonly sections: readonly ReportSection[];
  readonly checks: readonly CheckLine[];
  readonly environment: ReportSection;
  readonly qr: { readonly target: string; readonly caption: Label; readonly showTarget: boolean };
  /** Creation time written into the PDF (the verification time). */
  readonly createdAt: Date;
}

const MAX_DETAIL = 260;
const MAX_ANCHORS = 4;

function tryParseReceipt(value: unknown): Receipt | undefined {
  if (value === undefined) return undefined;
  try {
    return parseReceipt(value);
  } catch {
    return undefined;
  }
}

function algorithmOf(digest: string): string {
  return digest.slice(0, digest.indexOf(':'));
}

function digestLabel(algorithm: string, recorded: boolean): Label {
  const name = algorithm === 'sm3' ? 'SM3' : algorithm === 'sha256' ? 'SHA-256' : algorithm;
  return recorded
    ? { zh: `收据所记 ${name}`, en: `${name} in receipt` }
    : { zh: `${name} 摘要`, en: 'digest' };
}

function fileSection(
  input: VerificationReportInput,
  receipt: Receipt | undefined,
  mask: (t: string) => string,
): ReportSection {
  const digests = [
    input.file.digests.sha256,
    ...Object.values(input.file.digests).filter((d) => !d.startsWith('sha256:')),
  ];
  const fields: Field[] = [
    { label: { zh: '文件名', en: 'File name' }, value: mask(clip(baseName(input.file.name), 160)) },
    { label: { zh: '大小', en: 'Size' }, value: formatSize(input.file.size) },
    ...digests.map((d): Field => ({
      label: digestLabel(algorithmOf(d), false),
      value: d,
      mono: true,
    })),
  ];
  const recorded =
    receipt?.record.digests ?? (input.verdict.facts ?? input.verdict.claims)?.digests ?? [];
  const fileByAlgorithm = new Map(digests.map((d) => [algorithmOf(d), d]));
  for (const digest of recorded) {
    const mine = fileByAlgorithm.get(algorithmOf(digest));
    if (mine !== undefined && mine !== digest) {
      fields.push({
        label: digestLabel(algorithmOf(digest), true),
        value: digest,
        mono: true,
        tone: 'bad',
      });
    }
  }
  return { title: { zh: '一、检材', en: 'File examined' }, fields };
}

function chainSection(
  input: VerificationReportInput,
  receipt: Receipt | undefined,
  verified: boolean,
): ReportSection {
  const title = { zh: '二、上链信息', en: 'On-chain record' };
  const facts = input.verdict.facts ?? input.verdict.claims;
  if (!facts || !receipt) {
    const none =
      input.receipt === undefined
        ? { zh: '未提供存证收据', en: 'no receipt was given' }
        : {
            zh: '存证收据无法解析，详见核验步骤',
            en: 'the receipt could not be read; see the checks',
          };
    return {
      title,
      fields: [
        { label: { zh: '收据', en: 'Receipt' }, value: `${none.zh} / ${none.en}`, tone: 'bad' },
      ],
    };
  }
  const chain = input.trust?.chains.find((c) => c.chainId === facts.chainId);
  const { inclusion, proof } = receipt;
  const fields: Field[] = [
    {
      label: verified
        ? { zh: '存在不晚于', en: 'Existed by' }
        : { zh: '上链时间', en: 'Chain time' },
      value: formatTime(facts.existedBy),
    },
    {
      label: { zh: '区块链', en: 'Chain' },
      value: chain?.operator ? `${facts.chainId}（${chain.operator}）` : facts.chainId,
    },
    { label: { zh: '区块高度', en: 'Block' }, value: `#${facts.blockNumber}` },
    { label: { zh: '区块哈希', en: 'Block hash' }, value: facts.blockHash, mono: true },
    { label: { zh: '交易编号', en: 'Transaction' }, value: facts.txId, mono: true },
    {
      label: { zh: '位置', en: 'Position' },
      value:
        `批次第 ${inclusion.leafIndex + 1}/${inclusion.treeSize} 条，区块第 ${proof.txIndex + 1}/${proof.block.header.txCount} 笔交易` +
        ` / leaf ${inclusion.leafIndex} of ${inclusion.treeSize}, tx ${proof.txIndex} of ${proof.block.header.txCount} (0-based)`,
    },
    { label: { zh: '批次根', en: 'Batch root' }, value: inclusion.root, mono: true },
    {
      label: { zh: '存证方', en: 'Depositor' },
      value: `${facts.depositor.org} / ${maskAccount(facts.depositor.account)}`,
    },
  ];
  if (input.depositorName !== undefined && input.depositorName.trim() !== '') {
    fields.push({
      label: { zh: '存证人（已脱敏）', en: 'Name (masked)' },
      value: maskPersonName(input.depositorName),
    });
  }
  return { title, ...(verified ? {} : { note: NOT_PROVEN }), fields };
}

function signatureSection(
  input: VerificationReportInput,
  receipt: Receipt | undefined,
  verified: boolean,
): ReportSection {
  const title = { zh: '三、签名与信任', en: 'Signatures and trust' };
  const fields: Field[] = [];
  const signer = input.verdict.facts?.signer;
  if (receipt) {
    const signature = receipt.proof.block.signature;
    const chain = input.trust?.chains.find((c) => c.chainId === receipt.ledger.chainId);
    if (verified && signer) {
      fields.push({
        label: { zh: '区块签名方', en: 'Block signed by' },
        value: `${signer.operator ?? receipt.ledger.chainId} · ${signatureAlgorithmName(signature.algorithm)} · 签名有效 / signature valid`,
      });
      fields.push({
        label: { zh: '签名密钥', en: 'Signing key' },
        value: signer.keyId,
        mono: true,
      });
      const compromisedSince = chain?.keys.find((k) => k.keyId === signer.keyId)?.compromisedSince;
      if (compromisedSince !== undefined) {
        fields.push({
          label: { zh: '密钥泄露标记', en: 'Key compromise' },
          value:
            `受信任文件标记该密钥自 ${formatTime(compromisedSince)} 起可能泄露；存证时间以此前的锚定为准 / ` +
            `marked compromised since then: the time proven is the anchor's, from before it`,
          tone: 'bad',
        });
      }
    } else {
      fields.push({
        label: { zh: '区块签名方', en: 'Block signed by' },
        value: `${signatureAlgorithmName(signature.algorithm)} · 未经核验 / not verified`,
        tone: 'muted',
      });
      fields.push({
        label: { zh: '收据所称密钥', en: 'Key claimed' },
        value: signature.keyId,
        mono: true,
        tone: 'muted',
      });
    }
    const creator = receipt.proof.tx.creator;
    fields.push({
      label: { zh: '交易提交方', en: 'Tx submitted by' },
      value: `${creator.mspId} / ${creator.id}${creator.role ? `（${creator.role}）` : ''}，由区块签名覆盖 / covered by the block signature`,
    });
    fields.push({
      label: { zh: '受信任文件', en: 'Trust file' },
      value: chain
        ? `为 ${chain.chainId} 固定 ${chain.keys.length} 把密钥${chain.operator ? `（${chain.operator}）` : ''} / ${chain.keys.length} key(s) pinned for ${chain.chainId}`
        : `未列出链 ${receipt.ledger.chainId} / does not name chain ${receipt.ledger.chainId}`,
      ...(chain ? {} : { tone: 'bad' as const }),
    });
  } else {
    fields.push({
      label: { zh: '签名', en: 'Signatures' },
      value: '未核验 / not checked',
      tone: 'muted',
    });
  }
  return { title, fields };
}

/** One verified anchor: which independent chain vouches for the evidence block, and since when. */
function anchorField(anchor: AnchorFact, index: number): Field {
  const operator = anchor.operator ? `（${anchor.operator}）` : '';
  if (anchor.kind === 'timestamp') {
    return {
      label: { zh: `时间戳 ${index + 1}`, en: `Time stamp ${index + 1}` },
      value:
        `${anchor.targetChainId}${operator} 可信时间戳 trusted time stamp (RFC 3161)，` +
        `${formatTime(anchor.genTime ?? anchor.anchoredAt)}（误差 accuracy ${anchor.accuracyMs ?? 0} ms）；` +
        `覆盖存证区块 covers evidence block #${anchor.sourceBlockNumber}；serial ${anchor.serialNumber}`,
    };
  }
  return {
    label: { zh: `锚定 ${index + 1}`, en: `Anchor ${index + 1}` },
    value:
      `${anchor.targetChainId}${operator} 区块 block #${anchor.targetBlockNumber}，` +
      `${formatTime(anchor.anchoredAt)}；覆盖存证区块 covers evidence block #${anchor.sourceBlockNumber}；` +
      `tx ${anchor.txId}`,
  };
}

function anchorSection(
  input: VerificationReportInput,
  receipt: Receipt | undefined,
): ReportSection {
  const title = { zh: '四、锚定', en: 'Anchors' };
  const anchors = input.verdict.anchors ?? [];
  if (anchors.length === 0) {
    const carried = receipt?.anchors?.length ?? 0;
    return {
      title,
      fields: [
        {
          label: { zh: '锚定证明', en: 'Anchor proofs' },
          value:
            carried === 0
              ? '无：该收据不含锚定证明 / none: the receipt carries no anchor proof'
              : `收据含 ${carried} 项锚定证明，均未通过或未核验 / the receipt carries ${carried}, none verified`,
          tone: carried === 0 ? 'muted' : 'bad',
        },
      ],
    };
  }
  const fields = anchors.slice(0, MAX_ANCHORS).map(anchorField);
  if (anchors.length > MAX_ANCHORS) {
    const more = anchors.length - MAX_ANCHORS;
    fields.push({
      label: { zh: '其余', en: 'More' },
      value: `另有 ${more} 项 / ${more} more`,
      tone: 'muted',
    });
  }
  return { title, fields };
}

function checkLines(input: VerificationReportInput, mask: (t: string) => string): CheckLine[] {
  const checks = [...input.verdict.checks];
  const done = new Set(checks.map((c) => c.step));
  if (CORE_STEPS.some((step) => done.has(step))) {
    // Show the steps a failure stopped before, so the reader sees what was not checked.
    const firstOther = checks.findIndex((c) => !CORE_STEPS.includes(c.step));
    const missing = CORE_STEPS.filter((step) => !done.has(step)).map((step): ReportCheck => ({
      step,
      status: 'skip',
      detail: '未检查 / not checked',
    }));
    checks.splice(firstOther < 0 ? checks.length : firstOther, 0, ...missing);
  }
  return checks.map((check) => ({
    status: check.status,
    step: STEP_LABELS[check.step] ?? { zh: check.step, en: '' },
    ...(check.code ? { code: check.code } : {}),
    detail: mask(clip(check.detail, MAX_DETAIL)),
  }));
}

/**
 * The report's content, masked and clipped, for either renderer.
 * @throws ValidationError `VALIDATION_FAILED` when `publicVerifyUrl` is not an http(s) URL.
 */
export function buildVerificationReport(input: VerificationReportInput): VerificationReportModel {
  const names = input.depositorName !== undefined ? [input.depositorName] : [];
  const mask = (t: string): string => maskText(t, { names });
  const receipt = tryParseReceipt(input.receipt);
  const verified = input.verdict.verdict === 'VERIFIED';
  const style = VERDICT_STYLES[input.verdict.verdict];
  const target = qrTarget(input.file.digests.sha256, input.publicVerifyUrl);
  const hasPage = target !== input.file.digests.sha256;
  const verifiedAt = Date.parse(input.verifiedAt);
  return {
    verdict: input.verdict.verdict,
    style,
    ...(input.verdict.code && input.verdict.code !== input.verdict.verdict
      ? { code: input.verdict.code }
      : {}),
    ...(verified && input.verdict.facts
      ? { existedBy: formatTime(input.verdict.facts.existedBy) }
      : {}),
    ...(verified && input.verdict.facts?.earliestAnchor
      ? { anchoredBy: formatTime(input.verdict.facts.earliestAnchor) }
      : {}),
    sections: [
      fileSection(input, receipt, mask),
      chainSection(input, receipt, verified),
      signatureSection(input, receipt, verified),
      anchorSection(input, receipt),
    ],
    checks: checkLines(input, mask),
    environment: {
      title: { zh: '六、核验环境', en: 'How this was verified' },
      fields: [
        {
          label: { zh: '受信任文件指纹', en: 'Trust file' },
          value: input.trustFingerprint ?? '未使用 / none used',
          mono: input.trustFingerprint !== undefined,
        },
        {
          label: { zh: '核验程序', en: 'Verifier' },
          value: `${input.verifier.name} ${input.verifier.version}`,
        },
        {
          label: { zh: '程序代码摘要', en: 'Verifier code' },
          value:
            input.verifier.codeDigest ?? '不可用（非构建版本）/ unavailable (not run from a build)',
          mono: input.verifier.codeDigest !== undefined,
        },
        { label: { zh: '核验时间', en: 'Verified at' }, value: formatTime(input.verifiedAt) },
      ],
    },
    qr: {
      target,
      caption: hasPage
        ? { zh: '扫码访问公开核验页面', en: 'Scan: public verification page' }
        : { zh: '扫码读取文件 SHA-256 摘要', en: 'Scan: SHA-256 of the file' },
      showTarget: hasPage,
    },
    createdAt: new Date(Number.isFinite(verifiedAt) ? verifiedAt : 0),
  };
}

/**
 * The report as a one-page A4 PDF. Deterministic for equal input (the PDF's creation date is
 * `verifiedAt`).
 * @throws ValidationError `VALIDATION_FAILED` when `publicVerifyUrl` is not an http(s) URL.
 */
export async function renderVerificationReportPdf(input: VerificationReportInput): Promise<Buffer> {
  const model = buildVerificationReport(input);
  const qr = await qrPng(model.qr.target);
  return drawVerificationReport(model, qr);
}

/**
 * The report as one self-contained HTML page: inline CSS, the QR code as a `data:` SVG, no script
 * and no external resource (a Content-Security-Policy forbids loading any).
 * @throws ValidationError `VALIDATION_FAILED` when `publicVerifyUrl` is not an http(s) URL.
 */
export function renderVerificationReportHtml(input: VerificationReportInput): string {
  return renderVerificationReportDocument(buildVerificationReport(input));
}

export type ReportFormat = 'pdf' | 'html';

/** The format a `--report` path asks for, from its extension; undefined for anything else. */
export function reportFormatOf(path: string): ReportFormat | undefined {
  const lower = path.toLowerCase();
  if (lower.endsWith('.pdf')) return 'pdf';
  if (lower.endsWith('.html') || lower.endsWith('.htm')) return 'html';
  return undefined;
}

/** The report in `format`, as bytes to write. */
export async function renderVerificationReport(
  input: VerificationReportInput,
  format: ReportFormat,
): Promise<Buffer> {
  return format === 'pdf'
    ? renderVerificationReportPdf(input)
    : Buffer.from(renderVerificationReportHtml(input), 'utf8');
}
