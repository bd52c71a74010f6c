/**
 * `evidence verify-all DIR`: a case folder's exhibits checked at once, offline, with every item
 * accounted for (verified, altered, without a receipt, receipt without its file, unreadable).
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { digestBytes } from '../../core/digest';
import { trustFingerprint } from '../../core/trust';
import { pdfPages, pdfText, squash, writeArtifact } from '../documents/pdf-tools';
import { makeFixture, makeNodeKey, trustFor } from '../support/receipt-factory';
import { forbiddenFetch, runCli, tempDir } from './cli-harness';

interface VerifyAllJson {
  verdict: string;
  counts: Record<string, number>;
  items: Array<{
    file: string;
    receipt: string | null;
    verdict: string;
    code?: string;
    detail?: string;
    facts?: { chainId: string; existedBy: string };
  }>;
  trustFingerprint: string;
  trustFiles: Array<{ path: string }>;
}

const contents = [
  Buffer.from('exhibit 1: the signed contract\n'),
  Buffer.from('exhibit 2: the delivery note\n'),
  Buffer.from('exhibit 3: a photo of the goods\n'),
];
const fixture = makeFixture(contents);

describe('evidence verify-all', () => {
  let temp: ReturnType<typeof tempDir>;

  beforeEach(() => {
    temp = tempDir();
    temp.write('trust.json', JSON.stringify(fixture.trust));
    temp.write('case/contract.pdf', contents[0] as Buffer);
    temp.write('case/contract.pdf.receipt.json', JSON.stringify(fixture.receipts[0]));
    temp.write('case/delivery/note.txt', contents[1] as Buffer);
    temp.write('case/delivery/note.txt.receipt.json', JSON.stringify(fixture.receipts[1]));
  });

  afterEach(() => temp.cleanup());

  it('verifies every file of the folder and its subfolders against the receipt beside it, offline', async () => {
    const fetch = forbiddenFetch();
    const run = await runCli(['verify-all', 'case', '--trust', 'trust.json', '--json'], {
      cwd: temp.dir,
      fetch,
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const report = run.json<VerifyAllJson>();
    expect(report.verdict).toBe('VERIFIED');
    expect(report.counts).toEqual({ VERIFIED: 2 });
    expect(report.items.map((item) => [item.file, item.receipt, item.verdict])).toEqual([
      ['contract.pdf', 'case/contract.pdf.receipt.json', 'VERIFIED'],
      ['delivery/note.txt', 'case/delivery/note.txt.receipt.json', 'VERIFIED'],
    ]);
    expect(report.items[0]?.facts?.chainId).toBe(fixture.trust.chains[0]?.chainId);
    expect(fetch.calls).toEqual([]);

    const human = await runCli(['verify-all', 'case', '--trust', 'trust.json'], { cwd: temp.dir });
    expect(human.status).toBe(0);
    expect(human.stdout).toMatch(/^VERIFIED\s+case\/contract\.pdf {2}existed no later than /m);
    expect(human.stdout).toContain('2 items (2 receipts): 2 VERIFIED');
    expect(human.stdout).toContain('Every receipt checks out');
  });

  it('accounts for every item: altered, no receipt, receipt without its file, unreadable', async () => {
    temp.write('case/contract.pdf', Buffer.from('exhibit 1: the signed contract, altered\n'));
    temp.write('case/cover-letter.txt', 'not deposited');
    temp.write('case/photo.jpg.receipt.json', JSON.stringify(fixture.receipts[2]));
    temp.write('case/scan.png', 'a scan');
    temp.write('case/scan.png.receipt.json', '{ not json');
    temp.write('case/contract.pdf.receipt.json.bak', JSON.stringify(fixture.receipts[0]));
    const run = await runCli(['verify-all', 'case', '--trust', 'trust.json', '--json'], {
      cwd: temp.dir,
    });
    expect(run.status).toBe(1);
    const report = run.json<VerifyAllJson>();
    expect(report.verdict).toBe('NOT_VERIFIED');
    expect(report.counts).toEqual({
      MISMATCH: 1,
      NO_RECEIPT: 1,
      VERIFIED: 1,
      UNREADABLE: 1,
      FILE_MISSING: 1,
    });
    const byFile = Object.fromEntries(report.items.map((item) => [item.file, item]));
    expect(byFile['contract.pdf']).toMatchObject({ verdict: 'MISMATCH' });
    expect(byFile['cover-letter.txt']).toEqual({
      file: 'cover-letter.txt',
      receipt: null,
      verdict: 'NO_RECEIPT',
    });
    expect(byFile['photo.jpg']).toMatchObject({
      verdict: 'FILE_MISSING',
      receipt: 'case/photo.jpg.receipt.json',
    });
    expect(byFile['scan.png']?.verdict).toBe('UNREADABLE');
    expect(byFile['scan.png']?.detail).toContain('case/scan.png.receipt.json');
    expect(byFile['delivery/note.txt']?.verdict).toBe('VERIFIED');
    // The upgrade backup is neither an exhibit nor a receipt of one.
    expect(report.items.map((item) => item.file)).not.toContain('contract.pdf.receipt.json.bak');

    const human = await runCli(['verify-all', 'case', '--trust', 'trust.json'], { cwd: temp.dir });
    expect(human.status).toBe(1);
    expect(human.stdout).toMatch(
      /^NO_RECEIPT\s+case\/cover-letter\.txt {2}no receipt: not checked$/m,
    );
    expect(human.stdout).toMatch(/^FILE_MISSING\s+case\/photo\.jpg {2}no file photo\.jpg/m);
    expect(human.stdout).toContain(
      '5 items (4 receipts): 1 VERIFIED, 1 MISMATCH, 1 UNREADABLE, 1 FILE_MISSING, 1 NO_RECEIPT',
    );
    expect(human.stdout).toContain('NOT every receipt checks out');
  });

  it('finds receipts in another folder with --receipts, as deposit --out writes them', async () => {
    temp.write('receipts/contract.pdf.receipt.json', JSON.stringify(fixture.receipts[0]));
    temp.write('receipts/note.txt.receipt.json', JSON.stringify(fixture.receipts[1]));
    temp.write('receipts/lost.bin.receipt.json', JSON.stringify(fixture.receipts[2]));
    const run = await runCli(
      ['verify-all', 'case', '--receipts', 'receipts', '--trust', 'trust.json', '--json'],
      { cwd: temp.dir },
    );
    const report = run.json<VerifyAllJson>();
    expect(report.items.map((item) => [item.file, item.receipt, item.verdict])).toEqual([
      ['contract.pdf', 'receipts/contract.pdf.receipt.json', 'VERIFIED'],
      ['delivery/note.txt', 'receipts/note.txt.receipt.json', 'VERIFIED'],
      ['lost.bin', 'receipts/lost.bin.receipt.json', 'FILE_MISSING'],
    ]);
    expect(run.status).toBe(1);
  });

  it('says UNTRUSTED for receipts of a chain the trust file does not pin, and applies --require-anchor', async () => {
    temp.write('other.json', JSON.stringify(trustFor('another-chain', makeNodeKey())));
    const untrusted = await runCli(['verify-all', 'case', '--trust', 'other.json', '--json'], {
      cwd: temp.dir,
    });
    expect(untrusted.status).toBe(1);
    expect(untrusted.json<VerifyAllJson>().counts).toEqual({ UNTRUSTED: 2 });
    const anchored = await runCli(
      ['verify-all', 'case', '--trust', 'trust.json', '--require-anchor', '--json'],
      { cwd: temp.dir },
    );
    expect(anchored.status).toBe(1);
    expect(anchored.json<VerifyAllJson>().items.map((item) => item.code)).toEqual([
      'ANCHOR_REQUIRED',
      'ANCHOR_REQUIRED',
    ]);
  });

  it('writes the case report for the court, masking personal data in file names', async () => {
    const named = '张三丰-110101199003074514-合同.pdf';
    temp.write(`case/${named}`, contents[2] as Buffer);
    temp.write(`case/${named}.receipt.json`, JSON.stringify(fixture.receipts[2]));
    temp.write('case/notes.txt', 'not deposited');
    const run = await runCli(
      ['verify-all', 'case', '--trust', 'trust.json', '--report', 'case-report.html'],
      { cwd: temp.dir },
    );
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('report   case-report.html (html)');
    const html = readFileSync(join(temp.dir, 'case-report.html'), 'utf8');
    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'"`);
    expect(html).not.toMatch(/<script|src="http/);
    expect(html).toContain('电子证据批量核验报告');
    expect(html).toContain('全部核验通过');
    for (const file of ['case/contract.pdf', 'case/delivery/note.txt', 'case/notes.txt']) {
      expect(html, file).toContain(file);
    }
    expect(html).toContain(digestBytes(contents[0] as Buffer).sha256);
    expect(html).toContain('无存证收据，未核验');
    // The ID number in the file name is masked; the rest of the name stays readable.
    expect(html).not.toContain('110101199003074514');
    expect(html).toContain('合同.pdf');
    expect(html).toContain(trustFingerprint(fixture.trust));

    // An existing report is kept unless --force; a PDF is not offered.
    const again = await runCli(
      ['verify-all', 'case', '--trust', 'trust.json', '--report', 'case-report.html'],
      { cwd: temp.dir },
    );
    expect(again.status).toBe(2);
    expect(again.errorCodes).toEqual(['OUTPUT_EXISTS']);
    temp.write('case/contract.pdf', Buffer.from('altered'));
    const forced = await runCli(
      ['verify-all', 'case', '--trust', 'trust.json', '--report', 'case-report.html', '--force'],
      { cwd: temp.dir },
    );
    expect(forced.status).toBe(1);
    const rewritten = readFileSync(join(temp.dir, 'case-report.html'), 'utf8');
    expect(rewritten).toContain('存在未通过核验的证据');
    expect(rewritten).toContain('DIGEST_MISMATCH');
    const other = await runCli(
      ['verify-all', 'case', '--trust', 'trust.json', '--report', 'c.txt'],
      {
        cwd: temp.dir,
      },
    );
    expect(other.status).toBe(2);
    expect(other.errorCodes).toEqual(['USAGE']);
  });

  it('writes the case report as a PDF of as many pages as the folder needs', async () => {
    const many = Array.from({ length: 40 }, (_, i) => Buffer.from(`exhibit ${i} of a long case\n`));
    const big = makeFixture(many);
    for (const [i, content] of many.entries()) {
      const name = `long/exhibit-${String(i).padStart(2, '0')}-身份证110101199003074514.txt`;
      temp.write(name, content);
      temp.write(`${name}.receipt.json`, JSON.stringify(big.receipts[i]));
    }
    temp.write('big-trust.json', JSON.stringify(big.trust));
    const run = await runCli(
      ['verify-all', 'long', '--trust', 'big-trust.json', '--report', 'long.pdf'],
      { cwd: temp.dir },
    );
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('report   long.pdf (pdf)');
    const path = join(temp.dir, 'long.pdf');
    const text = pdfText(path);
    expect(text).toContain('电子证据批量核验报告');
    expect(text).toContain('全部核验通过');
    expect(pdfPages(path)).toBeGreaterThan(1);
    const flat = squash(text);
    for (const content of [many[0], many[39]] as Buffer[]) {
      expect(flat).toContain(digestBytes(content).sha256);
    }
    expect(flat).toContain('exhibit-39');
    expect(flat).not.toContain('110101199003074514');
    writeArtifact('case-report.pdf', readFileSync(path));
  });

  it('refuses bad usage (2) and a folder it cannot read (3)', async () => {
    const noTrust = await runCli(['verify-all', 'case'], { cwd: temp.dir });
    expect(noTrust.status).toBe(2);
    expect(noTrust.errorCodes).toEqual(['USAGE']);
    const two = await runCli(['verify-all', 'case', 'other', '--trust', 'trust.json'], {
      cwd: temp.dir,
    });
    expect(two.status).toBe(2);
    const missing = await runCli(['verify-all', 'nowhere', '--trust', 'trust.json'], {
      cwd: temp.dir,
    });
    expect(missing.status).toBe(3);
    expect(missing.errorCodes).toEqual(['IO_ERROR']);
    temp.write('bad-trust.json', '{"type":"judicial-evidence-trust"}');
    const badTrust = await runCli(['verify-all', 'case', '--trust', 'bad-trust.json'], {
      cwd: temp.dir,
    });
    expect(badTrust.status).toBe(2);
  });
});
