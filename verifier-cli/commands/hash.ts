/**
 * `evidence hash FILE...`: the digests a deposit would record, computed locally in one pass.
 */

import { DIGEST_ALGORITHMS, type DigestAlgorithm, type DigestSet } from '../../core/digest';
import { toCliError, type CliError } from '../cli-error';
import type { CliIo } from '../cli-io';
import { jsonText, parseCommandLine, usage, type Command } from '../command';
import { EXIT_OK, worstExitStatus, type ExitStatus } from '../exit-codes';
import { hashUserFile } from '../hash-file';
import { errorText } from '../report';

const OPTIONS = {
  json: { type: 'boolean' },
  algorithms: { type: 'string' },
} as const;

const HELP = `Usage: evidence hash FILE... [--algorithms sha256,sm3] [--json]

Prints the digests of each FILE, computed locally in one pass (the file never leaves the machine):
  sha256:<hex> sm3:<hex>  FILE

Options:
  --algorithms LIST  comma-separated, from: ${DIGEST_ALGORITHMS.join(', ')} (default: all; sha256 is always included)
  --json             print [{ file, size, digests: { sha256, sm3 } }]

Exit status: 0 all hashed, 2 usage error, 3 a file could not be read.
`;

/**
 * Parses `--algorithms`.
 * @throws CliError `USAGE` for an unknown name.
 */
export function parseAlgorithms(text: string | undefined): DigestAlgorithm[] {
  if (text === undefined) return [...DIGEST_ALGORITHMS];
  const names = text
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name.length > 0);
  const unknown = names.filter((name) => !(DIGEST_ALGORITHMS as readonly string[]).includes(name));
  if (names.length === 0 || unknown.length > 0) {
    throw usage(
      `--algorithms takes a comma-separated list of ${DIGEST_ALGORITHMS.join(', ')}` +
        (unknown.length > 0 ? `; unknown: ${unknown.join(', ')}` : ''),
    );
  }
  // Always sha256 (the primary digest), in core's order.
  return DIGEST_ALGORITHMS.filter(
    (algorithm) => algorithm === 'sha256' || names.includes(algorithm),
  );
}

/** Digests in core's algorithm order, space separated. */
export function digestLine(digests: DigestSet): string {
  return DIGEST_ALGORITHMS.flatMap((algorithm) => digests[algorithm] ?? []).join(' ');
}

type Outcome =
  | { readonly file: string; readonly size: number; readonly digests: DigestSet }
  | { readonly file: string; readonly error: CliError };

async function run(args: readonly string[], io: CliIo): Promise<ExitStatus> {
  const { values, positionals } = parseCommandLine(args, OPTIONS);
  const json = values.json === true;
  if (positionals.length === 0) throw usage('hash needs at least one FILE');
  const algorithms = parseAlgorithms(values.algorithms);
  const outcomes: Outcome[] = [];
  for (const file of positionals) {
    try {
      const { size, digests } = await hashUserFile(io, file, algorithms);
      outcomes.push({ file, size, digests });
      if (!json) io.stdout(`${digestLine(digests)}  ${file}\n`);
    } catch (caught) {
      // Like sha256sum: report the file, go on with the others, fail at the end.
      const error = toCliError(caught);
      outcomes.push({ file, error });
      if (!json) io.stderr(errorText(error));
    }
  }
  if (json) {
    io.stdout(
      jsonText(
        outcomes.map((outcome) =>
          'error' in outcome ? { file: outcome.file, error: outcome.error.toJSON() } : outcome,
        ),
      ),
    );
  }
  return worstExitStatus(outcomes.map((o) => ('error' in o ? o.error.exitStatus : EXIT_OK)));
}

export const hashCommand: Command = {
  name: 'hash',
  summary: 'print the sha256 and sm3 digests of files (computed locally)',
  help: HELP,
  run,
};
