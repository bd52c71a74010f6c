/**
 * The bilingual vocabulary of court-facing documents, one table per concept, shared by the PDF and
 * HTML renderers so both say exactly the same thing. Chinese first (the court's language), English
 * second. Also the formatting of times (UTC as recorded, and Beijing time for the reader), sizes
 * and check marks.
 */

import { knownSignatureAlgorithm } from '../core/algorithms';
import type { VerdictName } from '../core/verify';

/**
 * The verdicts a document reports: core's, and `ON_CHAIN_UNVERIFIED`, the answer of an online
 * lookup without a receipt (a node says the file is on chain; nothing was verified). The CLI's
 * verdicts are these.
 */
export type ReportVerdictName = VerdictName | 'ON_CHAIN_UNVERIFIED';

/** A label in both languages. */
export interface Label {
  readonly zh: string;
  readonly en: string;
}

export interface VerdictStyle {
  readonly zh: string;
  readonly en: string;
  /** What the verdict means, in both languages. */
  readonly meaning: Label;
  /** Text colour of the verdict; `tint` is the band behind it. */
  readonly color: string;
  readonly tint: string;
}

export const VERDICT_STYLES: Readonly<Record<ReportVerdictName, VerdictStyle>> = {
  VERIFIED: {
    zh: '核验通过',
    en: 'VERIFIED',
    meaning: {
      zh: '该文件即存证收据所对应的文件；收据中的各项证明均成立，并经受信任文件所列密钥验证。',
      en: 'The file is the one the receipt was issued for; every proof in the receipt holds and is signed by a key the trust file pins.',
    },
    color: '#1a7f37',
    tint: '#e6f4ea',
  },
  MISMATCH: {
    zh: '不一致',
    en: 'MISMATCH',
    meaning: {
      zh: '该文件与存证收据所记录的文件不一致（摘要不同）。',
      en: 'The file is not the one the receipt was issued for (its digests differ).',
    },
    color: '#c62828',
    tint: '#fdecea',
  },
  PROOF_INVALID: {
    zh: '证明无效',
    en: 'PROOF_INVALID',
    meaning: {
      zh: '存证收据格式错误，或其中的证明不成立。',
      en: 'The receipt is malformed or its proofs do not hold.',
    },
    color: '#b71c1c',
    tint: '#fdecea',
  },
  UNTRUSTED: {
    zh: '不受信任',
    en: 'UNTRUSTED',
    meaning: {
      zh: '区块签名所用密钥不在受信任文件为该链及该时间所列的密钥之中。',
      en: 'The block is not signed by a key the trust file pins for its chain and time.',
    },
    color: '#b45309',
    tint: '#fff4e5',
  },
  NOT_ON_CHAIN: {
    zh: '未上链',
    en: 'NOT_ON_CHAIN',
    meaning: {
      zh: '所查询的节点没有该文件的存证记录。',
      en: 'The node asked has no record of this file.',
    },
    color: '#4b5563',
    tint: '#f1f3f5',
  },
  ON_CHAIN_UNVERIFIED: {
    zh: '已上链·未核验',
    en: 'ON_CHAIN_UNVERIFIED',
    meaning: {
      zh: '节点称该文件已上链，但未提供收据，未进行任何密码学核验。',
      en: 'The node reports the file on chain; without a receipt nothing was verified.',
    },
    color: '#4b5563',
    tint: '#f1f3f5',
  },
};

export const REPORT_TITLE: Label = {
  zh: '电子数据存证核验报告',
  en: 'Electronic Evidence Verification Report',
};

export const CHECKS_TITLE: Label = { zh: '五、核验步骤', en: 'Checks' };

/** The earliest time an independent party (an anchoring chain or a time-stamp authority) proves. */
export const ANCHORED_BY: Label = {
  zh: '经独立第三方（锚定链或可信时间戳）证明不晚于',
  en: 'Independently proven no later than',
};

/**
 * A signature algorithm as a reader knows it: its name and standard, as the compliance dossier
 * lists them; the identifier itself for one the dossier does not list.
 */
