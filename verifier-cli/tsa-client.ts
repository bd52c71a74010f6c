/**
 * The CLI's client of an RFC 3161 time-stamp authority over HTTP (RFC 3161 §3.4): one POST of a
 * DER `TimeStampReq` (`application/timestamp-query`), answered with a DER `TimeStampResp`
 * (`application/timestamp-reply`). The answer is checked to be granted, for the imprint asked and
 * with the nonce sent; whether its signature holds is for the verifier, against a pinned key.
 */

import { randomBytes } from 'node:crypto';
import {
  checkTimestampReply,
  timestampRequest,
  TimestampReplyError,
  type TimestampToken,
} from '../core/timestamp';
import { CliError } from './cli-error';
import type { CliIo } from './cli-io';
import { networkError, parseHttpUrl } from './node-client';

export const TSA_TIMEOUT_MS = 30_000;
/** Largest answer read: a token with a certificate chain is a few KB. */
export const TSA_MAX_ANSWER_BYTES = 256 * 1024;

/**
 * Parses a `--tsa` value: an absolute http or https URL without credentials.
 * @throws CliError `USAGE`.
 */
export function parseTsaUrl(text: string): URL {
  return parseHttpUrl(text, '--tsa');
}

/**
 * The answer's bytes, reading no more than `limit` of them whatever the authority sends.
 * @throws CliError `TSA_ERROR` when there are more.
 */
async function readAtMost(response: Response, limit: number, url: URL): Promise<Buffer> {
  const tooLarge = () =>
    new CliError('TSA_ERROR', `${url.origin} answered with more than ${limit} bytes`);
  if (Number(response.headers.get('content-length') ?? 0) > limit) {
    await response.body?.cancel().catch(() => undefined);
    throw tooLarge();
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body ?? []) {
    size += chunk.byteLength;
    if (size > limit) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** A token as the authority answered it: its DER and what it says. */
export interface StampedToken {
  readonly der: Buffer;
  readonly token: TimestampToken;
}

/**
 * Asks the authority at `url` to stamp the SHA-256 `imprint` (32 bytes).
 * @throws CliError `NETWORK_ERROR` (unreachable, or no answer within {@link TSA_TIMEOUT_MS}),
 *   `TSA_ERROR` (an HTTP error, an answer too large or not a TimeStampResp, a token for another
 *   imprint or nonce), `TIMESTAMP_REFUSED` (the authority's status is not granted).
 */
export async function requestTimestamp(
  io: CliIo,
  url: URL,
  imprint: Uint8Array,
): Promise<StampedToken> {
  const request = timestampRequest(imprint, randomBytes(8));
  let response: Response;
  let body: Buffer;
  try {
    response = await io.fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/timestamp-query' },
      body: request.der,
      signal: AbortSignal.timeout(TSA_TIMEOUT_MS),
    });
    body = await readAtMost(response, TSA_MAX_ANSWER_BYTES, url);
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw networkError(url, TSA_TIMEOUT_MS, error, 'the time-stamp authority');
  }
  if (response.status !== 200) {
    throw new CliError('TSA_ERROR', `${url.origin} answered HTTP ${response.status}`);
  }
  const type = response.headers.get('content-type') ?? '';
  if (!type.toLowerCase().startsWith('application/timestamp-reply')) {
    throw new CliError(
      'TSA_ERROR',
      `${url.origin} answered ${type || 'no content type'}, not application/timestamp-reply`,
    );
  }
  try {
    return checkTimestampReply(body, imprint, request);
  } catch (error) {
    if (!(error instanceof TimestampReplyError)) throw error;
    throw new CliError(
      error.problem === 'REFUSED' ? 'TIMESTAMP_REFUSED' : 'TSA_ERROR',
      `${url.origin} ${error.problem === 'REFUSED' ? 'did not stamp' : 'answered'}: ${error.message}`,
    );
  }
}
