/**
 * The case verification report (`evidence verify-all --report OUT.html`) in a real Chromium: it
 * opens from the file with no request beyond the file itself, shows one row per exhibit with its
 * outcome, and prints to a PDF, as a judge would do from any browser. A screenshot goes to
 * test-artifacts/ for a person to look at.
 */

import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fontConfig } from '../support/fonts';
import { makeFixture } from '../support/receipt-factory';
import { runCli } from '../verifier-cli/cli-harness';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = path.resolve('test-artifacts');

describe('the case verification report in Chromium', () => {
  let dir: string;
  let browser: Browser;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `Chromium is not installed at ${CHROMIUM} (Debian: apt-get install chromium, or run scripts/install-system-deps.sh)`,
      );
    }
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'e2e-case-report-'));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      env: { ...process.env, FONTCONFIG_FILE: await fontConfig(dir) },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('opens offline, lists every exhibit with its outcome, and prints to PDF', async () => {
    const contents = Array.from({ length: 12 }, (_, i) => Buffer.from(`exhibit ${i + 1}\n`));
    const fixture = makeFixture(contents);
    const caseDir = path.join(dir, 'case');
    await fs.mkdir(caseDir);
    for (const [i, content] of contents.entries()) {
      const name = `exhibit-${String(i + 1).padStart(2, '0')}.txt`;
      await fs.writeFile(path.join(caseDir, name), i === 4 ? Buffer.from('altered') : content);
      await fs.writeFile(
        path.join(caseDir, `${name}.receipt.json`),
        JSON.stringify(fixture.receipts[i]),
      );
    }
    await fs.writeFile(path.join(caseDir, 'cover-letter.txt'), 'not deposited');
    await fs.writeFile(path.join(dir, 'trust.json'), JSON.stringify(fixture.trust));
    const run = await runCli(
      ['verify-all', 'case', '--trust', 'trust.json', '--report', 'case-report.html'],
      { cwd: dir },
    );
    expect(run.status, run.stderr).toBe(1);

    const page = await browser.newPage();
    const requests: string[] = [];
    page.on('request', (request) => requests.push(request.url()));
    const report = pathToFileURL(path.join(dir, 'case-report.html')).href;
    await page.goto(report);
    expect(requests).toEqual([report]);
    const rows = page.locator('#exhibits tbody tr');
    expect(await rows.count()).toBe(13);
    const outcomes = await page.locator('#exhibits td.outcome .en').allTextContents();
    expect(outcomes.filter((o) => o === 'VERIFIED')).toHaveLength(11);
    expect(outcomes.filter((o) => o === 'MISMATCH')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'NO_RECEIPT')).toHaveLength(1);
    expect(await page.locator('.summary .name').textContent()).toContain('存在未通过核验的证据');

    await fs.mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'case-report.png'), fullPage: true });
    const pdf = await page.pdf({ format: 'A4' });
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    expect(pdf.length).toBeGreaterThan(10_000);
    await page.close();
  }, 60_000);
});
