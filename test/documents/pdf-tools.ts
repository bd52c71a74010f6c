/**
 * Poppler's command-line tools as independent readers of the PDFs we write: `pdftotext` extracts
 * what a reader can copy, `pdfinfo` counts pages, `pdftoppm` rasterises. The tests FAIL when the
 * tools are missing (scripts/install-system-deps.sh installs them): a PDF that no independent
 * reader has opened is not tested.
 */

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Where rendered documents are kept for people to look at (gitignored). */
export const ARTIFACTS = resolve(__dirname, '../../test-artifacts/report');

/** Throws, naming the fix, when a Poppler tool cannot be run. */
export function requireTool(name: 'pdftotext' | 'pdftoppm' | 'pdfinfo'): void {
  const run = spawnSync(name, ['-v'], { encoding: 'utf8' });
  if (run.error) {
    throw new Error(
      `${name} is not installed (Debian: apt-get install poppler-utils, or run scripts/install-system-deps.sh)`,
    );
  }
}

/** Writes `bytes` to test-artifacts/report/`name` and returns the path. */
export function writeArtifact(name: string, bytes: Buffer | string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, name);
  writeFileSync(path, bytes);
  return path;
}

/** The text of a PDF as pdftotext extracts it (UTF-8). */
export function pdfText(path: string): string {
  requireTool('pdftotext');
  return execFileSync('pdftotext', ['-enc', 'UTF-8', path, '-'], { encoding: 'utf8' });
}

/** Text with every whitespace character removed: long hex may be broken across lines. */
export function squash(text: string): string {
  return text.replace(/\s+/g, '');
}

/** The document information pdfinfo reports (dates in ISO 8601), keyed by its labels. */
export function pdfInfo(path: string): Record<string, string> {
  requireTool('pdfinfo');
  const info = execFileSync('pdfinfo', ['-isodates', path], { encoding: 'utf8' });
  const entries = [...info.matchAll(/^([^:\n]+):\s*(.*)$/gm)].map((m) => [
    m[1] as string,
    m[2] as string,
  ]);
  return Object.fromEntries(entries);
}

/** Page count, from pdfinfo. */
export function pdfPages(path: string): number {
  const pages = pdfInfo(path).Pages;
  if (pages === undefined) throw new Error(`pdfinfo gave no page count for ${path}`);
  return Number(pages);
}

export interface RenderedPng {
  readonly path: string;
  readonly bytes: number;
  readonly width: number;
  readonly height: number;
}

/** Rasterises page 1 at 60 dpi to `<pdf without .pdf>.png` and reads its size from the IHDR. */
export function rasterise(pdfPath: string): RenderedPng {
  requireTool('pdftoppm');
  const base = pdfPath.replace(/\.pdf$/, '');
  execFileSync('pdftoppm', ['-png', '-r', '60', '-singlefile', pdfPath, base], { stdio: 'pipe' });
  const path = `${base}.png`;
  const png = readFileSync(path);
  if (png.subarray(1, 4).toString('latin1') !== 'PNG') throw new Error(`${path} is not a PNG`);
  return {
    path,
    bytes: statSync(path).size,
    width: png.readUInt32BE(16),
    height: png.readUInt32BE(20),
  };
}
