/**
 * `evidence inspect RECEIPT`: what a receipt claims, for people. Shape is checked (a malformed
 * receipt is an input error listing every bad field, exit 2) but nothing is verified: that is
 * `evidence verify`.
 */

import { anchorClaimOf } from '../../core/anchor';
import { blockHash } from '../../core/block';
import { isEvidenceError } from '../../core/errors';
import { parseReceipt, type Receipt } from '../../core/receipt';
import { CliError, toCliError } from '../cli-error';
import type { CliIo } from '../cli-io';
import { jsonText, parseCommandLine, resolvePath, usage, type Command } from '../command';
import { EXIT_OK, type ExitStatus } from '../exit-codes';
import { readJsonFile } from '../files';

const OPTIONS = { json: { type: 'boolean' } } as const;

const HELP = `Usage: evidence inspect RECEIPT [--json]

Prints what a receipt claims: digests, depositor, chain, block, transaction, time, position in its
batch, signer key, size. Nothing is verified; use "evidence verify" for that.

Exit status: 0 shown, 2 not JSON or not a receipt (every bad field is listed), 3 unreadable.
`;

/** The receipt's claims, flattened for reports. */
export function summarizeReceipt(receipt: Receipt, path: string, bytes: number) {
  const { record, inclusion, ledger, proof } = receipt;
  return {
    receipt: { path, bytes, type: receipt.type, version: receipt.version },
    digests: record.digests,
    ...(record.evidenceType !== undefined ? { evidenceType: record.evidenceType } : {}),
    ...(record.mediaType !== undefined ? { mediaType: record.mediaType } : {}),
    ...(record.size !== undefined ? { size: record.size } : {}),
    depositor: record.depositor,
    ...(record.process !== undefined ? { process: record.process } : {}),
    ...(record.identityCommitment !== undefined
      ? { identityCommitment: record.identityCommitment }
      : {}),
    ...(record.metadataCommitment !== undefined
      ? { metadataCommitment: record.metadataCommitment }
      : {}),
    ledger: {
      kind: ledger.kind,
      chainId: ledger.chainId,
      blockNumber: ledger.blockNumber,
      txId: ledger.txId,
      time: ledger.time,
    },
    batch: { leafIndex: inclusion.leafIndex, size: inclusion.treeSize, root: inclusion.root },
    block: {
      number: proof.block.header.number,
      hash: blockHash(proof.block.header),
      txIndex: proof.txIndex,
      txCount: proof.block.header.txCount,
    },
    signer: { keyId: proof.block.signature.keyId, algorithm: proof.block.signature.algorithm },
    anchors: (receipt.anchors ?? []).map((anchor) => anchorClaimOf(receipt, anchor)),
  };
}

function humanSummary(s: ReturnType<typeof summarizeReceipt>): string {
  const rows: [string, string][] = [
    [
      'receipt',
      `${s.receipt.path} (${s.receipt.bytes} bytes, ${s.receipt.type} v${s.receipt.version})`,
    ],
    ...s.digests.map((digest, i): [string, string] => [i === 0 ? 'digests' : '', digest]),
  ];
  if (s.evidenceType !== undefined) rows.push(['type', s.evidenceType]);
  if (s.mediaType !== undefined) rows.push(['media type', s.mediaType]);
  if (s.size !== undefined) rows.push(['file size', `${s.size} bytes`]);
  rows.push(['depositor', `${s.depositor.org} / ${s.depositor.account}`]);
  if (s.process !== undefined) rows.push(['process', `${s.process.token} (${s.process.phase})`]);
  if (s.identityCommitment !== undefined)
    rows.push(['identity', `${s.identityCommitment} (salted commitment)`]);
  if (s.metadataCommitment !== undefined)
    rows.push(['metadata', `${s.metadataCommitment} (salted commitment)`]);
  rows.push(
    ['chain', `${s.ledger.chainId} (${s.ledger.kind})`],
    ['block', `${s.block.number} (hash ${s.block.hash})`],
    [
      'transaction',
      `${s.ledger.txId} (index ${s.block.txIndex} of ${s.block.txCount} in the block)`,
    ],
    ['time', s.ledger.time],
    ['batch', `leaf ${s.batch.leafIndex} of ${s.batch.size}, root ${s.batch.root}`],
    ['signer key', `${s.signer.keyId} (${s.signer.algorithm})`],
    ...s.anchors.map((a, i): [string, string] => [
      i === 0 ? 'anchors' : '',
      a.kind === 'timestamp'
        ? `block ${a.sourceBlockNumber} time-stamped by ${a.source} at ${a.anchoredAt ?? '(unreadable token)'}`
        : `block ${a.sourceBlockNumber} anchored on ${a.source} in block ${a.targetBlockNumber} at ${a.anchoredAt}`,
    ]),
  );
  const body = rows.map(([label, value]) => `${label.padEnd(12)} ${value}`).join('\n');
  return `${body}\n\nThese are the receipt's claims, not yet checked: run "evidence verify" to check them.\n`;
}

async function run(args: readonly string[], io: CliIo): Promise<ExitStatus> {
  const { values, positionals } = parseCommandLine(args, OPTIONS);
  const [path, ...extra] = positionals;
  if (path === undefined) throw usage('inspect needs a RECEIPT file');
  if (extra.length > 0) throw usage(`inspect takes one RECEIPT; also got ${extra.join(' ')}`);
  const { value, bytes } = await readJsonFile(resolvePath(io, path), path, 'receipt');
  let receipt: Receipt;
  try {
    receipt = parseReceipt(value);
  } catch (error) {
    if (!isEvidenceError(error)) throw toCliError(error);
    throw new CliError('RECEIPT_MALFORMED', `${path}: ${error.message}`, error.fields);
  }
  const summary = summarizeReceipt(receipt, path, bytes);
  io.stdout(values.json === true ? jsonText(summary) : humanSummary(summary));
  return EXIT_OK;
}

export const inspectCommand: Command = {
  name: 'inspect',
  summary: 'show what a receipt claims (without verifying it)',
  help: HELP,
  run,
};
