/**
 * `evidence upgrade RECEIPT --gateway URL`: asks the node that issued a receipt to add the anchor
 * proofs it holds (the independent chains that recorded its tip after the deposit), and writes
 * the upgraded receipt.
 *
 * The gateway may only append anchors: the answer must be a well-formed receipt equal to the one
 * sent except for anchors added after the existing ones; anything else is refused
 * (`GATEWAY_RESPONSE_INVALID`) and nothing is written. Whether the anchors hold is for
 * `evidence verify --require-anchor` to say, offline, against pinned trust files.
 *
 * Writing is safe by default: in place, atomically (temporary file, then rename), after keeping
 * the receipt as it was in `RECEIPT.bak`. An existing `.bak` of the same receipt (same record and
 * proofs) is kept as it is: it is the older copy. With `--out FILE` the original is not touched.
 */

import { canonicalJson } from '../../core/canonical';
import { anchorClaimOf, type ReceiptAnchor } from '../../core/anchor';
import { parseReceipt, type Receipt } from '../../core/receipt';
import { CliError, toCliError } from '../cli-error';
import type { CliIo } from '../cli-io';
import { jsonText, parseCommandLine, usage, type Command } from '../command';
import { EXIT_OK, type ExitStatus } from '../exit-codes';
import { createGatewayClient, parseGatewayUrl } from '../node-client';
import {
  BACKUP_SUFFIX,
  readReceiptFile,
  withoutAnchors,
  writeAnchoredReceipt,
} from '../receipt-file';

const OPTIONS = {
  gateway: { type: 'string' },
  key: { type: 'string' },
  out: { type: 'string' },
  force: { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

const HELP = `Usage: evidence upgrade RECEIPT --gateway URL [--key KEY] [--out FILE] [--force] [--json]

Sends RECEIPT to the node that issued it and writes it back with the anchor proofs the node
holds: for each independent chain (e.g. the court's) that recorded the evidence chain's tip at or
after the receipt's block, the chain of block headers up to that tip and the proof of the anchor
transaction on that chain. Nothing else in the receipt may change; an answer that changes
anything else is refused and nothing is written.

Options:
  --gateway URL  the node that issued the receipt
  --key KEY      API key, any role (default: $EVIDENCE_API_KEY)
  --out FILE     write the upgraded receipt to FILE and leave RECEIPT as it is (an existing
                 different FILE is kept unless --force)
  --force        with --out: overwrite FILE; in place: replace a RECEIPT${BACKUP_SUFFIX} that is the
                 backup of another receipt
  --json         print { gateway, receipt, out, backup, status, added, anchors, bytes }

Without --out, RECEIPT is replaced atomically, after the receipt as it was is kept in
RECEIPT${BACKUP_SUFFIX} (an existing backup of the same receipt is kept: it is the older copy).
Check the result offline, with both chains pinned:
  evidence verify FILE --receipt RECEIPT --trust evidence.json --trust court.json --require-anchor

Exit status: 0 upgraded, or nothing new to add; 1 no anchor covers the receipt yet
(ANCHOR_PENDING: run again after the next anchoring) or refused; 2 usage or input error;
3 file, network or gateway error.
`;

function invalid(detail: string): CliError {
  return new CliError('GATEWAY_RESPONSE_INVALID', `the gateway's upgraded receipt ${detail}`);
}

/**
 * The anchors the gateway added to `sent`, after checking that nothing else changed.
 * @throws CliError `GATEWAY_RESPONSE_INVALID`.
 */
function addedAnchors(
  sent: Receipt,
  answer: unknown,
): { receipt: Receipt; added: ReceiptAnchor[] } {
  let receipt: Receipt;
  try {
    receipt = parseReceipt(answer);
  } catch (error) {
    throw invalid(`is malformed: ${toCliError(error).message}`);
  }
  if (withoutAnchors(receipt) !== withoutAnchors(sent))
    throw invalid('differs from the receipt sent in more than its anchors');
  const before = sent.anchors ?? [];
  const after = receipt.anchors ?? [];
  if (
    after.length < before.length ||
    before.some((anchor, i) => canonicalJson(anchor) !== canonicalJson(after[i]))
  ) {
    throw invalid('drops or changes anchors the receipt already had');
  }
  return { receipt, added: after.slice(before.length) };
}

async function run(args: readonly string[], io: CliIo): Promise<ExitStatus> {
  const { values, positionals } = parseCommandLine(args, OPTIONS);
  const [shown, ...extra] = positionals;
  if (shown === undefined) throw usage('upgrade needs the RECEIPT to upgrade');
  if (extra.length > 0) throw usage(`upgrade takes one RECEIPT; also got ${extra.join(' ')}`);
  if (values.gateway === undefined) throw usage('upgrade needs --gateway URL');
  const apiKey = (values.key ?? io.env.EVIDENCE_API_KEY)?.trim();
  if (apiKey === undefined || apiKey === '') {
    throw usage('upgrade needs an API key: --key KEY or the EVIDENCE_API_KEY variable');
  }
  if (/[\r\n]/.test(apiKey)) throw usage('the API key must be one line');
  const client = createGatewayClient(io, parseGatewayUrl(values.gateway));
  const outShown = values.out ?? shown;

  // The receipt must be one before anything is sent; its bytes are kept for the backup.
  const original = await readReceiptFile(io, shown);
  const sent = original.receipt;

  const { receipt, added } = addedAnchors(sent, await client.upgrade(sent, apiKey));
  const text = jsonText(receipt);
  const backup =
    added.length > 0
      ? await writeAnchoredReceipt(io, original, outShown, text, values.force === true)
      : undefined;

  const result = {
    gateway: client.url,
    receipt: shown,
    out: added.length > 0 ? outShown : null,
    backup: backup ?? null,
    status: added.length > 0 ? 'upgraded' : 'unchanged',
    added: added.map((anchor) => {
      const claim = anchorClaimOf(receipt, anchor);
      return {
        kind: claim.kind,
        targetChainId: claim.source,
        sourceBlockNumber: claim.sourceBlockNumber,
        targetBlockNumber: claim.targetBlockNumber ?? null,
        anchoredAt: claim.anchoredAt ?? null,
        headers: claim.headers,
      };
    }),
    anchors: receipt.anchors?.length ?? 0,
    bytes: Buffer.byteLength(added.length > 0 ? text : original.text),
  };
  if (values.json === true) {
    io.stdout(jsonText(result));
  } else if (added.length === 0) {
    io.stdout(
      `unchanged ${shown}: the gateway holds no anchor that the receipt does not already carry ` +
        `(${result.anchors} anchor${result.anchors === 1 ? '' : 's'})\n`,
    );
  } else {
    const lines = result.added.map(
      (a) =>
        `added anchor on ${a.targetChainId}: evidence block ${a.sourceBlockNumber} recorded ` +
        `${a.targetBlockNumber === null ? 'by a time stamp' : `in block ${a.targetBlockNumber}`} ` +
        `at ${a.anchoredAt ?? '(unreadable)'} (${a.headers} header${a.headers === 1 ? '' : 's'})`,
    );
    lines.push(`wrote ${outShown} (${result.bytes} bytes, ${result.anchors} anchors)`);
    if (backup) lines.push(`the receipt as it was is kept in ${backup}`);
    lines.push(
      'Not yet verified: check it offline with evidence verify ... --trust (both chains) --require-anchor',
    );
    io.stdout(`${lines.join('\n')}\n`);
  }
  return EXIT_OK;
}

export const upgradeCommand: Command = {
  name: 'upgrade',
  summary: 'add anchor proofs from the issuing node to a receipt',
  help: HELP,
  run,
};
