/**
 * `evidence verify FILE --receipt R --trust T`: was this exact file on the chain, since when, and
 * who says so? Offline by default: the file is hashed here, the receipt and the pinned trust files
 * are read here, and core's pure `verifyReceipt` decides. No network call is even constructed
 * unless `--online` is given; the judge's machine may be air-gapped.
 *
 * A receipt that is not JSON is an input error (exit 2). A receipt that is JSON but not a valid
 * receipt is evidence that does not verify: core reports it as a failed check (exit 1).
 */

import type { Digest, DigestSet } from '../../core/digest';
import { mergeTrust, trustFingerprint } from '../../core/trust';
import {
  verifyReceipt,
  type Check,
  type CheckCode,
  type CheckStep,
  type ProvenFacts,
} from '../../core/verify';
import type { CliIo } from '../cli-io';
import { jsonText, parseCommandLine, resolvePath, usage, type Command } from '../command';
import { exitStatusForVerdict, type CliVerdict, type ExitStatus } from '../exit-codes';
import { readJsonFile } from '../files';
import { createGatewayClient, parseGatewayUrl, type GatewayClient } from '../node-client';
import { hashUserFile } from '../hash-file';
import { loadTrustFile, type LoadedTrust } from '../trust-input';
import { cliVersion } from '../version';

const OPTIONS = {
  receipt: { type: 'string' },
  trust: { type: 'string', multiple: true },
  json: { type: 'boolean' },
  online: { type: 'boolean' },
  gateway: { type: 'string' },
} as const;

const HELP = `Usage: evidence verify FILE --receipt RECEIPT --trust TRUST [--trust TRUST...] [--json]
       evidence verify FILE [--receipt RECEIPT --trust TRUST...] --online --gateway URL [--json]

Checks, offline, that FILE is the file the receipt was issued for, that the receipt's proofs hold,
and that the block is signed by a key pinned in the trust file(s). Prints each check and the
verdict: VERIFIED, MISMATCH, PROOF_INVALID, UNTRUSTED or NOT_ON_CHAIN.

Options:
  --receipt FILE  the receipt kept by the depositor
  --trust FILE    a pinned trust file; repeat to pin several chains (later files win per chain)
  --online        also ask the gateway whether it knows the file's digest (the only network use);
                  without --receipt the answer is NOT_ON_CHAIN or ON_CHAIN_UNVERIFIED
  --gateway URL   the gateway to ask, with --online
  --json          print { verdict, code, file, checks, facts, trustFingerprint, verifier };
                  facts only when VERIFIED (otherwise the receipt's unproven claims)

Exit status: 0 VERIFIED, 1 any other verdict, 2 usage or input error (unreadable receipt JSON,
malformed trust file), 3 file or network error.
`;

/** Core's steps in the order it runs them, to show the ones a failure left unchecked. */
const STEPS: readonly CheckStep[] = [
  'receipt',
  'digest',
  'inclusion',
  'transaction',
  'block',
  'signature',
];

/** A check as reported: core's, plus the CLI's own `online` step. */
type ReportedCheck = Omit<Check, 'step' | 'code'> & {
  readonly step: CheckStep | 'online';
  readonly code?: CheckCode;
};

const VERDICT_MEANING: Readonly<Record<CliVerdict, string>> = {
  VERIFIED:
    'The file is the one the receipt was issued for, and the receipt checks out against the trust file.',
  MISMATCH: 'The file is not the one the receipt was issued for.',
  PROOF_INVALID: 'The receipt is malformed or its proofs do not hold.',
  UNTRUSTED: 'The receipt is not signed by a key the trust file pins for its chain and time.',
  NOT_ON_CHAIN: 'The gateway does not know this file.',
  ON_CHAIN_UNVERIFIED: 'The gateway reports this file on chain; nothing was verified (no receipt).',
};

interface Settings {
  readonly file: string;
  readonly receipt?: string;
  readonly trust: readonly string[];
  readonly client?: GatewayClient;
  readonly json: boolean;
}

