/**
 * The verification report as one self-contained HTML page, from the same model as the PDF. Inline
 * CSS only; the QR code is a `data:` SVG; no script. A Content-Security-Policy forbids loading
 * anything, so opening the file on an air-gapped machine makes no request. Prints on one A4 page.
 */

import {
  ANCHORED_BY,
  CHECK_MARKS,
  CHECKS_TITLE,
  LEGAL_NOTE,
  REPORT_TITLE,
  type Label,
} from './labels';
import type { CheckLine, Field } from './pdf-layout';
import { qrSvgDataUri } from './qr';
import type { ReportSection, VerificationReportModel } from './verification-report';

/** Escapes text for HTML element content and double-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const CSS = `
@page { size: A4; margin: 12mm 14mm; }
* { box-sizing: border-box; }
body { margin: 0; color: #111827; background: #fff;
  font: 10.5px/1.45 "Noto Sans SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif; }
main { max-width: 182mm; margin: 0 auto; padding: 8mm 0; }
header { display: flex; gap: 14px; align-items: flex-start; }
header .titles { flex: 1; }
h1 { margin: 0; font-size: 24px; color: #1f3a5f; }
.subtitle { margin: 0 0 8px; color: #6b7280; font-size: 13px; }
.verdict { border-left: 6px solid var(--c); background: var(--t); padding: 8px 12px; }
.verdict .name { font-size: 28px; font-weight: 700; color: var(--c); }
.verdict .name span { font-size: 19px; margin-left: 10px; }
.verdict .code, .verdict .existed { font-weight: 700; }
.verdict .code { color: var(--c); }
.verdict .en { color: #6b7280; }
figure.qr { margin: 0; width: 118px; text-align: center; color: #6b7280; font-size: 9px; }
figure.qr img { width: 118px; height: 118px; image-rendering: pixelated; }
figure.qr .target { word-break: break-all; }
h2 { font-size: 13px; color: #1f3a5f; margin: 10px 0 3px; padding-bottom: 2px; border-bottom: 1px solid #d1d5db; }
h2 .en { font-weight: 400; font-size: 11px; margin-left: 6px; }
h2 .note { font-weight: 400; font-size: 10px; color: #c62828; margin-left: 10px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: 1.5px 4px 1.5px 0; }
th { width: 34%; font-weight: 700; white-space: nowrap; }
th .en, td.step .en { font-weight: 400; color: #6b7280; font-size: 0.9em; margin-left: 4px; }
.mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "Liberation Mono", monospace; word-break: break-all; }
.bad { color: #c62828; }
.muted { color: #6b7280; }
td.mark { width: 16px; font-weight: 700; font-size: 13px; }
td.step { width: 30%; font-weight: 700; white-space: nowrap; }
td .code { font-weight: 700; }
footer { margin-top: 10px; padding-top: 4px; border-top: 1px solid #d1d5db; color: #6b7280; font-size: 9px; }
`;

function label(l: Label): string {
  return `${escapeHtml(l.zh)}${l.en ? `<span class="en">${escapeHtml(l.en)}</span>` : ''}`;
}

function fieldRow(field: Field): string {
  const classes = [field.mono ? 'mono' : '', field.tone ?? ''].filter((c) => c !== '').join(' ');
  const cls = classes ? ` class="${classes}"` : '';
  return `<tr><th>${label(field.label)}</th><td${cls}>${escapeHtml(field.value)}</td></tr>`;
}

function section(s: ReportSection): string {
  const note = s.note
    ? `<span class="note">${escapeHtml(`${s.note.zh} / ${s.note.en}`)}</span>`
    : '';
  return `<section><h2>${escapeHtml(s.title.zh)}<span class="en">${escapeHtml(s.title.en)}</span>${note}</h2>
<table>${s.fields.map(fieldRow).join('')}</table></section>`;
}

function checkRow(line: CheckLine): string {
  const mark = CHECK_MARKS[line.status];
  const code = line.code
    ? `<span class="code" style="color:${mark.color}">${escapeHtml(line.code)}:</span> `
    : '';
  const muted = line.status === 'skip' ? ' class="muted"' : '';
  return `<tr><td class="mark" style="color:${mark.color}">${mark.html}</td><td class="step">${label(line.step)}</td><td${muted}>${code}${escapeHtml(line.detail)}</td></tr>`;
}

/** The HTML page of `model`. */
export function renderVerificationReportDocument(model: VerificationReportModel): string {
  const { style } = model;
  const target = model.qr.showTarget
    ? `<div class="target mono">${escapeHtml(model.qr.target)}</div>`
    : '';
  return `<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(`${REPORT_TITLE.zh} ${REPORT_TITLE.en} — ${style.zh} ${model.verdict}`)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<header>
<div class="titles">
<h1>${escapeHtml(REPORT_TITLE.zh)}</h1>
<p class="subtitle">${escapeHtml(REPORT_TITLE.en)}</p>
<div class="verdict" style="--c:${style.color};--t:${style.tint}">
<div class="name">${escapeHtml(style.zh)}<span>${escapeHtml(style.en)}</span></div>
${model.code ? `<div class="code">代码 Code: ${escapeHtml(model.code)}</div>` : ''}
${model.existedBy ? `<div class="existed">存在不晚于 Existed no later than: ${escapeHtml(model.existedBy)}</div>` : ''}
${model.anchoredBy ? `<div class="existed">${ANCHORED_BY.zh} ${ANCHORED_BY.en}: ${escapeHtml(model.anchoredBy)}</div>` : ''}
<div>${escapeHtml(style.meaning.zh)}</div>
<div class="en">${escapeHtml(style.meaning.en)}</div>
</div>
</div>
<figure class="qr"><img alt="QR" src="${qrSvgDataUri(model.qr.target)}">
<figcaption>${escapeHtml(model.qr.caption.zh)}<br>${escapeHtml(model.qr.caption.en)}${target}</figcaption></figure>
</header>
${model.sections.map(section).join('\n')}
<section><h2>${escapeHtml(CHECKS_TITLE.zh)}<span class="en">${escapeHtml(CHECKS_TITLE.en)}</span></h2>
<table>${model.checks.map(checkRow).join('')}</table></section>
${section(model.environment)}
<footer><p>${escapeHtml(LEGAL_NOTE.zh)}</p><p>${escapeHtml(LEGAL_NOTE.en)}</p></footer>
</main>
</body>
</html>
`;
}
