/**
 * `evidence timestamp RECEIPT... --tsa URL --authority NAME --trust TRUST...`: has a trusted
 * time-stamp authority (RFC 3161) stamp the hash of each receipt's block, and adds the token to
 * the receipt as an anchor (core/anchor.ts, kind `rfc3161-timestamp`). The time the authority
 * signs then dates the evidence by a clock and a key that are not the evidence chain's: a
 * receipt so stamped keeps proving its time even if the node's key is later marked compromised.
 *
 * Nothing unchecked is written: each receipt must verify against the trust files first, and with
 * the token added it must verify again, the authority pinned (`evidence trust add-authority`).
 * Receipts of one block share one token. Writing is as for `upgrade` (verifier-cli/receipt-file.ts).
 */

import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { anchorFactText, verifyReceipt } from '../../core/verify';
import { blockHash } from '../../core/block';
import {
  TIMESTAMP_ANCHOR_KIND,
  type AnchorFact,
  type TimestampAnchorProof,
} from '../../core/anchor';
import { ANCHOR_ERROR_CODES, type AnchorErrorCode } from '../../core/errors';
import { CHAIN_ID_PATTERN, mergeTrust } from '../../core/trust';
import type { Receipt } from '../../core/receipt';
import { CliError } from '../cli-error';
import type { CliIo } from '../cli-io';
import { jsonText, parseCommandLine, resolvePath, usage, type Command } from '../command';
import { filesUnder, isReceiptName, RECEIPT_SUFFIX } from '../folder-files';
import { EXIT_OK, type ExitStatus } from '../exit-codes';
import { BACKUP_SUFFIX, readReceiptFile, writeAnchoredReceipt } from '../receipt-file';
import { loadTrustFile } from '../trust-input';
import { parseTsaUrl, requestTimestamp, type StampedToken } from '../tsa-client';

