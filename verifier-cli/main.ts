/**
 * The `evidence` command line: `main(argv, io)` returns the exit status and does all its I/O
 * through `io` and node:fs, so tests drive it directly (STYLE.md item 23); `run()` is what
 * bin/evidence.js calls. Nothing escapes `main` as an exception: every failure is printed as
 * `error CODE: message` (or a JSON error object under `--json`) and mapped to an exit status by
 * exit-codes.ts.
 */

import { toCliError } from './cli-error';
import { processIo, type CliIo } from './cli-io';
import { usage, type Command } from './command';
import { auditCommand } from './commands/audit';
import { agreementCommand } from './commands/agreement';
import { certificateCommand } from './commands/certificate';
import { depositCommand } from './commands/deposit';
import { dossierCommand } from './commands/dossier';
import { forkCommand } from './commands/fork';
import { hashCommand } from './commands/hash';
import { inspectCommand } from './commands/inspect';
import { timestampCommand } from './commands/timestamp';
import { trustCommand } from './commands/trust';
import { upgradeCommand } from './commands/upgrade';
import { verifyCommand } from './commands/verify';
import { verifyAllCommand } from './commands/verify-all';
import { EXIT_INPUT, EXIT_IO, EXIT_OK, type ExitStatus } from './exit-codes';
import { printError } from './report';
import { cliVersion } from './version';

export type { CliIo } from './cli-io';

export const COMMANDS: readonly Command[] = [
  hashCommand,
  depositCommand,
  verifyCommand,
  verifyAllCommand,
  upgradeCommand,
  timestampCommand,
  inspectCommand,
  trustCommand,
  forkCommand,
  auditCommand,
  agreementCommand,
  certificateCommand,
  dossierCommand,
];

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const list = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n');
  return `Usage: evidence COMMAND [OPTIONS]

Deposit evidence digests and verify files against their receipts, offline.

Commands:
${list}

Options:
  --help, -h     show help (also: evidence COMMAND --help)
  --version, -V  show the version

Exit status: 0 verified / success, 1 not verified or refused, 2 usage or input error,
3 file or network error.
`;
}

/** The arguments before a `--` terminator: where flags can be. */
function flagArea(args: readonly string[]): readonly string[] {
  const end = args.indexOf('--');
  return end < 0 ? args : args.slice(0, end);
}

/**
 * Runs the command line `argv` (without node and script) and returns the exit status.
 * Never throws.
 */
export async function main(argv: readonly string[], io: CliIo): Promise<ExitStatus> {
  const json = flagArea(argv).includes('--json');
  let command: Command | undefined;
  try {
    const [first, ...rest] = argv;
    if (first === undefined) {
      io.stderr(overview());
      return EXIT_INPUT;
    }
    if (first === '--help' || first === '-h' || first === 'help') {
      const topic = first === 'help' ? rest[0] : undefined;
      const named = topic !== undefined ? COMMANDS.find((c) => c.name === topic) : undefined;
      if (topic !== undefined && named === undefined)
        throw usage(`unknown command ${JSON.stringify(topic)}`);
      io.stdout(named ? named.help : overview());
      return EXIT_OK;
    }
    if (first === '--version' || first === '-V') {
      const { name, version } = cliVersion();
      io.stdout(json ? `${JSON.stringify({ name, version })}\n` : `${name} ${version}\n`);
      return EXIT_OK;
    }
    command = COMMANDS.find((c) => c.name === first);
    if (command === undefined) {
      throw usage(
        first.startsWith('-')
          ? `unknown option ${first}`
          : `unknown command ${JSON.stringify(first)}`,
      );
    }
    const flags = flagArea(rest);
    if (flags.includes('--help') || flags.includes('-h')) {
      io.stdout(command.help);
      return EXIT_OK;
    }
    return await command.run(rest, io);
  } catch (caught) {
    const error = toCliError(caught);
    printError(io, error, json);
    if (error.code === 'USAGE' && !json) {
      io.stderr(`Run "evidence ${command ? `${command.name} ` : ''}--help" for usage.\n`);
    }
    return error.exitStatus;
  }
}

/** Entry point for bin/evidence.js: real process I/O, exit status through `process.exitCode`. */
export function run(): void {
  // A closed pipe (`evidence hash big | head -1`) is not an error worth a stack trace.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? EXIT_OK);
    throw error;
  });
  main(process.argv.slice(2), processIo()).then(
    (status) => {
      process.exitCode = status;
    },
    (error: unknown) => {
      // Unreachable by contract; kept so a bug still ends with a code, not a stack trace.
      process.stderr.write(`error INTERNAL: ${(error as Error)?.message ?? String(error)}\n`);
      process.exitCode = EXIT_IO;
    },
  );
}
