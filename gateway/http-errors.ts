/**
 * The gateway's one mapping from error codes to HTTP, and the one shape of every error response:
 * `{ statusCode, code, message, fields? }`. Fastify's own errors (content type, body size, JSON
 * syntax, schema validation, unknown route) are translated into our codes here too, so a client
 * only ever sees codes from core/errors.ts.
 *
 * | code                   | status | when                                                      |
 * |------------------------|--------|-----------------------------------------------------------|
 * | INVALID_JSON           | 400    | the body is not JSON, is empty, or holds a key that would   |
 * |                        |        | poison a prototype (`fields` names those keys)              |
 * | VALIDATION_FAILED      | 400    | a body, parameter or item breaks its schema or a rule       |
 * | DUPLICATE_IN_BATCH     | 400    | a digest repeats inside one ledger batch                    |
 * | BATCH_ROOT_MISMATCH    | 400    | a batch's root does not match its records                   |
 * | RECEIPT_MALFORMED      | 400    | a receipt given to the node is malformed                    |
 * | TRUST_MALFORMED        | 400    | a trust file given to the node is malformed                 |
 * | BODY_TOO_LARGE         | 413    | the body is over `bodyLimit`                                |
 * | BATCH_TOO_LARGE        | 413    | a batch request has more than `batchMaxItems` items (a size |
 * |                        |        | limit like BODY_TOO_LARGE: split the request and retry)     |
 * | UNSUPPORTED_MEDIA_TYPE | 415    | the body is not `application/json`                          |
 * | UNAUTHENTICATED        | 401    | no API key, or an unknown or revoked one                    |
 * | FORBIDDEN              | 403    | the key's role may not do this                              |
 * | DEPOSITOR_MISMATCH     | 403    | a record names another depositor than the caller            |
 * | EVIDENCE_NOT_FOUND     | 404    | no evidence under that digest                               |
 * | RECEIPT_NOT_FOUND      | 404    | the evidence exists but its receipt cannot be assembled     |
 * | NOT_FOUND              | 404    | no such route or resource                                   |
 * | METHOD_NOT_ALLOWED     | 405    | the path exists, not for this method; `Allow` lists those   |
 * |                        |        | that are                                                    |
 * | CONFLICT               | 409    | the request conflicts with the current state                |
 * | BACKUP_RUNNING         | 409    | a backup is being taken; ask again once it is done          |
 * | BACKUP_NOT_CONFIGURED  | 409    | the node has no backup directory (`EVIDENCE_BACKUP_DIR`)    |
 * | OVERLOADED             | 503    | too many deposits waiting; `Retry-After` says when to retry |
 * | LEDGER_UNAVAILABLE     | 503    | the ledger cannot be reached; `Retry-After` set             |
 * | LEDGER_CLOSED          | 503    | the node is shutting down; `Retry-After` set                |
 * | RENDERER_UNAVAILABLE   | 503    | the PDF thread died or could not start; `Retry-After` set:  |
 * |                        |        | the retry renders on a new one                              |
 * | LEDGER_TIMEOUT         | 504    | the ledger did not answer in time; the outcome is unknown,  |
 * |                        |        | retry (deposits are idempotent)                             |
 * | STORAGE_FULL           | 507    | the ledger's disk is full                                   |
 * | LEDGER_CORRUPTED       | 500    | the ledger's data failed an integrity check                 |
 * | CONFIG_INVALID         | 500    | the node's configuration is wrong (not the caller's fault)  |
 * | INTERNAL               | 500    | anything else; details are logged, never sent               |
 * | STALE_TIMESTAMP        | 401    | a signed request's timestamp is outside the window (or      |
 * |                        |        | older than the node's start): sign it again                 |
 * | REPLAYED_NONCE         | 401    | a signed request's nonce was already used with its key      |
 * | BAD_SIGNATURE          | 401    | signature headers malformed, or the signature does not      |
 * |                        |        | verify over method, target, body digest, time, nonce, key   |
 * | SIGNATURE_REQUIRED     | 401    | the principal must sign its requests; an API key or client  |
 * |                        |        | certificate alone is refused                                |
 * | RATE_LIMITED           | 429    | over the principal's rate limit; `Retry-After` says when    |
 * | READ_ONLY_REPLICA      | 409    | this node keeps a copy of another node's chain: write there |
 * | BLOCK_INVALID          | 502    | a block the replica's source served fails its checks        |
 * | CHAIN_FORKED           | 502    | the replica's source signed a block contradicting one held  |
 * | FORK_NOT_PROVEN        | 422    | the fork proof given does not prove a fork of this chain    |
 * | FORK_KEY_UNKNOWN       | 409    | a replica cannot check the proof yet: signed by a key it    |
 * |                        |        | has not reached; send it again later                        |
 *
 * Agreement codes (core/agreement.ts, docs/agreements.md): AGREEMENT_NOT_FOUND and
 * INSTALMENT_NOT_FOUND 404; NOT_A_PARTY 403; DOCUMENT_MISMATCH 400; AGREEMENT_EXISTS,
 * INVALID_TRANSITION, ALREADY_SIGNED, ALREADY_REQUESTED, OVERPAYMENT and
 * PAYMENT_REFERENCE_CONFLICT 409 (the request conflicts with the agreement's current state).
 *
 * Anchor codes (core/errors.ts ANCHOR_ERROR_CODES, docs/anchors.md): ANCHOR_CONFLICT and
 * ANCHOR_REGRESSION 409 (`POST /v1/anchors` refused a contradiction; the fork stays on record);
 * ANCHOR_PENDING 404 (no anchor covers the receipt's block yet: retry after the next anchoring,
 * as an OpenTimestamps calendar answers 404 while pending). The anchor check codes
 * (ANCHOR_CHAIN_BROKEN, ANCHOR_HASH_MISMATCH, ANCHOR_NOT_DESCENDANT, ANCHOR_PROOF_INVALID,
 * ANCHOR_UNTRUSTED, ANCHOR_REQUIRED) reach HTTP only when a proof the node assembled from its own
 * stored anchor fails verification: the node's failure, 500 (logged at error level).
 */

