/**
 * Draws the verification report model on one A4 page: title and verdict band beside the QR code,
 * then the sections, the checks and the verification environment, then the legal note.
 */

import { FONT_BOLD } from './fonts';
import { ANCHORED_BY, CHECKS_TITLE, LEGAL_NOTE, REPORT_TITLE, clip } from './labels';
import { COLORS, renderPdf, type PdfLayout } from './pdf-layout';
import type { VerificationReportModel } from './verification-report';

/** Title, verdict band and QR code; leaves `layout.y` below them. */
function drawHeader(layout: PdfLayout, model: VerificationReportModel, qr: Buffer): void {
  const { doc } = layout;
  const top = layout.y;
  const qrSize = layout.size(92);
  const qrX = layout.right - qrSize;
  doc.image(qr, qrX, top, { width: qrSize, height: qrSize });
  const captionX = qrX - layout.size(10);
  const captionW = qrSize + layout.size(10);
  let captionEnd = layout.write(
    model.qr.caption.zh,
    captionX,
    top + qrSize + layout.size(1),
    captionW,
    6.8,
    {
      align: 'center',
      color: COLORS.muted,
    },
  );
  captionEnd = layout.write(model.qr.caption.en, captionX, captionEnd, captionW, 6.3, {
    align: 'center',
    color: COLORS.muted,
  });
  if (model.qr.showTarget) {
    captionEnd = layout.write(clip(model.qr.target, 140), captionX, captionEnd, captionW, 5.6, {
      align: 'center',
      color: COLORS.muted,
      mono: true,
    });
  }

  const leftW = layout.width - qrSize - layout.size(16);
  let y = layout.write(REPORT_TITLE.zh, layout.left, top - layout.size(2), leftW, 19, {
    bold: true,
    color: COLORS.accent,
  });
  y = layout.write(REPORT_TITLE.en, layout.left, y, leftW, 10.5, { color: COLORS.muted });
  y += layout.size(7);

  const { style } = model;
  const bar = layout.size(5);
  const pad = layout.size(8);
  const innerX = layout.left + bar + pad;
  const innerW = leftW - bar - 2 * pad;
  const verdictPoints = 22;
  const enPoints = 15;
  const lines: { text: string; points: number; bold?: boolean; color?: string }[] = [];
  if (model.code)
    lines.push({ text: `代码 Code: ${model.code}`, points: 8, bold: true, color: style.color });
  if (model.existedBy) {
    lines.push({
      text: `存在不晚于 Existed no later than: ${model.existedBy}`,
      points: 8.4,
      bold: true,
    });
  }
  if (model.anchoredBy) {
    lines.push({
      text: `${ANCHORED_BY.zh} ${ANCHORED_BY.en}: ${model.anchoredBy}`,
      points: 8,
      bold: true,
    });
  }
  lines.push({ text: style.meaning.zh, points: 8.2 });
  lines.push({ text: style.meaning.en, points: 7.4, color: COLORS.muted });
  const headline = layout.measure(style.zh, verdictPoints, innerW, { bold: true });
  const height =
    pad * 2 +
    headline +
    layout.size(2) +
    lines.reduce(
      (sum, l) => sum + layout.measure(l.text, l.points, innerW, { bold: l.bold === true }),
      0,
    );
  doc.rect(layout.left, y, leftW, height).fill(style.tint);
  doc.rect(layout.left, y, bar, height).fill(style.color);

  let lineY = y + pad;
  doc.font(FONT_BOLD).fontSize(layout.size(verdictPoints));
  const zhWidth = doc.widthOfString(style.zh);
  layout.write(style.zh, innerX, lineY, innerW, verdictPoints, { bold: true, color: style.color });
  layout.write(
    style.en,
    innerX + zhWidth + layout.size(10),
    lineY + layout.size(verdictPoints - enPoints) * 0.72,
    innerW - zhWidth - layout.size(10),
    enPoints,
    {
      bold: true,
      color: style.color,
    },
  );
  lineY += headline + layout.size(2);
  for (const line of lines) {
    lineY = layout.write(line.text, innerX, lineY, innerW, line.points, {
      bold: line.bold === true,
      ...(line.color ? { color: line.color } : {}),
    });
  }
  layout.y = Math.max(y + height, captionEnd) + layout.size(2);
}

/** The one-page PDF of `model`, with the QR code given as PNG bytes. */
export function drawVerificationReport(
  model: VerificationReportModel,
  qr: Buffer,
): Promise<Buffer> {
  return renderPdf(
    {
      title: `${REPORT_TITLE.zh} ${REPORT_TITLE.en}`,
      subject: `${model.style.zh} ${model.verdict}`,
      creationDate: model.createdAt,
      keywords: model.verdict,
    },
    (layout) => {
      drawHeader(layout, model, qr);
      for (const section of model.sections) {
        layout.heading(section.title, section.note);
        layout.fields(section.fields);
      }
      layout.heading(CHECKS_TITLE);
      layout.checks(model.checks);
      layout.heading(model.environment.title);
      layout.fields(model.environment.fields);
      layout.closingNote(LEGAL_NOTE, { before: 6, reserve: 40, zh: 6.8, en: 6.3 });
    },
  );
}
