/**
 * A small page-layout layer over pdfkit shared by the court-facing PDFs: bilingual section
 * headings, label/value rows, digest rows in a monospaced face, check tables, and a renderer that
 * keeps one-page documents on one page (by drawing again at a smaller scale when content would
 * overflow) and makes the bytes reproducible (creation date supplied by the caller, no random IDs:
 * pdfkit derives the file ID from the document info).
 */

import PDFDocument from 'pdfkit';
import { FONT_BOLD, FONT_REGULAR, MONOSPACE_FEATURES, loadReportFonts } from './fonts';
import { CHECK_MARKS, type CheckStatus, type Label } from './labels';

export const A4 = { width: 595.28, height: 841.89 } as const;
export const MARGIN = { top: 34, left: 40, right: 40, bottom: 30 } as const;
/** Content never goes below this line, which keeps pdfkit from starting a page on its own. */
const CONTENT_BOTTOM = A4.height - MARGIN.bottom - 8;

export const COLORS = {
  text: '#111827',
  muted: '#6b7280',
  rule: '#d1d5db',
  bad: '#c62828',
  accent: '#1f3a5f',
} as const;

/** One label/value row. */
export interface Field {
  readonly label: Label;
  readonly value: string;
  /** Set in the monospaced (half-width) face: digests, ids, keys. */
  readonly mono?: boolean;
  /** `bad` draws the value in red (a value that contradicts the receipt). */
  readonly tone?: 'bad' | 'muted';
}

/** One line of a check table. */
export interface CheckLine {
  readonly status: CheckStatus;
  readonly step: Label;
  readonly code?: string;
  readonly detail: string;
}

export interface PdfMeta {
  readonly title: string;
  readonly subject: string;
  /** Written as the PDF's CreationDate; the only time in the file, so equal input gives equal bytes. */
  readonly creationDate: Date;
  readonly keywords?: string;
}

/** Where drawing happens, at one scale. Coordinates in PDF points, y growing downwards. */
export class PdfLayout {
  readonly doc: PDFKit.PDFDocument;
  readonly scale: number;
  readonly left = MARGIN.left;
  readonly width = A4.width - MARGIN.left - MARGIN.right;
  readonly #pageBreaks: boolean;
  y: number = MARGIN.top;
  /** Set when something did not fit on a page that may not break. */
  overflowed = false;
  /** Lowest y content may reach; lower it to keep room for a footer. */
  bottom: number = CONTENT_BOTTOM;

  constructor(doc: PDFKit.PDFDocument, scale: number, pageBreaks: boolean) {
    this.doc = doc;
    this.scale = scale;
    this.#pageBreaks = pageBreaks;
  }

  get right(): number {
    return this.left + this.width;
  }

  /** A font size at this layout's scale. */
  size(points: number): number {
    return points * this.scale;
  }

  /** Makes room for `height` points: a new page where pages may break, else notes the overflow. */
  ensure(height: number): void {
    if (this.y + height <= this.bottom) return;
    if (this.#pageBreaks) {
      this.doc.addPage();
      this.y = MARGIN.top;
    } else {
      this.overflowed = true;
    }
  }

  /** Height of `text` set at `points` in the given face within `width`. */
  measure(text: string, points: number, width: number, options: TextStyle = {}): number {
    this.#font(points, options);
    return this.doc.heightOfString(text, this.#options(width, options));
  }

  /** Draws `text` at (x, y) and returns the y below it. Does not move `this.y`. */
  write(
    text: string,
    x: number,
    y: number,
    width: number,
    points: number,
    options: TextStyle = {},
  ): number {
    this.#font(points, options);
    this.doc.fillColor(options.color ?? COLORS.text);
    this.doc.text(text, x, y, this.#options(width, options));
    return this.doc.y;
  }

  #font(points: number, options: TextStyle): void {
    this.doc.font(options.bold ? FONT_BOLD : FONT_REGULAR).fontSize(this.size(points));
  }

  #options(width: number, options: TextStyle): PDFKit.Mixins.TextOptions {
    return {
      width,
      lineGap: this.size(options.lineGap ?? 1),
      ...(options.mono ? { features: MONOSPACE_FEATURES } : {}),
      ...(options.align ? { align: options.align } : {}),
    };
  }

