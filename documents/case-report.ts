/**
 * The case verification report of `evidence verify-all --report OUT.html|OUT.pdf`: one
 * self-contained HTML page or an A4 PDF of as many pages as the folder needs, in Chinese and
 * English, listing every exhibit of a folder with its outcome, the time its receipt proves, its
 * SHA-256, and how the answer was reached (the pinned trust files' fingerprints, the verifier's
 * version and the digest of its own code). The HTML has inline CSS, no script and a
 * Content-Security-Policy that loads nothing, and prints on A4 from any browser.
 *
 * Personal data in file names and details is masked (core/masking.ts), as in the single report.
 */

import { maskText } from '../core/masking';
import {
  ANCHORED_BY,
  LEGAL_NOTE,
  VERDICT_STYLES,
  clip,
  formatTime,
  type Label,
  type ReportVerdictName,
} from './labels';
import { COLORS, renderPdf, type CheckLine, type PdfLayout } from './pdf-layout';
import { escapeHtml } from './verification-report-html';
import { summarizeCase, type CaseItemOutcome, type CaseSummary } from './case-outcomes';

export type { CaseItemOutcome } from './case-outcomes';

export interface CaseReportItem {
  readonly file: string;
  readonly outcome: CaseItemOutcome;
  readonly code?: string;
  readonly detail?: string;
  readonly sha256?: string;
  /** When VERIFIED: what the receipt proves. */
  readonly existedBy?: string;
  /** When VERIFIED with anchors: the earliest time an anchoring chain or time stamp proves. */
  readonly earliestAnchor?: string;
  readonly chainId?: string;
  readonly blockNumber?: number;
}

export interface CaseReportInput {
  /** The folder as the user named it. */
  readonly folder: string;
  readonly items: readonly CaseReportItem[];
  readonly trustFiles: readonly { readonly path: string; readonly fingerprint: string }[];
  readonly verifier: {
    readonly name: string;
    readonly version: string;
    readonly codeDigest?: string;
    readonly node: string;
  };
  /** When the verification ran, RFC 3339. */
  readonly verifiedAt: string;
}

export const CASE_REPORT_TITLE: Label = {
  zh: '电子证据批量核验报告',
  en: 'Case verification report',
};

/** Labels of the outcomes that are not verifier verdicts. */
const OTHER_OUTCOMES: Readonly<
  Record<Exclude<CaseItemOutcome, ReportVerdictName>, Label & { color: string }>
> = {
  UNREADABLE: { zh: '无法读取', en: 'UNREADABLE', color: '#b71c1c' },
  FILE_MISSING: { zh: '文件缺失', en: 'FILE_MISSING', color: '#b71c1c' },
  NO_RECEIPT: { zh: '无存证收据，未核验', en: 'NO_RECEIPT', color: '#6b7280' },
};

function outcomeLabel(outcome: CaseItemOutcome): Label & { color: string } {
  if (outcome in OTHER_OUTCOMES) {
    return OTHER_OUTCOMES[outcome as keyof typeof OTHER_OUTCOMES];
  }
  const style = VERDICT_STYLES[outcome as ReportVerdictName];
  return { zh: style.zh, en: style.en, color: style.color };
}

const CSS = `
@page { size: A4; margin: 12mm 12mm; }
* { box-sizing: border-box; }
body { margin: 0; color: #111827; background: #fff;
  font: 10px/1.4 "Noto Sans SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif; }
main { max-width: 186mm; margin: 0 auto; padding: 8mm 0; }
h1 { margin: 0; font-size: 22px; color: #1f3a5f; }
.subtitle { margin: 0 0 8px; color: #6b7280; font-size: 13px; }
.summary { border-left: 6px solid var(--c); background: #f9fafb; padding: 6px 10px; margin-bottom: 8px; }
.summary .name { font-size: 20px; font-weight: 700; color: var(--c); }
h2 { font-size: 12px; color: #1f3a5f; margin: 10px 0 3px; padding-bottom: 2px; border-bottom: 1px solid #d1d5db; }
.en { font-weight: 400; color: #6b7280; margin-left: 4px; }
table { border-collapse: collapse; width: 100%; }
#exhibits { table-layout: fixed; }
#exhibits td { overflow-wrap: anywhere; }
#exhibits .sha { font-size: 8px; }
th, td { text-align: left; vertical-align: top; padding: 2px 4px; border-bottom: 1px solid #eef0f3; }
thead th { font-weight: 700; white-space: nowrap; border-bottom: 1px solid #d1d5db; }
.mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "Liberation Mono", monospace; word-break: break-all; }
.outcome { font-weight: 700; white-space: nowrap; }
.muted { color: #6b7280; }
footer { margin-top: 10px; padding-top: 4px; border-top: 1px solid #d1d5db; color: #6b7280; font-size: 9px; }
`;

