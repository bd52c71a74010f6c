/**
 * The CLI's one mapping table: error code or verdict -> exit status (STYLE.md item 12).
 *
 * | status | meaning                                                                  |
 * |--------|--------------------------------------------------------------------------|
 * | 0      | verified / success                                                       |
 * | 1      | not verified, not on chain, or some deposited items were refused         |
 * | 2      | usage or input error: bad flags, unreadable JSON, malformed trust file   |
 * | 3      | I/O or network error: unreadable file, gateway unreachable, gateway 5xx  |
 *
 * Core's codes are listed one by one, so a code added to core fails to compile here until it is
 * given a status.
 */

import type { ErrorCode } from '../core/errors';
import type { ReportVerdictName } from '../documents/labels';

export const EXIT_OK = 0;
export const EXIT_NOT_VERIFIED = 1;
export const EXIT_INPUT = 2;
export const EXIT_IO = 3;
export type ExitStatus =
  typeof EXIT_OK | typeof EXIT_NOT_VERIFIED | typeof EXIT_INPUT | typeof EXIT_IO;

/** Codes only the CLI raises. */
export const CLI_CODES = [
  /** Bad flags or arguments. */
  'USAGE',
  /** A file could not be read or written. */
  'IO_ERROR',
  /** An input file is larger than any receipt or trust file can be. */
  'INPUT_TOO_LARGE',
  /** The output file exists with other content and `--force` was not given. */
  'OUTPUT_EXISTS',
  /** The gateway could not be reached, or did not answer in time. */
  'NETWORK_ERROR',
  /** The gateway answered with an error the CLI has no better code for (e.g. a 5xx). */
  'GATEWAY_ERROR',
  /** The gateway's answer does not have the documented shape, or a receipt is not for the file. */
  'GATEWAY_RESPONSE_INVALID',
  /** A node's new trust file does not follow from the pinned one by its signed key rotations. */
  'TRUST_NOT_VOUCHED',
  /** A time-stamp authority answered with an HTTP error or with something not RFC 3161. */
  'TSA_ERROR',
  /** A time-stamp authority refused to stamp (its RFC 3161 status is not "granted"). */
  'TIMESTAMP_REFUSED',
] as const;
export type CliCode = (typeof CLI_CODES)[number];

/** Any code the CLI can report as an error. */
export type CliErrorCode = ErrorCode | CliCode;

