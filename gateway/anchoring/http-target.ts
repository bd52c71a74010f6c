/**
 * The HTTP anchor target: another node's gateway. `POST {url}/v1/anchors` with an API key of role
 * `anchor` records the anchor; `GET {url}/v1/trust` gives the trust file to pin for that chain.
 *
 * Every call has a deadline and a bounded answer; every failure leaves as an EvidenceError with a
 * stable code (unreachable -> `LEDGER_UNAVAILABLE`, too slow -> `LEDGER_TIMEOUT`, the target's
 * own code when it answered with one). Answers are validated against core's schemas; the caller
 * checks the proof itself against the pinned trust.
 */

import {
  anchorRecordSchema,
  type AnchorInput,
  ANCHOR_REJECTION_CODES,
  type AnchorRejectionCode,
} from '../../core/anchor';
import { canonicalJson } from '../../core/canonical';
import {
  AnchorError,
  ERROR_CODES,
  EvidenceError,
  LedgerError,
  ValidationError,
  type ErrorCode,
} from '../../core/errors';
import { anchorProofSchema } from '../../core/receipt';
import { schemaErrors } from '../../core/schema';
import { parseTrustFile, type TrustFile } from '../../core/trust';
import type { HttpTargetConfig } from '../config';
import type {
  AnchorTarget,
  SubmittedAnchor,
  SubmittedChainAnchor,
  TargetCallOptions,
  TargetOptions,
} from './target';

/** Largest answer read from a target: a proof and a trust file are a few KB. */
export const MAX_TARGET_ANSWER_BYTES = 1_048_576;

/** JSON Schema of the answer of `POST /v1/anchors` (201 recorded, 200 existing). */
export const submittedAnchorSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['anchor', 'proof'],
  properties: { anchor: anchorRecordSchema, proof: anchorProofSchema.properties.anchorTx },
} as const;

interface Answer {
  readonly status: number;
  readonly body: unknown;
}

class HttpTarget implements AnchorTarget {
  readonly kind = 'http';
  readonly name: string;
  readonly #base: string;
  readonly #apiKey: string;
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;

  constructor(config: HttpTargetConfig, options: TargetOptions) {
    this.name = config.name;
    this.#base = config.url;
    this.#apiKey = config.apiKey;
    this.#timeoutMs = options.timeoutMs;
    this.#fetch = options.fetch ?? ((...args) => globalThis.fetch(...args));
  }

  async trust(options: TargetCallOptions = {}): Promise<TrustFile> {
    const answer = await this.#call('GET', '/v1/trust', undefined, options);
    if (answer.status !== 200) throw this.#refusal(answer);
    try {
      return parseTrustFile(answer.body);
    } catch (error) {
      const fields = error instanceof ValidationError ? error.fields : undefined;
      throw new ValidationError(
        'TRUST_MALFORMED',
        `target ${this.name} answered with a trust file that is not valid`,
        fields,
      );
    }
  }

  async submit(input: AnchorInput, options: TargetCallOptions = {}): Promise<SubmittedAnchor> {
    const answer = await this.#call('POST', '/v1/anchors', canonicalJson(input), options);
    if (answer.status !== 200 && answer.status !== 201) throw this.#refusal(answer);
    const problems = schemaErrors(submittedAnchorSchema, answer.body);
    if (problems.length > 0) {
      const where = problems
        .slice(0, 5)
        .map((p) => `${p.path || '/'} (${p.rule})`)
        .join(', ');
      throw new AnchorError(
        'ANCHOR_PROOF_INVALID',
        `target ${this.name} answered the anchor with a body not as documented: ${where}`,
      );
    }
    return { kind: 'chain', ...(answer.body as Omit<SubmittedChainAnchor, 'kind'>) };
  }

  async #call(
    method: 'GET' | 'POST',
    path: string,
    body: string | undefined,
    options: TargetCallOptions,
  ): Promise<Answer> {
    const deadline = AbortSignal.timeout(this.#timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
    let status: number;
    let text: string;
    try {
      const response = await this.#fetch(`${this.#base}${path}`, {
        method,
        headers: {
          accept: 'application/json',
          authorization: `Bearer ${this.#apiKey}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body }),
        signal,
        redirect: 'error',
      });
      status = response.status;
      text = await readLimited(response, MAX_TARGET_ANSWER_BYTES);
    } catch (error) {
      throw targetCallError(this.name, this.#timeoutMs, error, options.signal);
    }
    let parsed: unknown;
    try {
      parsed = text.length > 0 ? (JSON.parse(text) as unknown) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status, body: parsed };
  }

  /** The error for a non-2xx answer: the target's code when it sent one of ours. */
  #refusal(answer: Answer): EvidenceError {
    const body =
      typeof answer.body === 'object' && answer.body !== null
        ? (answer.body as Record<string, unknown>)
        : {};
    const said = typeof body.message === 'string' ? `: ${body.message.slice(0, 300)}` : '';
    const message = `target ${this.name} answered ${answer.status}${said}`;
    const code = body.code;
    if ((ANCHOR_REJECTION_CODES as readonly unknown[]).includes(code) && answer.status === 409) {
      return new AnchorError(code as AnchorRejectionCode, message);
    }
    if (answer.status < 500 && (ERROR_CODES as readonly unknown[]).includes(code)) {
      return new EvidenceError(code as ErrorCode, message);
    }
    return new LedgerError('LEDGER_UNAVAILABLE', message);
  }
}

/**
 * A failed call to target `name` as the job's codes have it: aborted by the job's shutdown
 * `LEDGER_CLOSED`, past its deadline `LEDGER_TIMEOUT`, unreachable `LEDGER_UNAVAILABLE`; an
 * EvidenceError passes as it is.
 */
export function targetCallError(
  name: string,
  timeoutMs: number,
  error: unknown,
  aborted: AbortSignal | undefined,
): EvidenceError {
  if (error instanceof EvidenceError) return error;
  if (aborted?.aborted) return new LedgerError('LEDGER_CLOSED', 'anchoring is shutting down');
  const kind = (error as { name?: unknown }).name;
  if (kind === 'TimeoutError' || kind === 'AbortError') {
    return new LedgerError(
      'LEDGER_TIMEOUT',
      `target ${name} did not answer within ${timeoutMs} ms`,
    );
  }
  // undici reports the socket error (ECONNREFUSED, ...) as the cause of "fetch failed".
  const cause = (error as { cause?: { code?: unknown } }).cause;
  const reason = typeof cause?.code === 'string' ? cause.code : (error as Error).message;
  return new LedgerError('LEDGER_UNAVAILABLE', `cannot reach target ${name}: ${reason}`);
}

/** The body's text, refusing more than `limit` bytes. */
async function readLimited(response: Response, limit: number): Promise<string> {
  return (await readLimitedBytes(response, limit)).toString('utf8');
}

/** The body's bytes, refusing more than `limit` (`tooLarge`, by default `ANCHOR_PROOF_INVALID`). */
export async function readLimitedBytes(
  response: Response,
  limit: number,
  tooLarge: (message: string) => EvidenceError = (message) =>
    new AnchorError('ANCHOR_PROOF_INVALID', message),
): Promise<Buffer> {
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > limit) {
    await response.body?.cancel().catch(() => undefined);
    throw tooLarge(`the answer is over ${limit} bytes`);
  }
  if (!response.body) return Buffer.alloc(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(`the answer is over ${limit} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

/** The HTTP target of `config`. */
export function createHttpTarget(config: HttpTargetConfig, options: TargetOptions): AnchorTarget {
  return new HttpTarget(config, options);
}