import type { FastifyError } from 'fastify';
import {
  isEvidenceError,
  type ErrorCode,
  type EvidenceError,
  type FieldError,
} from '../core/errors';
import { findPersonalData } from '../core/personal-data';
import { toFieldErrors } from '../core/schema';

/** HTTP status of every code (exhaustive: adding a code to core fails the build until mapped). */
export const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = {
  INVALID_JSON: 400,
  VALIDATION_FAILED: 400,
  DUPLICATE_IN_BATCH: 400,
  BATCH_ROOT_MISMATCH: 400,
  RECEIPT_MALFORMED: 400,
  TRUST_MALFORMED: 400,
  BODY_TOO_LARGE: 413,
  BATCH_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  DEPOSITOR_MISMATCH: 403,
  EVIDENCE_NOT_FOUND: 404,
  RECEIPT_NOT_FOUND: 404,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  BACKUP_RUNNING: 409,
  BACKUP_NOT_CONFIGURED: 409,
  OVERLOADED: 503,
  LEDGER_UNAVAILABLE: 503,
  LEDGER_CLOSED: 503,
  RENDERER_UNAVAILABLE: 503,
  LEDGER_TIMEOUT: 504,
  STORAGE_FULL: 507,
  LEDGER_CORRUPTED: 500,
  CONFIG_INVALID: 500,
  INTERNAL: 500,
  AGREEMENT_NOT_FOUND: 404,
  INSTALMENT_NOT_FOUND: 404,
  NOT_A_PARTY: 403,
  DOCUMENT_MISMATCH: 400,
  AGREEMENT_EXISTS: 409,
  INVALID_TRANSITION: 409,
  ALREADY_SIGNED: 409,
  ALREADY_REQUESTED: 409,
  OVERPAYMENT: 409,
  PAYMENT_REFERENCE_CONFLICT: 409,
  ANCHOR_CONFLICT: 409,
  ANCHOR_REGRESSION: 409,
  ANCHOR_PENDING: 404,
  ANCHOR_CHAIN_BROKEN: 500,
  ANCHOR_HASH_MISMATCH: 500,
  ANCHOR_NOT_DESCENDANT: 500,
  ANCHOR_PROOF_INVALID: 500,
  ANCHOR_UNTRUSTED: 500,
  ANCHOR_REQUIRED: 500,
  STALE_TIMESTAMP: 401,
  REPLAYED_NONCE: 401,
  BAD_SIGNATURE: 401,
  SIGNATURE_REQUIRED: 401,
  RATE_LIMITED: 429,
  READ_ONLY_REPLICA: 409,
  BLOCK_INVALID: 502,
  CHAIN_FORKED: 502,
  FORK_NOT_PROVEN: 422,
  FORK_KEY_UNKNOWN: 409,
};