export function signatureAlgorithmName(algorithm: string): string {
  const known = knownSignatureAlgorithm(algorithm);
  return known ? `${known.name} (${known.standard})` : algorithm;
}

/** Names of the verification steps (core's, the CLI's `online`, and anchors). */
export const STEP_LABELS: Readonly<Record<string, Label>> = {
  receipt: { zh: '收据格式', en: 'Receipt' },
  digest: { zh: '文件摘要', en: 'Digest' },
  inclusion: { zh: '默克尔包含证明', en: 'Inclusion' },
  transaction: { zh: '交易', en: 'Transaction' },
  block: { zh: '区块', en: 'Block' },
  signature: { zh: '区块签名', en: 'Signature' },
  anchor: { zh: '锚定', en: 'Anchor' },
  online: { zh: '在线查询', en: 'Online lookup' },
};

/** Core's steps in the order it runs them; those a failure left unchecked are shown as skipped. */
export const CORE_STEPS: readonly string[] = [
  'receipt',
  'digest',
  'inclusion',
  'transaction',
  'block',
  'signature',
];

export type CheckStatus = 'pass' | 'fail' | 'skip';

/**
 * Marks of check results. Noto Sans SC has no U+2717 (✗), so PDFs draw the multiplication sign
 * U+00D7 (×) for a failure; HTML uses ✗.
 */
export const CHECK_MARKS: Readonly<
  Record<CheckStatus, { pdf: string; html: string; color: string }>
> = {
  pass: { pdf: '✓', html: '✓', color: '#1a7f37' },
  fail: { pdf: '×', html: '✗', color: '#c62828' },
  skip: { pdf: '–', html: '–', color: '#6b7280' },
};

export const NOT_PROVEN: Label = {
  zh: '以下为收据所载内容，未经核验证实',
  en: 'as stated in the receipt, not proven',
};

/** The legal frame, printed at the foot of every verification report. */
export const LEGAL_NOTE: Label = {
  zh: '说明：核验通过仅表明该文件自上链时起未被篡改；上链前数据的来源、生成与存储情况须另行证明（参见《人民法院在线诉讼规则》第十六条至第十九条）。本报告由核验程序离线生成，可由任何人使用同一收据、受信任文件与程序复核。',
  en: "Note: VERIFIED shows the file is unaltered since it went on chain; its source, generation and storage before deposit must be shown separately (Online Litigation Rules of the People's Courts, arts. 16-19). This report was produced offline and can be reproduced by anyone with the same receipt, trust file and verifier.",
};

const BEIJING_OFFSET_MS = 8 * 60 * 60 * 1000;

/** Beijing time (UTC+8) of an RFC 3339 time, `YYYY-MM-DD HH:MM:SS`; `undefined` if unparsable. */
export function beijingTime(iso: string): string | undefined {
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) return undefined;
  return new Date(ms + BEIJING_OFFSET_MS).toISOString().slice(0, 19).replace('T', ' ');
}

/** `2026-11-28T10:00:00.000Z（北京时间 2026-11-28 18:00:00）`: the recorded value, then local. */
export function formatTime(iso: string): string {
  const local = beijingTime(iso);
  return local === undefined ? iso : `${iso}（北京时间 ${local}）`;
}

/** `12,345 字节 bytes (12.1 KiB)`. */
export function formatSize(bytes: number): string {
  if (!Number.isSafeInteger(bytes) || bytes < 0) return String(bytes);
  const grouped = bytes.toLocaleString('en-US');
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = -1;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const human = unit < 0 ? '' : ` (${value.toFixed(1)} ${units[unit] as string})`;
  return `${grouped} 字节 bytes${human}`;
}

/** `text` cut to `max` characters with an ellipsis: attacker-controlled text cannot grow a page. */
export function clip(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}

/** The last segment of a path: reports name files, never the folders they sat in. */
export function baseName(path: string): string {
  const parts = path.split(/[\\/]/).filter((p) => p !== '');
  return parts[parts.length - 1] ?? path;
}