  /** A bilingual label on one line when it fits (Chinese bold, English muted), else on two. */
  label(label: Label, x: number, y: number, width: number, points: number): number {
    const zhWidth = this.#textWidth(label.zh, points, true);
    const enPoints = points * 0.9;
    const enWidth = this.#textWidth(label.en, enPoints, false);
    const gap = this.size(3);
    if (zhWidth + gap + enWidth <= width) {
      const end = this.write(label.zh, x, y, width, points, { bold: true });
      this.write(
        label.en,
        x + zhWidth + gap,
        y + this.size(points - enPoints) * 0.8,
        width - zhWidth - gap,
        enPoints,
        {
          color: COLORS.muted,
        },
      );
      return end;
    }
    const next = this.write(label.zh, x, y, width, points, { bold: true });
    return this.write(label.en, x, next, width, enPoints, { color: COLORS.muted });
  }

  #textWidth(text: string, points: number, bold: boolean): number {
    this.#font(points, { bold });
    return this.doc.widthOfString(text);
  }

  /** A numbered section heading with a rule under it. */
  heading(title: Label, note?: Label): void {
    const points = 9.6;
    this.ensure(this.size(points * 2.6));
    this.y += this.size(5);
    const top = this.y;
    const zhWidth = this.#textWidth(title.zh, points, true);
    this.write(title.zh, this.left, top, this.width, points, { bold: true, color: COLORS.accent });
    let x = this.left + zhWidth + this.size(5);
    this.write(title.en, x, top + this.size(1.2), this.width, points * 0.85, {
      color: COLORS.accent,
    });
    x += this.#textWidth(title.en, points * 0.85, false) + this.size(8);
    if (note) {
      const text = `${note.zh} / ${note.en}`;
      this.write(text, x, top + this.size(1.6), this.right - x, points * 0.75, {
        color: COLORS.bad,
      });
    }
    this.y = top + this.size(points * 1.45);
    this.doc
      .moveTo(this.left, this.y)
      .lineTo(this.right, this.y)
      .lineWidth(0.6)
      .strokeColor(COLORS.rule)
      .stroke();
    this.y += this.size(3);
  }

  /** Label/value rows; labels in a column of `labelWidth` points. */
  fields(fields: readonly Field[], labelWidth = 132, points = 8.4): void {
    const labelW = this.size(labelWidth);
    const valueX = this.left + labelW;
    const valueW = this.width - labelW;
    for (const field of fields) {
      const style: TextStyle = {
        mono: field.mono === true,
        ...(field.tone === 'bad'
          ? { color: COLORS.bad }
          : field.tone === 'muted'
            ? { color: COLORS.muted }
            : {}),
      };
      const valuePoints = field.mono ? points * 0.98 : points;
      const height = Math.max(
        this.measure(field.value, valuePoints, valueW, style),
        this.measure(field.label.zh, points, labelW - this.size(4), { bold: true }),
      );
      this.ensure(height + this.size(2.5));
      const labelEnd = this.label(
        field.label,
        this.left,
        this.y,
        labelW - this.size(4),
        points * 0.95,
      );
      const valueEnd = this.write(field.value, valueX, this.y, valueW, valuePoints, style);
      this.y = Math.max(labelEnd, valueEnd) + this.size(2.2);
    }
  }

  /** The check table: mark, step, then the code (bold) and the detail. */
  checks(lines: readonly CheckLine[], points = 8.2): void {
    const markW = this.size(14);
    const stepW = this.size(118);
    const detailX = this.left + markW + stepW;
    const detailW = this.width - markW - stepW;
    for (const line of lines) {
      const mark = CHECK_MARKS[line.status];
      const text = line.code ? `${line.code}: ${line.detail}` : line.detail;
      const height = this.measure(text, points, detailW);
      this.ensure(height + this.size(2.5));
      this.write(mark.pdf, this.left + this.size(2), this.y - this.size(1), markW, points * 1.35, {
        bold: true,
        color: mark.color,
      });
      const stepEnd = this.label(
        line.step,
        this.left + markW,
        this.y,
        stepW - this.size(4),
        points * 0.95,
      );
      let end: number;
      if (line.code) {
        const codeText = `${line.code}: `;
        this.#font(points, { bold: true });
        this.doc.fillColor(mark.color).text(codeText, detailX, this.y, {
          width: detailW,
          lineGap: this.size(1),
          continued: true,
        });
        this.doc
          .font(FONT_REGULAR)
          .fillColor(COLORS.text)
          .text(line.detail, { width: detailW, lineGap: this.size(1) });
        end = this.doc.y;
      } else {
        end = this.write(
          line.detail,
          detailX,
          this.y,
          detailW,
          points,
          line.status === 'skip' ? { color: COLORS.muted } : {},
        );
      }
      this.y = Math.max(stepEnd, end) + this.size(2.2);
    }
  }

  /** A paragraph across the full width. */
  paragraph(text: string, points: number, style: TextStyle = {}): void {
    const height = this.measure(text, points, this.width, style);
    this.ensure(height);
    this.y = this.write(text, this.left, this.y, this.width, points, style);
  }

  /** A horizontal rule across the content width. */
  rule(color: string = COLORS.rule, width = 0.6): void {
    this.doc
      .moveTo(this.left, this.y)
      .lineTo(this.right, this.y)
      .lineWidth(width)
      .strokeColor(color)
      .stroke();
  }

  /**
   * The note that closes a document (what it proves and what it does not): a gap of `before`, on
   * a page with `reserve` left, a rule, then the note in Chinese and in English, muted.
   */
  closingNote(
    note: Label,
    sizes: { before: number; reserve: number; zh: number; en: number } = {
      before: 8,
      reserve: 30,
      zh: 7,
      en: 6.5,
    },
  ): void {
    this.y += this.size(sizes.before);
    this.ensure(this.size(sizes.reserve));
    this.rule();
    this.y += this.size(3);
    this.paragraph(note.zh, sizes.zh, { color: COLORS.muted });
    this.paragraph(note.en, sizes.en, { color: COLORS.muted });
  }
}

