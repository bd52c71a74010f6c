/** Fonts for the browser tests' screenshots. */

import { promises as fs } from 'node:fs';
import * as path from 'node:path';

/**
 * A fontconfig file adding Noto Sans SC (a dependency, for the PDFs) to the system's fonts, so the
 * screenshots show Chinese text on machines without a CJK font. The page itself names system
 * fonts only and loads none.
 */
export async function fontConfig(dir: string): Promise<string> {
  const font = (weight: string) =>
    path.dirname(
      require.resolve(`@expo-google-fonts/noto-sans-sc/${weight}/NotoSansSC_${weight}.ttf`),
    );
  const file = path.join(dir, 'fonts.conf');
  await fs.writeFile(
    file,
    `<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>
  <dir>${font('400Regular')}</dir>
  <dir>${font('700Bold')}</dir>
  <cachedir>${path.join(dir, 'fontconfig-cache')}</cachedir>
</fontconfig>
`,
  );
  return file;
}