function bilingual(label: Label): string {
  return `${escapeHtml(label.zh)}<span class="en">${escapeHtml(label.en)}</span>`;
}

function itemRow(item: CaseReportItem, index: number): string {
  const outcome = outcomeLabel(item.outcome);
  const what =
    item.outcome === 'VERIFIED' && item.existedBy
      ? `存在不晚于 Existed no later than ${escapeHtml(formatTime(item.existedBy))}` +
        (item.chainId
          ? `<div class="muted">${escapeHtml(item.chainId)}${item.blockNumber === undefined ? '' : ` · #${item.blockNumber}`}</div>`
          : '') +
        (item.earliestAnchor
          ? `<div>${escapeHtml(ANCHORED_BY.zh)} ${escapeHtml(ANCHORED_BY.en)}: ${escapeHtml(formatTime(item.earliestAnchor))}</div>`
          : '')
      : escapeHtml(
          maskText(
            [item.code && item.code !== item.outcome ? `${item.code}:` : '', item.detail ?? '']
              .join(' ')
              .trim(),
          ),
        );
  return `<tr><td>${index + 1}</td><td class="mono">${escapeHtml(maskText(item.file))}</td>
<td class="outcome" style="color:${outcome.color}">${escapeHtml(outcome.zh)}<div class="en">${escapeHtml(outcome.en)}</div></td>
<td>${what}</td><td class="mono sha">${escapeHtml(item.sha256 ?? '—')}</td></tr>`;
}

function summaryOf(input: CaseReportInput): CaseSummary {
  return summarizeCase(input.items.map((item) => item.outcome));
}

/** `核验通过 VERIFIED 11 · 不一致 MISMATCH 1`, in the order of the outcomes. */
function countText(counts: CaseSummary['counts']): string {
  return (Object.entries(counts) as [CaseItemOutcome, number][])
    .map(([outcome, count]) => `${outcomeLabel(outcome).zh} ${outcome} ${count}`)
    .join(' · ');
}

/** The HTML page for `input`. */
export function renderCaseReportHtml(input: CaseReportInput): string {
  const { counts, allVerified } = summaryOf(input);
  const overall = allVerified
    ? { zh: '全部核验通过', en: 'Every receipt verified', color: VERDICT_STYLES.VERIFIED.color }
    : { zh: '存在未通过核验的证据', en: 'NOT every receipt verified', color: '#c62828' };
  const countLine = escapeHtml(countText(counts));
  const trust = input.trustFiles
    .map(
      (t) =>
        `<tr><th>${escapeHtml(t.path)}</th><td class="mono">${escapeHtml(t.fingerprint)}</td></tr>`,
    )
    .join('');
  const v = input.verifier;
  return `<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(`${CASE_REPORT_TITLE.zh} ${CASE_REPORT_TITLE.en}`)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<h1>${escapeHtml(CASE_REPORT_TITLE.zh)}</h1>
<p class="subtitle">${escapeHtml(CASE_REPORT_TITLE.en)} — ${escapeHtml(maskText(input.folder))}</p>
<div class="summary" style="--c:${overall.color}">
<div class="name">${escapeHtml(overall.zh)}<span class="en">${escapeHtml(overall.en)}</span></div>
<div>${input.items.length} 项 items: ${countLine}</div>
<div class="muted">核验时间 Verified at ${escapeHtml(formatTime(input.verifiedAt))}</div>
</div>
<h2>${bilingual({ zh: '证据清单', en: 'Exhibits' })}</h2>
<table id="exhibits"><colgroup><col style="width:4%"><col style="width:25%"><col style="width:11%"><col style="width:33%"><col style="width:27%"></colgroup><thead><tr><th>#</th><th>${bilingual({ zh: '文件', en: 'File' })}</th><th>${bilingual({ zh: '结论', en: 'Outcome' })}</th><th>${bilingual({ zh: '证明事项', en: 'Proven / reason' })}</th><th>SHA-256</th></tr></thead>
<tbody>${input.items.map(itemRow).join('\n')}</tbody></table>
<h2>${bilingual({ zh: '受信任文件', en: 'Pinned trust files' })}</h2>
<table>${trust}</table>
<h2>${bilingual({ zh: '核验工具', en: 'Verifier' })}</h2>
<table><tr><th>${escapeHtml(v.name)}</th><td>${escapeHtml(v.version)} · Node ${escapeHtml(v.node)}</td></tr>
<tr><th>${bilingual({ zh: '代码摘要', en: 'Code digest' })}</th><td class="mono">${escapeHtml(v.codeDigest ?? '—')}</td></tr></table>
<footer><p>${escapeHtml(LEGAL_NOTE.zh)}</p><p>${escapeHtml(LEGAL_NOTE.en)}</p></footer>
</main>
</body>
</html>
`;
}

