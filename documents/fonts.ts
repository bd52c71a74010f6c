/**
 * The one typeface of every court-facing PDF: Noto Sans SC (SIL Open Font License), read from the
 * `@expo-google-fonts/noto-sans-sc` package dependency, never from the system and never committed.
 * It covers Chinese and Latin; its `hwid` OpenType feature gives half-width Latin glyphs of one
 * advance, which is how digests are set in a monospaced column without a second font.
 */

import { readFile } from 'node:fs/promises';

export const FONT_REGULAR = 'NotoSansSC-Regular';
export const FONT_BOLD = 'NotoSansSC-Bold';

/** The OpenType feature that makes Latin glyphs monospaced (half-width, 0.5 em each). */
export const MONOSPACE_FEATURES: ['hwid'] = ['hwid'];

const FILES = {
  regular: '@expo-google-fonts/noto-sans-sc/400Regular/NotoSansSC_400Regular.ttf',
  bold: '@expo-google-fonts/noto-sans-sc/700Bold/NotoSansSC_700Bold.ttf',
} as const;

export interface ReportFonts {
  readonly regular: Buffer;
  readonly bold: Buffer;
}

let loading: Promise<ReportFonts> | undefined;

/**
 * The font files, read once per process (about 10 MB each; PDFs embed only the glyphs they use).
 * @throws Error when the font package is not installed.
 */
export function loadReportFonts(): Promise<ReportFonts> {
  loading ??= Promise.all([
    readFile(require.resolve(FILES.regular)),
    readFile(require.resolve(FILES.bold)),
  ]).then(
    ([regular, bold]) => ({ regular, bold }),
    (error: unknown) => {
      loading = undefined;
      throw error;
    },
  );
  return loading;
}
