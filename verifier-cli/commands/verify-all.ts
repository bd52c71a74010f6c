/**
 * `evidence verify-all DIR --trust TRUST`: every exhibit of a case folder at once. Each file in DIR
 * (and its subfolders) is paired with its receipt, `FILE.receipt.json` beside it as
 * `evidence deposit` writes it (or `--receipts RDIR/<name>.receipt.json`, as `deposit --out`
 * writes them), hashed here and checked offline by core's `verifyReceipt` against the pinned trust
 * files, exactly as `evidence verify` checks one. One line per file, then the counts.
 *
 * Nothing is left out silently: a file without a receipt is listed as not checked, a receipt
 * whose file is missing and a receipt that cannot be read are listed as failures. One unreadable
 * item never stops the others.
 */

import { basename, join, sep } from 'node:path';
import type { DigestSet } from '../../core/digest';
import type { CheckCode, ProvenFacts } from '../../core/verify';
import type { CaseReportInput } from '../../documents/case-report';
import { summarizeCase, type CaseItemOutcome } from '../../documents/case-outcomes';
import { runningDistDir, verifierCodeDigest } from '../../documents/code-digest';
import { mergeTrust, trustFingerprint, type TrustFile } from '../../core/trust';
import { verifyReceipt } from '../../core/verify';
import type { CliIo } from '../cli-io';
import { jsonText, parseCommandLine, resolvePath, usage, type Command } from '../command';
import { assertWritable, outputFile, writeOutput, type OutputFile } from '../document-output';
import { EXIT_NOT_VERIFIED, EXIT_OK, type ExitStatus } from '../exit-codes';
import { readJsonFile } from '../files';
import { RECEIPT_SUFFIX, filesUnder, isReceiptName, isReceiptOrBackup } from '../folder-files';
import { hashUserFile } from '../hash-file';
import { loadTrustFile, type LoadedTrust } from '../trust-input';
import { cliVersion } from '../version';
import { takeRequireAnchor } from './verify';

const OPTIONS = {
  trust: { type: 'string', multiple: true },
  receipts: { type: 'string' },
  json: { type: 'boolean' },
  report: { type: 'string' },
  force: { type: 'boolean' },
} as const;

type CaseReportFormat = 'pdf' | 'html';
const REPORT_FORMATS: Readonly<Record<string, CaseReportFormat>> = {
  '.pdf': 'pdf',
  '.html': 'html',
  '.htm': 'html',
};

const HELP = `Usage: evidence verify-all DIR --trust TRUST [--trust TRUST...] [--receipts RDIR] [--json]
                           [--require-anchor[=CHAIN_ID,...]] [--report OUT.pdf|OUT.html [--force]]

Verifies, offline, every file in DIR and its subfolders against its receipt: FILE${RECEIPT_SUFFIX}
beside it (as "evidence deposit" writes it), or RDIR/<name>${RECEIPT_SUFFIX} with --receipts (as
"evidence deposit --out RDIR" writes them). Each file is hashed and its receipt checked as
"evidence verify" checks one. Prints one line per file and the counts:

  VERIFIED       the file is the one its receipt was issued for, and the receipt checks out
  MISMATCH, PROOF_INVALID, UNTRUSTED
                 as for "evidence verify"
  UNREADABLE     the file or its receipt could not be read (the reason is shown)
  FILE_MISSING   a receipt whose file is not there
  NO_RECEIPT     a file without a receipt: not checked

Options:
  --trust FILE      a pinned trust file; repeat to pin several chains
  --receipts RDIR   where the receipts are, when not beside the files
  --require-anchor[=CHAIN_ID,...]   as for "evidence verify", for every file
  --json            print { verdict, counts, items: [{ file, receipt, verdict, code?, detail?,
                    digests?, facts? }], trustFingerprint, trustFiles, verifier }
  --report OUT      also write the case verification report for the court: OUT.pdf (A4, as
                    many pages as needed) or OUT.html (one self-contained page), in Chinese and
                    English: every exhibit, its outcome, the time proven, its SHA-256, the trust
                    files' fingerprints, the verifier's version and code digest
  --force           overwrite an existing report

Exit status: 0 every receipt VERIFIED (files without one are listed, not counted against), 1 any
other outcome, 2 usage or input error (a malformed trust file), 3 DIR cannot be read.
`;

interface Item {
  /** The file, relative to DIR (the receipt's would-be file for FILE_MISSING). */
  readonly file: string;
  /** The receipt as found (relative to the working directory's view of DIR/RDIR), or null. */
  readonly receipt: string | null;
  readonly verdict: CaseItemOutcome;
  readonly code?: CheckCode;
  /** Why it is not VERIFIED, in words. */
  readonly detail?: string;
  /** The file's digests, when it was hashed. */
  readonly digests?: DigestSet;
  /** What a VERIFIED receipt proves. */
  readonly facts?: ProvenFacts;
}