const CHECK_STATUS: Readonly<Record<CaseItemOutcome, 'pass' | 'fail' | 'skip'>> = {
  VERIFIED: 'pass',
  MISMATCH: 'fail',
  PROOF_INVALID: 'fail',
  UNTRUSTED: 'fail',
  NOT_ON_CHAIN: 'fail',
  ON_CHAIN_UNVERIFIED: 'fail',
  UNREADABLE: 'fail',
  FILE_MISSING: 'fail',
  NO_RECEIPT: 'skip',
};

/** One exhibit as a line of the PDF's table: mark, outcome, then the file, what is proven, digest. */
function itemLine(item: CaseReportItem, index: number): CheckLine {
  const outcome = outcomeLabel(item.outcome);
  const file = `${index + 1}. ${maskText(item.file)}`;
  const proven =
    item.outcome === 'VERIFIED' && item.existedBy
      ? `存在不晚于 Existed no later than ${formatTime(item.existedBy)}` +
        (item.chainId
          ? ` · ${item.chainId}${item.blockNumber === undefined ? '' : ` #${item.blockNumber}`}`
          : '') +
        (item.earliestAnchor
          ? `\n${ANCHORED_BY.zh} ${ANCHORED_BY.en}: ${formatTime(item.earliestAnchor)}`
          : '')
      : maskText(item.detail ?? (item.outcome === 'NO_RECEIPT' ? '未核验 not checked' : ''));
  return {
    status: CHECK_STATUS[item.outcome],
    step: { zh: outcome.zh, en: outcome.en },
    ...(item.code && item.code !== item.outcome ? { code: item.code } : {}),
    detail: [file, proven, item.sha256 ?? ''].filter((part) => part !== '').join('\n'),
  };
}

function drawCaseReport(layout: PdfLayout, input: CaseReportInput): void {
  const { counts, allVerified } = summaryOf(input);
  layout.y = layout.write(CASE_REPORT_TITLE.zh, layout.left, layout.y, layout.width, 19, {
    bold: true,
    color: COLORS.accent,
  });
  layout.y = layout.write(
    `${CASE_REPORT_TITLE.en} — ${maskText(input.folder)}`,
    layout.left,
    layout.y,
    layout.width,
    10.5,
    { color: COLORS.muted },
  );
  layout.y = layout.write(
    allVerified
      ? '全部核验通过 Every receipt verified'
      : '存在未通过核验的证据 NOT every receipt verified',
    layout.left,
    layout.y + layout.size(4),
    layout.width,
    13,
    { bold: true, color: allVerified ? VERDICT_STYLES.VERIFIED.color : COLORS.bad },
  );
  layout.paragraph(
    `${input.items.length} 项 items: ${countText(counts)}` +
      ` · 核验时间 Verified at ${formatTime(input.verifiedAt)}`,
    8.4,
  );
  layout.heading({ zh: '一、证据清单', en: 'Exhibits' });
  layout.checks(input.items.map(itemLine));
  layout.heading({ zh: '二、受信任文件', en: 'Pinned trust files' });
  layout.fields(
    input.trustFiles.map((t) => ({
      label: { zh: '受信任文件', en: clip(maskText(t.path), 40) },
      value: t.fingerprint,
      mono: true,
    })),
  );
  layout.heading({ zh: '三、核验工具', en: 'Verifier' });
  const v = input.verifier;
  layout.fields([
    {
      label: { zh: '名称与版本', en: 'Name, version' },
      value: `${v.name} ${v.version} · Node ${v.node}`,
    },
    {
      label: { zh: '代码摘要', en: 'Code digest' },
      value: v.codeDigest ?? '—',
      mono: true,
    },
  ]);
  layout.closingNote(LEGAL_NOTE);
}

/** The report as an A4 PDF of one or more pages; byte-identical for equal input. */
export function renderCaseReportPdf(input: CaseReportInput): Promise<Buffer> {
  return renderPdf(
    {
      title: `${CASE_REPORT_TITLE.zh} ${CASE_REPORT_TITLE.en}`,
      subject: maskText(input.folder),
      creationDate: new Date(Date.parse(input.verifiedAt)),
    },
    (layout) => drawCaseReport(layout, input),
    { onePage: false },
  );
}