export interface TextStyle {
  readonly bold?: boolean;
  readonly mono?: boolean;
  readonly color?: string;
  readonly lineGap?: number;
  readonly align?: 'left' | 'center' | 'right' | 'justify';
}

export interface RenderOptions {
  /** Keep everything on one page, drawing again smaller if needed (default true). */
  readonly onePage?: boolean;
}

const SCALES = [1, 0.94, 0.88, 0.82, 0.76, 0.7];

/**
 * Renders a PDF by calling `draw` on a fresh A4 document. For one-page documents `draw` runs again
 * at smaller scales until everything fits (it must be synchronous and depend only on its input).
 * Deterministic: the same `meta` and drawing give the same bytes.
 */
export async function renderPdf(
  meta: PdfMeta,
  draw: (layout: PdfLayout) => void,
  options: RenderOptions = {},
): Promise<Buffer> {
  const fonts = await loadReportFonts();
  const onePage = options.onePage ?? true;
  for (const [attempt, scale] of SCALES.entries()) {
    const doc = new PDFDocument({
      size: 'A4',
      margins: MARGIN,
      bufferPages: true,
      pdfVersion: '1.7',
      lang: 'zh-CN',
      displayTitle: true,
      info: {
        Title: meta.title,
        Subject: meta.subject,
        Creator: 'judicial-evidence-node verifier',
        Producer: 'PDFKit',
        CreationDate: meta.creationDate,
        ...(meta.keywords ? { Keywords: meta.keywords } : {}),
      },
    });
    doc.registerFont(FONT_REGULAR, fonts.regular);
    doc.registerFont(FONT_BOLD, fonts.bold);
    doc.font(FONT_REGULAR);
    const layout = new PdfLayout(doc, scale, !onePage);
    draw(layout);
    const fits =
      !layout.overflowed && layout.y <= layout.bottom && doc.bufferedPageRange().count === 1;
    if (onePage && !fits && attempt < SCALES.length - 1) continue;
    return collect(doc);
  }
  /* c8 ignore next */
  throw new Error('unreachable: the last scale always returns');
}

function collect(doc: PDFKit.PDFDocument): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    doc.on('data', (chunk: Buffer) => chunks.push(chunk));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
    doc.end();
  });
}