/** Seconds a client should wait before retrying, for codes that mean "try again later". */
export const RETRY_AFTER_SECONDS: Readonly<Partial<Record<ErrorCode, number>>> = {
  OVERLOADED: 1,
  LEDGER_UNAVAILABLE: 5,
  LEDGER_CLOSED: 5,
  RENDERER_UNAVAILABLE: 1,
};

/** The body of every error response. */
export interface HttpErrorBody {
  readonly statusCode: number;
  readonly code: ErrorCode;
  readonly message: string;
  readonly fields?: readonly FieldError[];
}

export interface HttpError {
  readonly body: HttpErrorBody;
  readonly headers: Readonly<Record<string, string>>;
  /** True when the failure is ours, not the caller's: worth logging at error level. */
  readonly internal: boolean;
}

/** JSON Schema of {@link HttpErrorBody}: the response schema of every 4xx and 5xx. */
export const httpErrorSchema = {
  $id: 'http-error',
  type: 'object',
  additionalProperties: false,
  required: ['statusCode', 'code', 'message'],
  properties: {
    statusCode: { type: 'integer' },
    code: { type: 'string' },
    message: { type: 'string' },
    fields: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['path', 'rule', 'message'],
        properties: {
          path: { type: 'string', description: 'JSON pointer (RFC 6901) to the bad value' },
          rule: { type: 'string' },
          message: { type: 'string' },
        },
      },
    },
  },
} as const;

/** Fastify's own error codes that carry a meaning we have a code for, with our own wording. */
const FASTIFY_CODES: Readonly<
  Record<string, { readonly code: ErrorCode; readonly message: string }>
> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    code: 'UNSUPPORTED_MEDIA_TYPE',
    message: 'the body must be application/json',
  },
  FST_ERR_CTP_BODY_TOO_LARGE: {
    code: 'BODY_TOO_LARGE',
    message: 'the body is larger than this node accepts',
  },
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'INVALID_JSON', message: 'the body is not valid JSON' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'INVALID_JSON', message: 'the body is empty' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    code: 'VALIDATION_FAILED',
    message: 'the body length does not match Content-Length',
  },
};

/**
 * Our wording for client errors Fastify or Node raise without a code we know: their own messages
 * may quote the request (a URL, a header), and responses never echo what a client sent.
 */
const CLIENT_MESSAGES: Readonly<Partial<Record<ErrorCode, string>>> = {
  NOT_FOUND: 'not found',
  BODY_TOO_LARGE: 'the body is larger than this node accepts',
  UNSUPPORTED_MEDIA_TYPE: 'the body must be application/json',
  VALIDATION_FAILED: 'the request is malformed',
};

/** Pointer tokens shown as sent: property and header names, and array indices. */
const PLAIN_TOKEN = /^(?:[A-Za-z_$][A-Za-z0-9_$-]{0,63}|0|[1-9][0-9]{0,8})$/;

/**
 * A field pointer safe to send back: tokens that are not plain property names or indices (an
 * unknown property a client made up, which may hold anything) are replaced with `*`.
 */