function parseSettings(args: readonly string[], io: CliIo): Settings {
  const { values, positionals } = parseCommandLine(args, OPTIONS);
  const [file, ...extra] = positionals;
  if (file === undefined) throw usage('verify needs the FILE to verify');
  if (extra.length > 0) throw usage(`verify takes one FILE; also got ${extra.join(' ')}`);
  const trust = values.trust ?? [];
  const online = values.online === true;
  if (!online && values.gateway !== undefined) throw usage('--gateway is used only with --online');
  if (online && values.gateway === undefined) throw usage('--online needs --gateway URL');
  if (values.receipt === undefined && !online) throw usage('verify needs --receipt RECEIPT');
  if (values.receipt !== undefined && trust.length === 0) throw usage('verify needs --trust TRUST');
  if (values.receipt === undefined && trust.length > 0)
    throw usage('--trust is used only with --receipt');
  return {
    file,
    ...(values.receipt !== undefined ? { receipt: values.receipt } : {}),
    trust,
    ...(online
      ? { client: createGatewayClient(io, parseGatewayUrl(values.gateway as string)) }
      : {}),
    json: values.json === true,
  };
}

interface Report {
  verdict: CliVerdict;
  code?: CheckCode;
  file: { path: string; size: number; digests: DigestSet };
  receipt?: { path: string; bytes: number };
  checks: ReportedCheck[];
  /** What the verdict proves: present only when VERIFIED. */
  facts?: ProvenFacts;
  /** What a well-formed receipt claims when the verdict is not VERIFIED: proven by nothing. */
  claims?: ProvenFacts;
  trustFingerprint?: Digest;
  trustFiles?: { path: string; fingerprint: Digest }[];
  online?: { gateway: string; found: boolean; record?: Record<string, unknown> };
  verifier: { name: string; version: string; node: string; openssl: string };
}

async function run(args: readonly string[], io: CliIo): Promise<ExitStatus> {
  const settings = parseSettings(args, io);
  const version = cliVersion();
  // Inputs first: a bad receipt or trust file should fail before a 10 GB file is hashed.
  const receipt =
    settings.receipt !== undefined
      ? await readJsonFile(resolvePath(io, settings.receipt), settings.receipt, 'receipt')
      : undefined;
  const trusts: LoadedTrust[] = [];
  for (const path of settings.trust) trusts.push(await loadTrustFile(io, path));
  const file = await hashUserFile(io, settings.file);

  const report: Report = {
    verdict: 'NOT_ON_CHAIN',
    file: { path: settings.file, size: file.size, digests: file.digests },
    checks: [],
    verifier: {
      name: version.name,
      version: version.version,
      node: process.versions.node,
      openssl: process.versions.openssl,
    },
  };
  if (receipt !== undefined && settings.receipt !== undefined) {
    const trust =
      trusts.length === 1
        ? (trusts[0] as LoadedTrust).trust
        : mergeTrust(...trusts.map((t) => t.trust));
    const verdict = verifyReceipt(receipt.value, trust, { fileDigests: file.digests });
    report.verdict = verdict.verdict;
    if (verdict.code) report.code = verdict.code;
    report.receipt = { path: settings.receipt, bytes: receipt.bytes };
    report.checks.push(...verdict.checks);
    // Core proves `facts` only when VERIFIED; otherwise it returns the receipt's `claims`.
    if (verdict.facts ?? verdict.claims) report.claims = verdict.facts ?? verdict.claims;
    report.trustFingerprint = trustFingerprint(trust);
    report.trustFiles = trusts.map((t) => ({ path: t.path, fingerprint: t.fingerprint }));
  }
  if (settings.client !== undefined) {
    const record = await settings.client.lookup(file.digests.sha256);
    const gateway = settings.client.url;
    report.online = { gateway, found: record !== undefined, ...(record ? { record } : {}) };
    if (record === undefined) {
      report.checks.push({
        step: 'online',
        status: 'fail',
        code: 'NOT_ON_CHAIN',
        detail: `the gateway at ${gateway} does not know ${file.digests.sha256}`,
      });
      if (receipt === undefined || report.verdict === 'VERIFIED') {
        report.verdict = 'NOT_ON_CHAIN';
        report.code = 'NOT_ON_CHAIN';
      }
    } else {
      report.checks.push({
        step: 'online',
        status: 'pass',
        detail: onChainDetail(gateway, record),
      });
      if (receipt === undefined) report.verdict = 'ON_CHAIN_UNVERIFIED';
    }
  }
  if (report.verdict === 'VERIFIED' && report.claims) {
    report.facts = report.claims;
    delete report.claims;
  }
  io.stdout(settings.json ? jsonText(report) : humanReport(report));
  return exitStatusForVerdict(report.verdict);
}

