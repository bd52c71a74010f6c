/**
 * What every subcommand provides, and the strict argument parsing they share: an unknown flag, a
 * missing value or a stray argument is a `USAGE` error (exit 2), never ignored.
 */

import { isAbsolute, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CliError } from './cli-error';
import type { CliIo } from './cli-io';
import type { ExitStatus } from './exit-codes';

export interface Command {
  readonly name: string;
  /** One line for `evidence --help`. */
  readonly summary: string;
  /** Full text for `evidence NAME --help`. */
  readonly help: string;
  /**
   * Runs the command on the arguments after its name.
   * @throws CliError for failures that end the whole command; per-item failures are reported by
   *   the command itself and reflected in the returned status.
   */
  run(args: readonly string[], io: CliIo): Promise<ExitStatus>;
}

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;

/**
 * Parses `args` strictly against `options`, positionals allowed.
 * @throws CliError `USAGE` naming the offending flag.
 */
export function parseCommandLine<const O extends OptionsConfig>(
  args: readonly string[],
  options: O,
) {
  try {
    return parseArgs({ args: [...args], options, strict: true, allowPositionals: true });
  } catch (error) {
    throw new CliError('USAGE', (error as Error).message);
  }
}

/** A `USAGE` error. */
export function usage(message: string): CliError {
  return new CliError('USAGE', message);
}

/** `path` resolved against the injected working directory. */
export function resolvePath(io: CliIo, path: string): string {
  return isAbsolute(path) ? path : resolve(io.cwd, path);
}

/** JSON for `--json` output: two-space indented, one trailing newline. */
export function jsonText(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
