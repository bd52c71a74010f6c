/**
 * `evidence fork PROOF --trust TRUST...`: checks, offline, a fork proof a replica kept
 * (`replica-fork.json`, docs/replicas.md): two different blocks of one chain at one height, each
 * signed by a key the trust files pin for it. Proven, the chain's key signed two histories.
 *
 * `evidence fork RECEIPT RECEIPT --trust TRUST... [--out PROOF]`: the same check on the signed
 * block headers of two receipts, such as the two parties of a case may bring from one platform:
 * receipts of one chain and height whose blocks differ prove the fork themselves, and `--out`
 * writes that proof for the nodes that must learn of it (`POST /v1/forks`).
 */

import { isEvidenceError } from '../../core/errors';
import {
  checkForkProof,
  forkProofOf,
  parseForkProof,
  type ForkProof,
  type ForkVerdict,
} from '../../core/fork';
import { parseReceipt, type Receipt } from '../../core/receipt';
import { blockHash } from '../../core/block';
import { mergeTrust } from '../../core/trust';
import { CliError, toCliError } from '../cli-error';
import type { CliIo } from '../cli-io';
import { jsonText, parseCommandLine, resolvePath, usage, type Command } from '../command';
import { EXIT_NOT_VERIFIED, EXIT_OK, type ExitStatus } from '../exit-codes';
import { readJsonFile, writeFileAtomic } from '../files';
import { loadTrustFile } from '../trust-input';

const OPTIONS = {
  trust: { type: 'string', multiple: true },
  out: { type: 'string' },
  json: { type: 'boolean' },
} as const;

const HELP = `Usage: evidence fork PROOF --trust TRUST [--trust TRUST...] [--json]
       evidence fork RECEIPT RECEIPT --trust TRUST [--trust TRUST...] [--out PROOF] [--json]

Checks a fork proof a replica kept (replica-fork.json): two different blocks of one chain at one
height, each signed by a key the trust files pin for that chain, valid at the block's time. If it
holds, whoever held the chain's key signed two histories: the platform rewrote its chain, or its
key is in other hands. Nothing is fetched; the check is offline.

Given two receipts instead, it checks their signed blocks the same way: two receipts of one chain
and height whose blocks differ are such a proof themselves (receipts of different heights prove
nothing either way).

Options:
  --trust FILE  a pinned trust file naming the chain; repeat for several
  --out FILE    with two receipts: write the proof they make, when proven (a node takes it at
                POST /v1/forks)
  --json        print the outcome as JSON

Exit status: 0 proven, 1 not proven (the reason is printed), 2 usage error or a file that is not
a fork proof or trust file (every bad field is listed), 3 unreadable file.
`;

function blockLine(label: string, block: ForkProof['held']): string {
  const { header, signature } = block;
  return `${label.padEnd(8)} ${blockHash(header)}  time ${header.time}, ${header.txCount} transaction(s), signed by ${signature.keyId} (${signature.algorithm})`;
}

/** Reads `file` with `parse`, an input error naming the file and every bad field otherwise. */
async function readParsed<T>(
  io: CliIo,
  file: string,
  what: string,
  parse: (value: unknown) => T,
): Promise<T> {
  const { value } = await readJsonFile(resolvePath(io, file), file, what);
  try {
    return parse(value);
  } catch (error) {
    if (!isEvidenceError(error)) throw toCliError(error);
    throw new CliError('VALIDATION_FAILED', `${file}: ${error.message}`, error.fields);
  }
}

/** The fork proof two receipts make, or why they make none (another chain or height). */
function proofOfReceipts(
  a: Receipt,
  b: Receipt,
  names: readonly [string, string],
  now: Date,
): ForkProof | string {
  const [held, served] = [a.proof.block, b.proof.block];
  if (held.header.chainId !== served.header.chainId)
    return `${names[0]} is of chain ${held.header.chainId} and ${names[1]} of ${served.header.chainId}`;
  if (held.header.number !== served.header.number)
    return (
      `${names[0]} is in block ${held.header.number} and ${names[1]} in block ` +
      `${served.header.number}: receipts of different heights prove no fork`
    );
  return forkProofOf(held, served, now);
}

async function run(args: readonly string[], io: CliIo): Promise<ExitStatus> {
  const { values, positionals } = parseCommandLine(args, OPTIONS);
  if (positionals.length === 0)
    throw usage('fork needs a PROOF file (replica-fork.json), or two RECEIPT files');
  if (positionals.length > 2)
    throw usage(`fork takes one PROOF or two RECEIPTs; got ${positionals.length} files`);
  const fromReceipts = positionals.length === 2;
  if (values.out !== undefined && !fromReceipts)
    throw usage('--out writes the proof two receipts make: give two RECEIPT files');
  const trustFiles = values.trust ?? [];
  if (trustFiles.length === 0) throw usage('fork needs --trust TRUST');
  let made: ForkProof | string;
  if (fromReceipts) {
    const [a, b] = positionals as [string, string];
    const receipts = await Promise.all(
      [a, b].map((file) => readParsed(io, file, 'receipt', parseReceipt)),
    );
    made = proofOfReceipts(receipts[0] as Receipt, receipts[1] as Receipt, [a, b], new Date());
  } else {
    const file = positionals[0] as string;
    made = await readParsed(io, file, 'fork proof', parseForkProof);
  }
  const loaded = await Promise.all(trustFiles.map((name) => loadTrustFile(io, name)));
  const verdict: ForkVerdict =
    typeof made === 'string'
      ? { proven: false, problem: made }
      : checkForkProof(made, mergeTrust(...loaded.map((trust) => trust.trust)));
  if (verdict.proven && values.out !== undefined && typeof made !== 'string') {
    await writeFileAtomic(
      resolvePath(io, values.out),
      values.out,
      `${JSON.stringify(made, null, 2)}\n`,
    );
  }
  if (values.json === true) {
    io.stdout(
      jsonText(
        verdict.proven
          ? {
              proven: true,
              chainId: verdict.chainId,
              number: verdict.number,
              keys: verdict.keys.map((key) => key.keyId),
              detail: verdict.detail,
            }
          : { proven: false, problem: verdict.problem },
      ),
    );
  } else {
    const blocks =
      typeof made === 'string'
        ? []
        : [
            `chain    ${made.chainId}, block ${made.number}`,
            ...(fromReceipts
              ? [blockLine('first', made.held), blockLine('second', made.served)]
              : [
                  blockLine('held', made.held),
                  blockLine('served', made.served),
                  `seen     ${made.detectedAt} (by the replica, not proven)`,
                ]),
            '',
          ];
    const lines = [
      verdict.proven ? 'PROVEN: a chain signed two histories' : 'NOT PROVEN',
      '',
      ...blocks,
      verdict.proven ? verdict.detail : `Why: ${verdict.problem}`,
      ...(verdict.proven && values.out !== undefined ? [`Proof written to ${values.out}`] : []),
    ];
    io.stdout(`${lines.join('\n')}\n`);
  }
  return verdict.proven ? EXIT_OK : EXIT_NOT_VERIFIED;
}

export const forkCommand: Command = {
  name: 'fork',
  summary: "check a replica's proof, or two receipts, that a chain signed two histories (offline)",
  help: HELP,
  run,
};
