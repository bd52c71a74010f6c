/**
 * The CLI's error: a stable code from exit-codes.ts plus, for inputs, every bad field. Everything
 * that goes wrong reaches the user as one of these, never as a stack trace.
 */

import { isEvidenceError, type FieldError } from '../core/errors';
import {
  exitStatusForError,
  isCliErrorCode,
  type CliErrorCode,
  type ExitStatus,
} from './exit-codes';

export class CliError extends Error {
  readonly code: CliErrorCode;
  readonly fields: readonly FieldError[] | undefined;

  constructor(
    code: CliErrorCode,
    message: string,
    fields?: readonly FieldError[],
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'CliError';
    this.code = code;
    this.fields = fields;
  }

  get exitStatus(): ExitStatus {
    return exitStatusForError(this.code);
  }

  /** Wire form for `--json` output. */
  toJSON(): { code: CliErrorCode; message: string; fields?: readonly FieldError[] } {
    return {
      code: this.code,
      message: this.message,
      ...(this.fields && this.fields.length > 0 ? { fields: this.fields } : {}),
    };
  }
}

/** True for errors raised by node:fs and friends (they carry an errno code and a syscall). */
function isSystemError(error: unknown): error is NodeJS.ErrnoException {
  return (
    error instanceof Error &&
    typeof (error as NodeJS.ErrnoException).code === 'string' &&
    typeof (error as NodeJS.ErrnoException).syscall === 'string'
  );
}

const SYSTEM_REASONS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  ENOTDIR: 'a component of the path is not a directory',
  ENOSPC: 'no space left on device',
  EROFS: 'read-only file system',
  EMFILE: 'too many open files',
};

/** An `IO_ERROR` for a failed file operation, e.g. `cannot read a.pdf: no such file or directory`. */
export function ioError(action: string, path: string, error: unknown): CliError {
  const reason = isSystemError(error)
    ? (SYSTEM_REASONS[error.code as string] ?? `${error.code as string}`)
    : error instanceof Error
      ? error.message
      : String(error);
  return new CliError('IO_ERROR', `cannot ${action} ${path}: ${reason}`, undefined, {
    cause: error,
  });
}

/**
 * Any thrown value as a CliError: ours pass through, core's keep their code and fields, system
 * errors become `IO_ERROR`, anything else is `INTERNAL` (a bug, reported without a stack trace).
 */
export function toCliError(error: unknown): CliError {
  if (error instanceof CliError) return error;
  if (isEvidenceError(error) && isCliErrorCode(error.code)) {
    return new CliError(error.code, error.message, error.fields ?? undefined, { cause: error });
  }
  if (isSystemError(error)) {
    return ioError('access', (error as NodeJS.ErrnoException).path ?? 'a file', error);
  }
  const message = error instanceof Error ? error.message : String(error);
  return new CliError('INTERNAL', `unexpected failure: ${message}`, undefined, { cause: error });
}