const ERROR_EXIT: Readonly<Record<CliErrorCode, ExitStatus>> = {
  // CLI
  USAGE: EXIT_INPUT,
  IO_ERROR: EXIT_IO,
  INPUT_TOO_LARGE: EXIT_INPUT,
  OUTPUT_EXISTS: EXIT_INPUT,
  NETWORK_ERROR: EXIT_IO,
  GATEWAY_ERROR: EXIT_IO,
  GATEWAY_RESPONSE_INVALID: EXIT_IO,
  TRUST_NOT_VOUCHED: EXIT_NOT_VERIFIED,
  TSA_ERROR: EXIT_IO,
  TIMESTAMP_REFUSED: EXIT_NOT_VERIFIED,
  // core: validation
  INVALID_JSON: EXIT_INPUT,
  VALIDATION_FAILED: EXIT_INPUT,
  BODY_TOO_LARGE: EXIT_INPUT,
  BATCH_TOO_LARGE: EXIT_INPUT,
  UNSUPPORTED_MEDIA_TYPE: EXIT_INPUT,
  BATCH_ROOT_MISMATCH: EXIT_INPUT,
  DUPLICATE_IN_BATCH: EXIT_INPUT,
  RECEIPT_MALFORMED: EXIT_INPUT,
  TRUST_MALFORMED: EXIT_INPUT,
  CONFIG_INVALID: EXIT_INPUT,
  // core: access (a wrong or missing API key is an input of the user's)
  UNAUTHENTICATED: EXIT_INPUT,
  FORBIDDEN: EXIT_INPUT,
  DEPOSITOR_MISMATCH: EXIT_INPUT,
  // core: state (an answer about the evidence itself)
  EVIDENCE_NOT_FOUND: EXIT_NOT_VERIFIED,
  RECEIPT_NOT_FOUND: EXIT_NOT_VERIFIED,
  CONFLICT: EXIT_NOT_VERIFIED,
  // node operations, never asked by the CLI: the node's state
  BACKUP_RUNNING: EXIT_NOT_VERIFIED,
  BACKUP_NOT_CONFIGURED: EXIT_NOT_VERIFIED,
  // no such endpoint: the --gateway URL is wrong
  NOT_FOUND: EXIT_INPUT,
  METHOD_NOT_ALLOWED: EXIT_INPUT,
  // core: the ledger behind the gateway
  LEDGER_UNAVAILABLE: EXIT_IO,
  RENDERER_UNAVAILABLE: EXIT_IO,
  LEDGER_TIMEOUT: EXIT_IO,
  LEDGER_CORRUPTED: EXIT_IO,
  LEDGER_CLOSED: EXIT_IO,
  STORAGE_FULL: EXIT_IO,
  OVERLOADED: EXIT_IO,
  INTERNAL: EXIT_IO,
  // core: agreements (the ledger refused the request as the contract stands)
  AGREEMENT_EXISTS: EXIT_NOT_VERIFIED,
  AGREEMENT_NOT_FOUND: EXIT_NOT_VERIFIED,
  INVALID_TRANSITION: EXIT_NOT_VERIFIED,
  NOT_A_PARTY: EXIT_INPUT,
  ALREADY_SIGNED: EXIT_NOT_VERIFIED,
  ALREADY_REQUESTED: EXIT_NOT_VERIFIED,
  DOCUMENT_MISMATCH: EXIT_INPUT,
  INSTALMENT_NOT_FOUND: EXIT_INPUT,
  OVERPAYMENT: EXIT_INPUT,
  PAYMENT_REFERENCE_CONFLICT: EXIT_NOT_VERIFIED,
  // core: anchors (a refusal, a proof that does not verify, or nothing anchored yet: `upgrade`
  // exits 1 with ANCHOR_PENDING and can be run again later)
  ANCHOR_CONFLICT: EXIT_NOT_VERIFIED,
  ANCHOR_REGRESSION: EXIT_NOT_VERIFIED,
  ANCHOR_CHAIN_BROKEN: EXIT_NOT_VERIFIED,
  ANCHOR_HASH_MISMATCH: EXIT_NOT_VERIFIED,
  ANCHOR_NOT_DESCENDANT: EXIT_NOT_VERIFIED,
  ANCHOR_PROOF_INVALID: EXIT_NOT_VERIFIED,
  ANCHOR_UNTRUSTED: EXIT_NOT_VERIFIED,
  ANCHOR_REQUIRED: EXIT_NOT_VERIFIED,
  ANCHOR_PENDING: EXIT_NOT_VERIFIED,
  // core: request authenticity (the user's credentials or clock) and rate (retry later)
  STALE_TIMESTAMP: EXIT_INPUT,
  REPLAYED_NONCE: EXIT_INPUT,
  BAD_SIGNATURE: EXIT_INPUT,
  SIGNATURE_REQUIRED: EXIT_INPUT,
  RATE_LIMITED: EXIT_IO,
  // core: a replica asked to write (the user's request belongs on the source node), or its
  // source serving bad blocks (the node's trouble, not the user's)
  READ_ONLY_REPLICA: EXIT_INPUT,
  BLOCK_INVALID: EXIT_IO,
  CHAIN_FORKED: EXIT_IO,
  FORK_NOT_PROVEN: EXIT_INPUT,
  // a replica behind the chain's key rotations: the same proof later
  FORK_KEY_UNKNOWN: EXIT_IO,
};

/**
 * Verdicts of `evidence verify`: core's, and `ON_CHAIN_UNVERIFIED`, the online answer without a
 * receipt (the reports print the same set).
 */
export type CliVerdict = ReportVerdictName;

const VERDICT_EXIT: Readonly<Record<CliVerdict, ExitStatus>> = {
  VERIFIED: EXIT_OK,
  MISMATCH: EXIT_NOT_VERIFIED,
  PROOF_INVALID: EXIT_NOT_VERIFIED,
  UNTRUSTED: EXIT_NOT_VERIFIED,
  NOT_ON_CHAIN: EXIT_NOT_VERIFIED,
  // Seen by a node we do not trust, with nothing checked: not a verification.
  ON_CHAIN_UNVERIFIED: EXIT_NOT_VERIFIED,
};

/** True when `code` is one the table knows (e.g. read from a gateway's error body). */
export function isCliErrorCode(code: unknown): code is CliErrorCode {
  return typeof code === 'string' && Object.prototype.hasOwnProperty.call(ERROR_EXIT, code);
}

/** Exit status for an error code. */
export function exitStatusForError(code: CliErrorCode): ExitStatus {
  return ERROR_EXIT[code];
}

/** Exit status for a verdict. */
export function exitStatusForVerdict(verdict: CliVerdict): ExitStatus {
  return VERDICT_EXIT[verdict];
}

/** The most severe of several statuses (I/O > input > not verified > ok). */
export function worstExitStatus(statuses: Iterable<ExitStatus>): ExitStatus {
  let worst: ExitStatus = EXIT_OK;
  for (const status of statuses) if (status > worst) worst = status;
  return worst;
}