function onChainDetail(gateway: string, record: Record<string, unknown>): string {
  const chain = typeof record.chainId === 'string' ? ` ${record.chainId}` : '';
  const time = typeof record.time === 'string' ? ` at ${record.time}` : '';
  const tx = typeof record.txId === 'string' ? `, tx ${record.txId}` : '';
  return `the gateway at ${gateway} reports the digest on chain${chain}${time}${tx}`;
}

const MARK: Readonly<Record<Check['status'], string>> = { pass: '✓', fail: '✗', skip: '–' };

function humanReport(report: Report): string {
  const lines: string[] = [];
  lines.push(`file     ${report.file.path} (${report.file.size} bytes)`);
  for (const digest of Object.values(report.file.digests)) lines.push(`         ${digest}`);
  if (report.receipt) lines.push(`receipt  ${report.receipt.path} (${report.receipt.bytes} bytes)`);
  for (const trust of report.trustFiles ?? [])
    lines.push(`trust    ${trust.path} ${trust.fingerprint}`);
  lines.push('');
  const checks = [...report.checks];
  if (report.receipt) {
    // Show the steps a failure stopped before, so the reader sees what was not checked.
    const done = new Set(checks.map((c) => c.step));
    const firstOnline = checks.findIndex((c) => c.step === 'online');
    const missing = STEPS.filter((step) => !done.has(step)).map((step): ReportedCheck => ({
      step,
      status: 'skip',
      detail: 'not checked',
    }));
    checks.splice(firstOnline < 0 ? checks.length : firstOnline, 0, ...missing);
  }
  for (const check of checks) {
    const code = check.code ? `${check.code}: ` : '';
    lines.push(`  ${MARK[check.status]} ${check.step.padEnd(12)} ${code}${check.detail}`);
  }
  lines.push('');
  lines.push(
    report.code && report.code !== report.verdict
      ? `${report.verdict} (${report.code})`
      : report.verdict,
  );
  lines.push(VERDICT_MEANING[report.verdict]);
  if (report.verdict === 'VERIFIED' && report.facts) {
    const f = report.facts;
    lines.push(
      `The file existed no later than ${f.existedBy} on chain ${f.chainId}, block ${f.blockNumber}, tx ${f.txId}.`,
    );
    lines.push(`Deposited by ${f.depositor.org} / ${f.depositor.account}.`);
    if (f.signer) {
      lines.push(
        `Block signed by pinned key ${f.signer.keyId}${f.signer.operator ? ` (${f.signer.operator})` : ''}.`,
      );
    }
  }
  if (report.trustFingerprint) lines.push(`Trust file fingerprint: ${report.trustFingerprint}`);
  lines.push(
    `Verifier: ${report.verifier.name} ${report.verifier.version} (node ${report.verifier.node}, OpenSSL ${report.verifier.openssl})`,
  );
  return `${lines.join('\n')}\n`;
}

export const verifyCommand: Command = {
  name: 'verify',
  summary: 'verify a file against its receipt and pinned trust files (offline)',
  help: HELP,
  run,
};
