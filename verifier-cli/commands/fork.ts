/**
 * `evidence fork PROOF --trust TRUST...`: checks, offline, a fork proof a replica kept
 * (`replica-fork.json`, docs/replicas.md): two different blocks of one chain at one height, each
 * signed by a key the trust files pin for it. Proven, the chain's key signed two histories.
 */

import { isEvidenceError } from '../../core/errors';
import { checkForkProof, parseForkProof, type ForkProof } from '../../core/fork';
import { blockHash } from '../../core/block';
import { mergeTrust } from '../../core/trust';
import { CliError, toCliError } from '../cli-error';
import type { CliIo } from '../cli-io';
import { jsonText, parseCommandLine, resolvePath, usage, type Command } from '../command';
import { EXIT_NOT_VERIFIED, EXIT_OK, type ExitStatus } from '../exit-codes';
import { readJsonFile } from '../files';
import { loadTrustFile } from '../trust-input';

const OPTIONS = {
  trust: { type: 'string', multiple: true },
  json: { type: 'boolean' },
} as const;

const HELP = `Usage: evidence fork PROOF --trust TRUST [--trust TRUST...] [--json]

Checks a fork proof a replica kept (replica-fork.json): two different blocks of one chain at one
height, each signed by a key the trust files pin for that chain, valid at the block's time. If it
holds, whoever held the chain's key signed two histories: the platform rewrote its chain, or its
key is in other hands. Nothing is fetched; the check is offline.

Options:
  --trust FILE  a pinned trust file naming the chain; repeat for several
  --json        print the outcome as JSON

Exit status: 0 proven, 1 not proven (the reason is printed), 2 usage error or a file that is not
a fork proof or trust file (every bad field is listed), 3 unreadable file.
`;

function blockLine(label: string, block: ForkProof['held']): string {
  const { header, signature } = block;
  return `${label.padEnd(8)} ${blockHash(header)}  time ${header.time}, ${header.txCount} transaction(s), signed by ${signature.keyId} (${signature.algorithm})`;
}

async function run(args: readonly string[], io: CliIo): Promise<ExitStatus> {
  const { values, positionals } = parseCommandLine(args, OPTIONS);
  const [file, ...extra] = positionals;
  if (file === undefined) throw usage('fork needs a PROOF file (replica-fork.json)');
  if (extra.length > 0) throw usage(`fork takes one PROOF; also got ${extra.join(' ')}`);
  const trustFiles = values.trust ?? [];
  if (trustFiles.length === 0) throw usage('fork needs --trust TRUST');
  const { value } = await readJsonFile(resolvePath(io, file), file, 'fork proof');
  let proof: ForkProof;
  try {
    proof = parseForkProof(value);
  } catch (error) {
    if (!isEvidenceError(error)) throw toCliError(error);
    throw new CliError('VALIDATION_FAILED', `${file}: ${error.message}`, error.fields);
  }
  const loaded = await Promise.all(trustFiles.map((name) => loadTrustFile(io, name)));
  const verdict = checkForkProof(proof, mergeTrust(...loaded.map((trust) => trust.trust)));
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
    const lines = [
      verdict.proven ? 'PROVEN: a chain signed two histories' : 'NOT PROVEN',
      '',
      `chain    ${proof.chainId}, block ${proof.number}`,
      blockLine('held', proof.held),
      blockLine('served', proof.served),
      `seen     ${proof.detectedAt} (by the replica, not proven)`,
      '',
      verdict.proven ? verdict.detail : `Why: ${verdict.problem}`,
    ];
    io.stdout(`${lines.join('\n')}\n`);
  }
  return verdict.proven ? EXIT_OK : EXIT_NOT_VERIFIED;
}

export const forkCommand: Command = {
  name: 'fork',
  summary: "check a replica's proof that a chain signed two histories (offline)",
  help: HELP,
  run,
};