interface Settings {
  readonly dir: string;
  readonly receipts?: string;
  readonly trust: readonly string[];
  readonly json: boolean;
  readonly requireAnchors?: true | readonly string[];
  readonly report?: OutputFile<CaseReportFormat>;
  readonly force: boolean;
}

function parseSettings(args: readonly string[], io: CliIo): Settings {
  const { rest, requireAnchors } = takeRequireAnchor(args);
  const { values, positionals } = parseCommandLine(rest, OPTIONS);
  const [dir, ...extra] = positionals;
  if (dir === undefined) throw usage('verify-all needs the folder DIR');
  if (extra.length > 0) throw usage(`verify-all takes one DIR; also got ${extra.join(' ')}`);
  const trust = values.trust ?? [];
  if (trust.length === 0) throw usage('verify-all needs --trust TRUST');
  if (values.force !== undefined && values.report === undefined)
    throw usage('--force is used only with --report');
  return {
    dir,
    ...(values.receipts !== undefined ? { receipts: values.receipts } : {}),
    trust,
    json: values.json === true,
    ...(requireAnchors !== undefined ? { requireAnchors } : {}),
    ...(values.report !== undefined
      ? { report: outputFile(io, '--report', values.report, REPORT_FORMATS) }
      : {}),
    force: values.force === true,
  };
}

/** `shown` joined with a relative path, for messages (no absolute paths the user did not type). */
function display(shown: string, path: string): string {
  return shown.endsWith(sep) ? `${shown}${path}` : `${shown}${sep}${path}`;
}

async function verifyOne(
  io: CliIo,
  file: string,
  fileShown: string,
  receiptShown: string,
  receiptPath: string,
  trust: TrustFile,
  requireAnchors: Settings['requireAnchors'],
): Promise<Item> {
  let receipt;
  try {
    receipt = await readJsonFile(receiptPath, receiptShown, 'receipt');
  } catch (error) {
    return { file, receipt: receiptShown, verdict: 'UNREADABLE', detail: (error as Error).message };
  }
  let digests;
  try {
    digests = (await hashUserFile(io, fileShown)).digests;
  } catch (error) {
    return { file, receipt: receiptShown, verdict: 'UNREADABLE', detail: (error as Error).message };
  }
  const verdict = verifyReceipt(receipt.value, trust, {
    fileDigests: digests,
    ...(requireAnchors !== undefined ? { requireAnchors } : {}),
  });
  const failed = verdict.checks.find((check) => check.status === 'fail');
  return {
    file,
    receipt: receiptShown,
    verdict: verdict.verdict,
    ...(verdict.code ? { code: verdict.code } : {}),
    ...(verdict.verdict !== 'VERIFIED' && failed ? { detail: failed.detail } : {}),
    digests,
    ...(verdict.verdict === 'VERIFIED' && verdict.facts ? { facts: verdict.facts } : {}),
  };
}

