/**
 * The time-stamp target: a trusted time-stamp authority (RFC 3161 over HTTP, §3.4) that stamps
 * this chain's tip hash. `submit` posts a `TimeStampReq` of the tip's header hash and reads the
 * token; `trust` is the authority as pinned from its certificate at start (kind `rfc3161`, named
 * as the target), so the job checks every token against that key before keeping it, as it checks
 * a chain's proof against the chain's pinned key.
 *
 * Failures leave with the job's codes: unreachable `LEDGER_UNAVAILABLE`, too slow
 * `LEDGER_TIMEOUT`, an HTTP error `LEDGER_UNAVAILABLE`, a refusal or an answer that is not the
 * token asked for `ANCHOR_PROOF_INVALID`.
 */

import { randomBytes } from 'node:crypto';
import type { AnchorInput } from '../../core/anchor';
import { AnchorError, LedgerError } from '../../core/errors';
import { checkTimestampReply, timestampRequest, TimestampReplyError } from '../../core/timestamp';
import { TRUST_FILE_TYPE, type TrustFile } from '../../core/trust';
import type { TimestampTargetConfig } from '../config';
import { readLimitedBytes, targetCallError } from './http-target';
import type { AnchorTarget, SubmittedTimestamp, TargetCallOptions, TargetOptions } from './target';

/** Largest answer read: a token with its certificates is a few KB. */
export const MAX_TIMESTAMP_ANSWER_BYTES = 256 * 1024;

class TimestampTarget implements AnchorTarget {
  readonly kind = 'rfc3161';
  readonly name: string;
  readonly #config: TimestampTargetConfig;
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;

  constructor(config: TimestampTargetConfig, options: TargetOptions) {
    this.name = config.name;
    this.#config = config;
    this.#timeoutMs = options.timeoutMs;
    this.#fetch = options.fetch ?? ((...args) => globalThis.fetch(...args));
  }

  trust(): Promise<TrustFile> {
    const { name, operator, key } = this.#config;
    return Promise.resolve({
      type: TRUST_FILE_TYPE,
      version: 1,
      chains: [{ kind: 'rfc3161', chainId: name, ...(operator ? { operator } : {}), keys: [key] }],
    });
  }

  async submit(input: AnchorInput, options: TargetCallOptions = {}): Promise<SubmittedTimestamp> {
    const imprint = Buffer.from(input.headerHash.slice('sha256:'.length), 'hex');
    const request = timestampRequest(imprint, randomBytes(8));
    const deadline = AbortSignal.timeout(this.#timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
    let status: number;
    let type: string;
    let body: Buffer;
    try {
      const response = await this.#fetch(this.#config.url, {
        method: 'POST',
        headers: { 'content-type': 'application/timestamp-query' },
        body: request.der,
        signal,
        redirect: 'error',
      });
      status = response.status;
      type = response.headers.get('content-type') ?? '';
      body = await readLimitedBytes(response, MAX_TIMESTAMP_ANSWER_BYTES);
    } catch (error) {
      throw targetCallError(this.name, this.#timeoutMs, error, options.signal);
    }
    if (status !== 200) {
      throw new LedgerError('LEDGER_UNAVAILABLE', `target ${this.name} answered ${status}`);
    }
    if (!type.toLowerCase().startsWith('application/timestamp-reply')) {
      throw new AnchorError(
        'ANCHOR_PROOF_INVALID',
        `target ${this.name} answered ${type || 'no content type'}, not application/timestamp-reply`,
      );
    }
    try {
      const { der, token } = checkTimestampReply(body, imprint, request);
      return {
        kind: 'timestamp',
        anchor: {
          sourceChainId: input.sourceChainId,
          blockNumber: input.blockNumber,
          headerHash: input.headerHash,
          time: token.genTime,
        },
        token: der.toString('base64'),
      };
    } catch (error) {
      if (!(error instanceof TimestampReplyError)) throw error;
      throw new AnchorError(
        'ANCHOR_PROOF_INVALID',
        `target ${this.name} ${error.problem === 'REFUSED' ? 'did not stamp' : 'answered'}: ${error.message}`,
      );
    }
  }
}

/** The time-stamp target of `config`. */
export function createTimestampTarget(
  config: TimestampTargetConfig,
  options: TargetOptions,
): AnchorTarget {
  return new TimestampTarget(config, options);
}
