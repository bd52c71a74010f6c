/**
 * Loading pinned trust files: read, parse, validate, fingerprint. A trust file that does not parse
 * or does not fit its schema is an input error (exit 2), never silently skipped.
 */

import type { Digest } from '../core/digest';
import { isEvidenceError } from '../core/errors';
import { parseTrustFile, trustFingerprint, type TrustFile, windowOf } from '../core/trust';
import { CliError, toCliError } from './cli-error';
import type { CliIo } from './cli-io';
import { resolvePath } from './command';
import { readJsonFile } from './files';

export interface LoadedTrust {
  /** As the user wrote it. */
  readonly path: string;
  readonly trust: TrustFile;
  /** `sha256:` of the canonical form, to compare with the operator's published value. */
  readonly fingerprint: Digest;
}

/**
 * Validates a parsed trust file, naming `shown` in the error.
 * @throws CliError `TRUST_MALFORMED` listing every bad field.
 */
export function validateTrust(value: unknown, shown: string): TrustFile {
  try {
    return parseTrustFile(value);
  } catch (error) {
    if (!isEvidenceError(error)) throw toCliError(error);
    throw new CliError('TRUST_MALFORMED', `${shown}: ${error.message}`, error.fields);
  }
}

/**
 * Reads, parses and validates the trust file `shown`.
 * @throws CliError `IO_ERROR`, `INPUT_TOO_LARGE`, `INVALID_JSON`, `TRUST_MALFORMED`.
 */
export async function loadTrustFile(io: CliIo, shown: string): Promise<LoadedTrust> {
  const { value } = await readJsonFile(resolvePath(io, shown), shown, 'trust file');
  const trust = validateTrust(value, shown);
  return { path: shown, trust, fingerprint: trustFingerprint(trust) };
}

/** Lines describing the chains a trust file pins, for people comparing copies. */
export function describeTrust(trust: TrustFile): string {
  const lines: string[] = [];
  for (const chain of trust.chains) {
    const what = chain.kind === 'rfc3161' ? 'time-stamp authority' : 'chain';
    lines.push(
      `  ${what} ${chain.chainId} (${chain.kind})${chain.operator ? `, operated by ${chain.operator}` : ''}`,
    );
    for (const key of chain.keys) {
      lines.push(`    key ${key.keyId} (${key.algorithm}${windowOf(key)})`);
    }
    if (chain.kind === 'rfc3161' && chain.policies)
      lines.push(`    accepted policies ${chain.policies.join(', ')}`);
  }
  if (lines.length === 0) lines.push('  (no chains: this file trusts nothing)');
  return `${lines.join('\n')}\n`;
}