export function safePointer(pointer: string): string {
  if (pointer === '') return pointer;
  return pointer
    .split('/')
    .map((token, index) =>
      index === 0 || (PLAIN_TOKEN.test(token) && findPersonalData(token) === undefined)
        ? token
        : '*',
    )
    .join('/');
}

/** By status, for any other client error Fastify or Node raises. */
function codeForClientStatus(status: number): ErrorCode {
  switch (status) {
    case 404:
      return 'NOT_FOUND';
    case 413:
      return 'BODY_TOO_LARGE';
    case 415:
      return 'UNSUPPORTED_MEDIA_TYPE';
    default:
      return 'VALIDATION_FAILED';
  }
}

function fromCode(code: ErrorCode, message: string, fields?: readonly FieldError[]): HttpError {
  const statusCode = HTTP_STATUS[code];
  const retry = RETRY_AFTER_SECONDS[code];
  const safe = fields?.map((field) => ({ ...field, path: safePointer(field.path) }));
  return {
    body: { statusCode, code, message, ...(safe && safe.length > 0 ? { fields: safe } : {}) },
    headers: retry === undefined ? {} : { 'retry-after': String(retry) },
    internal: statusCode >= 500 && code !== 'OVERLOADED',
  };
}

/**
 * The answer to `method` on a path that exists only for `allowed`: 405 `METHOD_NOT_ALLOWED` with
 * an `Allow` header (RFC 9110 §15.5.6).
 */
export function methodNotAllowed(method: string, allowed: readonly string[]): HttpError {
  const list = allowed.join(', ');
  const mapped = fromCode(
    'METHOD_NOT_ALLOWED',
    `${method} is not allowed here; ${list} ${allowed.length > 1 ? 'are' : 'is'}`,
  );
  return { ...mapped, headers: { ...mapped.headers, allow: list } };
}

/**
 * Translates anything thrown while serving a request into the response to send. Never throws.
 * Unknown errors become `INTERNAL` with a fixed message: their text may hold internals.
 */
export function toHttpError(error: unknown): HttpError {
  if (isEvidenceError(error)) {
    const known = error as EvidenceError;
    return fromCode(known.code, known.message, known.fields);
  }
  const fastify = error as Partial<FastifyError> | null;
  if (fastify && typeof fastify === 'object') {
    if (Array.isArray(fastify.validation)) {
      return fromCode('VALIDATION_FAILED', 'request is invalid', toFieldErrors(fastify.validation));
    }
    const mapped = typeof fastify.code === 'string' ? FASTIFY_CODES[fastify.code] : undefined;
    if (mapped)
      return fromCode(mapped.code, mapped.message, pointerOf(mapped.code, mapped.message));
    const status = fastify.statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      const code = codeForClientStatus(status);
      const message = CLIENT_MESSAGES[code] ?? code;
      return fromCode(code, message, pointerOf(code, message));
    }
    // A write that hit a full disk outside the ledger (keys file, audit log).
    if ((fastify as NodeJS.ErrnoException).code === 'ENOSPC') {
      return fromCode('STORAGE_FULL', 'the node is out of disk space');
    }
  }
  return fromCode('INTERNAL', 'internal error');
}

/**
 * Whole-request problems name the whole body (`''`), so every 400, 413 and 415 carries at least one
 * field.
 */
function pointerOf(code: ErrorCode, message: string): FieldError[] | undefined {
  switch (code) {
    case 'INVALID_JSON':
      return [{ path: '', rule: 'json', message: 'body is not valid JSON' }];
    case 'BODY_TOO_LARGE':
      return [{ path: '', rule: 'maxLength', message: 'body is too large' }];
    case 'UNSUPPORTED_MEDIA_TYPE':
      return [{ path: '', rule: 'contentType', message: 'body must be application/json' }];
    case 'VALIDATION_FAILED':
      return [{ path: '', rule: 'request', message }];
    default:
      return undefined;
  }
}
