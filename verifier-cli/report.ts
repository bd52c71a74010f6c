/**
 * How failures reach the user: `error CODE: message` on standard error with one line per bad field,
 * or, under `--json`, one `{ "error": { code, message, fields? } }` object on standard output so a
 * script reading the JSON stream always gets JSON.
 */

import type { FieldError } from '../core/errors';
import type { CliError } from './cli-error';
import type { CliIo } from './cli-io';
import { jsonText } from './command';

/** `  /path (rule): message` lines, one per field. */
export function fieldLines(fields: readonly FieldError[] | undefined): string {
  return (fields ?? []).map((f) => `  ${f.path || '/'} (${f.rule}): ${f.message}\n`).join('');
}

/** The human form of an error. */
export function errorText(error: {
  code: string;
  message: string;
  fields?: readonly FieldError[];
}): string {
  return `error ${error.code}: ${error.message}\n${fieldLines(error.fields)}`;
}

/** Prints `error` in the form the user asked for. */
export function printError(io: CliIo, error: CliError, json: boolean): void {
  if (json) io.stdout(jsonText({ error: error.toJSON() }));
  else io.stderr(errorText(error));
}