async function run(args: readonly string[], io: CliIo): Promise<ExitStatus> {
  const settings = parseSettings(args, io);
  if (settings.report) await assertWritable(settings.report, settings.force);
  // The trust files first: a malformed one is an input error before anything is hashed.
  const trusts: LoadedTrust[] = [];
  for (const path of settings.trust) trusts.push(await loadTrustFile(io, path));
  const trust =
    trusts.length === 1
      ? (trusts[0] as LoadedTrust).trust
      : mergeTrust(...trusts.map((t) => t.trust));
  const root = resolvePath(io, settings.dir);
  const files = await filesUnder(root, settings.dir);
  const receiptRoot =
    settings.receipts === undefined ? undefined : resolvePath(io, settings.receipts);
  const receiptNames =
    receiptRoot === undefined ? [] : await filesUnder(receiptRoot, settings.receipts as string);

  const items: Item[] = [];
  const paired = new Set<string>();
  // The regular files listed already: whether a receipt is there needs no other look at the disk.
  const listed = new Set(receiptRoot === undefined ? files : receiptNames);
  for (const file of files) {
    // Receipts (and their upgrade backups) are not exhibits; with --receipts, those in DIR still
    // are not.
    if (isReceiptOrBackup(file)) continue;
    const receiptRelative =
      receiptRoot === undefined ? `${file}${RECEIPT_SUFFIX}` : `${basename(file)}${RECEIPT_SUFFIX}`;
    const receiptPath = join(receiptRoot ?? root, receiptRelative);
    const receiptShown = display(settings.receipts ?? settings.dir, receiptRelative);
    const fileShown = display(settings.dir, file);
    if (!listed.has(receiptRelative)) {
      items.push({ file, receipt: null, verdict: 'NO_RECEIPT' });
      continue;
    }
    paired.add(receiptRelative);
    items.push(
      await verifyOne(
        io,
        file,
        fileShown,
        receiptShown,
        receiptPath,
        trust,
        settings.requireAnchors,
      ),
    );
  }
  // Receipts nobody's file claimed: their evidence is not in the folder.
  const receipts =
    receiptRoot === undefined ? files.filter(isReceiptName) : receiptNames.filter(isReceiptName);
  for (const receipt of receipts) {
    const key = receiptRoot === undefined ? receipt : basename(receipt);
    if (paired.has(key)) continue;
    const file = key.slice(0, -RECEIPT_SUFFIX.length);
    items.push({
      file,
      receipt: display(settings.receipts ?? settings.dir, receipt),
      verdict: 'FILE_MISSING',
      detail: `no file ${file} for this receipt in ${settings.dir}`,
    });
  }

  const { counts, allVerified } = summarizeCase(items.map((item) => item.verdict));
  const version = cliVersion();
  const report = {
    verdict: allVerified ? 'VERIFIED' : 'NOT_VERIFIED',
    counts,
    items,
    trustFingerprint: trustFingerprint(trust),
    trustFiles: trusts.map((t) => ({ path: t.path, fingerprint: t.fingerprint })),
    verifier: {
      name: version.name,
      version: version.version,
      node: process.versions.node,
      openssl: process.versions.openssl,
    },
  };
  if (settings.report) {
    const dist = runningDistDir();
    const input: CaseReportInput = {
      folder: settings.dir,
      items: items.map((item) => ({
        file: display(settings.dir, item.file),
        outcome: item.verdict,
        ...(item.code ? { code: item.code } : {}),
        ...(item.detail ? { detail: item.detail } : {}),
        ...(item.digests ? { sha256: item.digests.sha256 } : {}),
        ...(item.facts
          ? {
              existedBy: item.facts.existedBy,
              chainId: item.facts.chainId,
              blockNumber: item.facts.blockNumber,
              ...(item.facts.earliestAnchor !== undefined
                ? { earliestAnchor: item.facts.earliestAnchor }
                : {}),
            }
          : {}),
      })),
      trustFiles: report.trustFiles,
      verifier: {
        name: version.name,
        version: version.version,
        node: process.versions.node,
        ...(dist === undefined ? {} : { codeDigest: await verifierCodeDigest(dist) }),
      },
      verifiedAt: new Date().toISOString(),
    };
    // Loaded only for --report: the PDF toolkit would cost every other run its start-up time.
    const { renderCaseReportHtml, renderCaseReportPdf } =
      await import('../../documents/case-report');
    await writeOutput(
      settings.report,
      settings.report.format === 'pdf'
        ? await renderCaseReportPdf(input)
        : renderCaseReportHtml(input),
    );
  }
  io.stdout(
    settings.json
      ? jsonText(settings.report ? { ...report, report: settings.report.shown } : report)
      : humanReport(settings, report),
  );
  return allVerified ? EXIT_OK : EXIT_NOT_VERIFIED;
}

function humanReport(
  settings: Settings,
  report: {
    verdict: string;
    counts: Partial<Record<CaseItemOutcome, number>>;
    items: readonly Item[];
    trustFiles: readonly { path: string; fingerprint: string }[];
  },
): string {
  const lines: string[] = [];
  for (const trust of report.trustFiles) lines.push(`trust    ${trust.path} ${trust.fingerprint}`);
  if (settings.report) lines.push(`report   ${settings.report.shown} (${settings.report.format})`);
  lines.push('');
  const width = Math.max(0, ...report.items.map((item) => item.verdict.length)) + 2;
  for (const item of report.items) {
    const head = `${item.verdict.padEnd(width)}${display(settings.dir, item.file)}`;
    if (item.verdict === 'VERIFIED' && item.facts) {
      const f = item.facts;
      lines.push(
        `${head}  existed no later than ${f.existedBy} (chain ${f.chainId}, block ${f.blockNumber})` +
          (f.earliestAnchor !== undefined
            ? `; independently no later than ${f.earliestAnchor}`
            : ''),
      );
    } else if (item.verdict === 'NO_RECEIPT') {
      lines.push(`${head}  no receipt: not checked`);
    } else {
      const code = item.code && item.code !== item.verdict ? `${item.code}: ` : '';
      lines.push(`${head}  ${code}${item.detail ?? ''}`.trimEnd());
    }
  }
  const receipts = report.items.filter((item) => item.verdict !== 'NO_RECEIPT').length;
  const parts = Object.entries(report.counts).map(([verdict, count]) => `${count} ${verdict}`);
  lines.push('');
  lines.push(
    report.items.length === 0
      ? `no files in ${settings.dir}`
      : `${report.items.length} item${report.items.length === 1 ? '' : 's'} (${receipts} receipt${receipts === 1 ? '' : 's'}): ${parts.join(', ')}`,
  );
  lines.push(
    report.verdict === 'VERIFIED'
      ? 'Every receipt checks out against its file and the trust file.'
      : 'NOT every receipt checks out: see the lines above.',
  );
  return `${lines.join('\n')}\n`;
}

export const verifyAllCommand: Command = {
  name: 'verify-all',
  summary: 'verify every file of a folder against its receipt, offline',
  help: HELP,
  run,
};