const OPTIONS = {
  tsa: { type: 'string' },
  authority: { type: 'string' },
  trust: { type: 'string', multiple: true },
  out: { type: 'string' },
  force: { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

const HELP = `Usage: evidence timestamp RECEIPT|FOLDER... --tsa URL --authority NAME --trust TRUST [--trust TRUST...]
                          [--out FILE] [--force] [--json]

Asks a trusted time-stamp authority (RFC 3161, e.g. a national time service's TSA) to stamp the
hash of each receipt's block, and adds the signed token to the receipt. The authority's time then
dates the evidence independently of the evidence chain: its clock, its key, its operators.

Each receipt must verify against the trust files before anything is asked, and again with the
token added, under the authority's key pinned in a trust file (evidence trust add-authority).
Receipts of the same block share one token. A receipt already stamped by NAME is left as it is.
A FOLDER stands for every receipt (*.receipt.json) under it, subfolders included, in name order.

Options:
  --tsa URL         the authority's RFC 3161 HTTP address
  --authority NAME  the authority as the trust file names it
  --trust FILE      a pinned trust file: the evidence chain and the authority; repeat for several
  --out FILE        with one RECEIPT: write the stamped receipt to FILE, leave RECEIPT as it is
  --force           with --out: overwrite FILE; in place: replace a RECEIPT${BACKUP_SUFFIX} that is the
                    backup of another receipt
  --json            print { tsa, authority, receipts: [{ receipt, status, out, backup, blockNumber,
                    genTime, accuracyMs, serialNumber, existedBy, detail }] }

Without --out each RECEIPT is replaced atomically, after the receipt as it was is kept in
RECEIPT${BACKUP_SUFFIX}. Receipts are stamped in order; on an error the ones before it are written.
Check the result offline:
  evidence verify FILE --receipt RECEIPT --trust TRUST --require-anchor=NAME

Exit status: 0 stamped (or already stamped); 1 the authority refused (TIMESTAMP_REFUSED), a
receipt does not verify, or the token does not verify under a pinned key (ANCHOR_*); 2 usage or
input error; 3 file or network error, or an answer that is not RFC 3161 (TSA_ERROR).
`;

interface Stamped {
  readonly receipt: string;
  readonly status: 'stamped' | 'unchanged';
  readonly out: string | null;
  readonly backup: string | null;
  readonly blockNumber: number;
  readonly genTime: string | null;
  readonly accuracyMs: number | null;
  readonly serialNumber: string | null;
  readonly existedBy: string | null;
  /** One line for people on what the time stamp shows (core's `anchorFactText`). */
  readonly detail?: string;
}

/** The time stamp of `authority` among the anchors a verdict verified. */
function stampOf(anchors: readonly AnchorFact[], authority: string): AnchorFact | undefined {
  return anchors.find((fact) => fact.kind === 'timestamp' && fact.targetChainId === authority);
}

async function run(args: readonly string[], io: CliIo): Promise<ExitStatus> {
  const { values, positionals } = parseCommandLine(args, OPTIONS);
  if (positionals.length === 0) throw usage('timestamp needs at least one RECEIPT');
  if (values.tsa === undefined) throw usage('timestamp needs --tsa URL');
  const authority = values.authority;
  if (authority === undefined) throw usage('timestamp needs --authority NAME');
  if (!new RegExp(CHAIN_ID_PATTERN).test(authority))
    throw usage(`--authority ${JSON.stringify(authority)} is not a name a trust file can hold`);
  const trustFiles = values.trust ?? [];
  if (trustFiles.length === 0) throw usage('timestamp needs --trust TRUST');
  const url = parseTsaUrl(values.tsa);
  const shownReceipts = await receiptsOf(io, positionals);
  if (values.out !== undefined && shownReceipts.length !== 1)
    throw usage('--out takes one RECEIPT; stamp several in place');
  const loaded = await Promise.all(trustFiles.map((file) => loadTrustFile(io, file)));
  const trust = mergeTrust(...loaded.map((file) => file.trust));
  if (!trust.chains.some((entry) => entry.kind === 'rfc3161' && entry.chainId === authority)) {
    throw new CliError(
      'ANCHOR_UNTRUSTED',
      `no trust file pins a time-stamp authority ${authority}; pin it first (evidence trust add-authority)`,
    );
  }

  const tokens = new Map<string, StampedToken>();
  const results: Stamped[] = [];
  for (const shown of shownReceipts) {
    const original = await readReceiptFile(io, shown);
    const { receipt } = original;
    const blockNumber = receipt.ledger.blockNumber;
    const plain = verifyReceipt(receipt, trust);
    if (plain.verdict !== 'VERIFIED') {
      throw new CliError(
        'RECEIPT_MALFORMED',
        `${shown} does not verify against the trust files (${plain.code ?? plain.verdict}); nothing was asked of the authority`,
      );
    }
    const already = (receipt.anchors ?? []).some(
      (anchor) => anchor.kind === TIMESTAMP_ANCHOR_KIND && anchor.authority === authority,
    );
    if (already) {
      // Its stamps verified with the rest of the receipt just above.
      const fact = stampOf(plain.anchors, authority);
      results.push(resultOf(shown, 'unchanged', null, null, blockNumber, fact));
      continue;
    }
    const hash = blockHash(receipt.proof.block.header);
    let stamped = tokens.get(hash);
    if (!stamped) {
      stamped = await requestTimestamp(io, url, Buffer.from(hash.slice('sha256:'.length), 'hex'));
      tokens.set(hash, stamped);
    }
    const anchor: TimestampAnchorProof = {
      kind: TIMESTAMP_ANCHOR_KIND,
      authority,
      headers: [],
      token: stamped.der.toString('base64'),
    };
    const next: Receipt = { ...receipt, anchors: [...(receipt.anchors ?? []), anchor] };
    const verdict = verifyReceipt(next, trust, { requireAnchors: [authority] });
    if (verdict.verdict !== 'VERIFIED') {
      const failed = verdict.checks.find((check) => check.status === 'fail');
      const code = (ANCHOR_ERROR_CODES as readonly string[]).includes(verdict.code ?? '')
        ? (verdict.code as AnchorErrorCode)
        : 'ANCHOR_PROOF_INVALID';
      throw new CliError(
        code,
        `the token from ${url.origin} does not verify for ${shown}: ${failed?.detail ?? verdict.verdict}; nothing was written`,
      );
    }
    const outShown = values.out ?? shown;
    const backup = await writeAnchoredReceipt(
      io,
      original,
      outShown,
      jsonText(next),
      values.force === true,
    );
    const fact = stampOf(verdict.anchors, authority);
    results.push(resultOf(shown, 'stamped', outShown, backup ?? null, blockNumber, fact));
  }

  if (values.json === true) {
    io.stdout(jsonText({ tsa: url.href, authority, receipts: results }));
  } else {
    const lines = results.map((r) =>
      r.status === 'unchanged'
        ? `unchanged ${r.receipt}: already stamped by ${authority}`
        : `stamped ${r.receipt}: ${r.existedBy === null ? '' : `existed no later than ${r.existedBy}; `}wrote ${r.out}${r.backup ? ` (the receipt as it was is kept in ${r.backup})` : ''}`,
    );
    const facts = results.flatMap((r) =>
      r.status === 'stamped' && r.detail ? [`  ${r.detail}`] : [],
    );
    io.stdout(`${[...lines, ...facts].join('\n')}\n`);
  }
  return EXIT_OK;
}

/**
 * The receipts the arguments name: a file as it is, a folder as every receipt under it.
 * @throws CliError `USAGE` for a folder without receipts.
 */
async function receiptsOf(io: CliIo, shown: readonly string[]): Promise<string[]> {
  const receipts: string[] = [];
  for (const name of shown) {
    const stat = await fs.stat(resolvePath(io, name)).catch(() => undefined);
    if (!stat?.isDirectory()) {
      receipts.push(name);
      continue;
    }
    const found = (await filesUnder(resolvePath(io, name), name)).filter(isReceiptName);
    if (found.length === 0) throw usage(`${name} holds no receipt (*${RECEIPT_SUFFIX})`);
    receipts.push(...found.map((file) => join(name, file)));
  }
  return receipts;
}

function resultOf(
  receipt: string,
  status: Stamped['status'],
  out: string | null,
  backup: string | null,
  blockNumber: number,
  fact: AnchorFact | undefined,
): Stamped {
  return {
    receipt,
    status,
    out,
    backup,
    blockNumber,
    genTime: fact?.genTime ?? null,
    accuracyMs: fact?.accuracyMs ?? null,
    serialNumber: fact?.serialNumber ?? null,
    existedBy: fact?.anchoredAt ?? null,
    ...(fact ? { detail: anchorFactText(fact) } : {}),
  };
}

export const timestampCommand: Command = {
  name: 'timestamp',
  summary: "have a trusted time-stamp authority (RFC 3161) stamp receipts' blocks",
  help: HELP,
  run,
};
