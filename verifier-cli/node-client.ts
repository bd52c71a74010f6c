/**
 * The few gateway endpoints the CLI calls: batch deposit, public lookup, trust export, receipt
 * upgrade. Every call goes through the injected `fetch`, has a deadline, and turns every failure
 * into a CliError:
 * unreachable or silent gateway -> `NETWORK_ERROR`, 5xx -> the gateway's ledger code or
 * `GATEWAY_ERROR`, 4xx -> the gateway's code, a 2xx of the wrong shape -> `GATEWAY_RESPONSE_INVALID`.
 * The gateway is not trusted: its answers are checked before use, and receipts are verified
 * against the pinned trust file, never against anything the gateway says.
 */

import type { Digest } from '../core/digest';
import type { FieldError } from '../core/errors';
import type { EvidenceItem } from '../core/evidence';
import type { DepositOutcome } from '../core/evidence-state';
import { CliError } from './cli-error';
import type { CliIo } from './cli-io';
import { EXIT_IO, exitStatusForError, isCliErrorCode, type CliErrorCode } from './exit-codes';

/** A deposit is answered only once committed; allow for a slow ledger. */
export const DEPOSIT_TIMEOUT_MS = 120_000;
export const LOOKUP_TIMEOUT_MS = 30_000;

/**
 * The public lookup. `GET /v1/evidence/{digest}` exists too but needs an API key and returns the
 * whole record; a judge checking a file has no key and needs only the facts.
 */
export const LOOKUP_PATH = 'v1/public/evidence/';

/** An item the gateway accepted, with its receipt (still unchecked). */
export interface DepositAccepted {
  readonly index: number;
  readonly status: DepositOutcome;
  readonly receipt: unknown;
}

/** An item the gateway refused. */
export interface DepositRefused {
  readonly index: number;
  readonly error: {
    readonly code: string;
    readonly message: string;
    readonly fields?: readonly FieldError[];
  };
}

/** The answer for one item: accepted, refused by the gateway, or an answer we could not read. */
export type DepositResult = DepositAccepted | DepositRefused | CliError;

export interface GatewayClient {
  /** The base URL, for reports. */
  readonly url: string;
  /**
   * POST /v1/evidence/batch. Returns one result per item, in item order; an item whose answer
   * cannot be read gets a CliError `GATEWAY_RESPONSE_INVALID`.
   * @throws CliError when the whole request fails.
   */
  depositBatch(items: readonly EvidenceItem[], apiKey: string): Promise<DepositResult[]>;
  /**
   * GET /v1/public/evidence/{digest} (no API key). The gateway's public facts about the digest
   * (time, transaction, chain), or `undefined` when it
   * answers `EVIDENCE_NOT_FOUND`.
   * @throws CliError for any other failure.
   */
  lookup(digest: Digest): Promise<Record<string, unknown> | undefined>;
  /**
   * GET /v1/trust. The response text, unparsed: the caller validates it as a trust file.
   * @throws CliError when the request fails.
   */
  trust(): Promise<string>;
  /**
   * GET /v1/trust/rotations. The parsed body, unvalidated: the caller checks its shape.
   * @throws CliError when the request fails or the answer is not JSON.
   */
  trustRotations(): Promise<unknown>;
  /**
   * GET /v1/forks (no API key): the fork proof the gateway holds for its chain, parsed but
   * unvalidated (the caller checks it against the pinned trust file); `null` when it holds none;
   * `undefined` when the gateway has no such route (an older node, or a ledger without whole
   * blocks).
   * @throws CliError for any other failure, or an answer of the wrong shape.
   */
  forks(): Promise<unknown>;
  /**
   * POST /v1/receipts/upgrade (any API key): the receipt with the gateway's anchor proofs added,
   * parsed but unchecked (the caller compares it with the receipt it sent).
   * @throws CliError `ANCHOR_PENDING` when no anchor covers the receipt's block yet; the
   *   gateway's code for other refusals; `GATEWAY_RESPONSE_INVALID` for an answer that is not JSON.
   */
  upgrade(receipt: unknown, apiKey: string): Promise<unknown>;
  /**
   * GET /v1/admin/dossier (admin key). The parsed JSON body, unvalidated: the caller checks it
   * against the dossier schema.
   * @throws CliError when the request fails or the answer is not JSON.
   */
  dossier(apiKey: string): Promise<unknown>;
  /**
   * GET /v1/agreements/{id} (API key): `{ agreement, history }`, parsed but unvalidated (the
   * caller checks its shape), or `undefined` when the gateway answers `AGREEMENT_NOT_FOUND`.
   * @throws CliError for any other failure, or an answer that is not JSON.
   */
  agreement(id: string, apiKey: string): Promise<unknown>;
}

/**
 * Parses the value of `flag` (e.g. `--gateway`): an absolute http or https URL without
 * credentials (`hint` says where they go instead).
 * @throws CliError `USAGE`.
 */
export function parseHttpUrl(text: string, flag: string, hint = ''): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new CliError('USAGE', `${flag} ${JSON.stringify(text)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CliError('USAGE', `${flag} must be an http or https URL, not ${url.protocol}`);
  }
  if (url.username || url.password) {
    throw new CliError('USAGE', `${flag} must not carry credentials${hint}`);
  }
  url.hash = '';
  return url;
}

/**
 * Parses a `--gateway` value: an absolute http or https URL, as the base of the API paths.
 * @throws CliError `USAGE`.
 */
export function parseGatewayUrl(text: string): URL {
  const url = parseHttpUrl(text, '--gateway', '; use --key or EVIDENCE_API_KEY');
  url.search = '';
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}

/** A client for the gateway at `base` (from {@link parseGatewayUrl}). */
export function createGatewayClient(io: CliIo, base: URL): GatewayClient {
  return new GatewayClientImpl(io, base);
}

interface Answer {
  readonly status: number;
  readonly text: string;
  /** The body parsed as JSON, `undefined` when it is not JSON. */
  readonly body: unknown;
}

class GatewayClientImpl implements GatewayClient {
  readonly #io: CliIo;
  readonly #base: URL;

  constructor(io: CliIo, base: URL) {
    this.#io = io;
    this.#base = base;
  }

  get url(): string {
    return this.#base.href;
  }

  async depositBatch(items: readonly EvidenceItem[], apiKey: string): Promise<DepositResult[]> {
    const answer = await this.#request(
      'v1/evidence/batch',
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          authorization: `Bearer ${apiKey}`,
        },
        body: JSON.stringify({ items }),
      },
      DEPOSIT_TIMEOUT_MS,
    );
    if (answer.status < 200 || answer.status > 299) throw gatewayError(answer);
    return parseDepositResults(answer.body, items.length);
  }

  async lookup(digest: Digest): Promise<Record<string, unknown> | undefined> {
    // A digest is [a-z0-9:] only, all legal in a path segment (RFC 3986 §3.3).
    const answer = await this.#request(
      `${LOOKUP_PATH}${digest}`,
      { method: 'GET', headers: { accept: 'application/json' } },
      LOOKUP_TIMEOUT_MS,
    );
    if (answer.status === 404 && codeOf(answer.body) === 'EVIDENCE_NOT_FOUND') return undefined;
    if (answer.status !== 200) throw gatewayError(answer);
    if (!isObject(answer.body)) {
      throw new CliError(
        'GATEWAY_RESPONSE_INVALID',
        'the gateway answered the lookup with no JSON object',
      );
    }
    return answer.body;
  }

  async trust(): Promise<string> {
    const answer = await this.#request(
      'v1/trust',
      { method: 'GET', headers: { accept: 'application/json' } },
      LOOKUP_TIMEOUT_MS,
    );
    if (answer.status !== 200) throw gatewayError(answer);
    return answer.text;
  }

  async forks(): Promise<unknown> {
    const answer = await this.#request(
      'v1/forks',
      { method: 'GET', headers: { accept: 'application/json' } },
      LOOKUP_TIMEOUT_MS,
    );
    if (answer.status === 404) return undefined;
    if (answer.status !== 200) throw gatewayError(answer);
    if (!isObject(answer.body) || !('forked' in answer.body)) {
      throw new CliError(
        'GATEWAY_RESPONSE_INVALID',
        'the gateway answered GET /v1/forks with no `forked` field',
      );
    }
    return answer.body.forked;
  }

  async trustRotations(): Promise<unknown> {
    const answer = await this.#request(
      'v1/trust/rotations',
      { method: 'GET', headers: { accept: 'application/json' } },
      LOOKUP_TIMEOUT_MS,
    );
    if (answer.status !== 200) throw gatewayError(answer);
    if (answer.body === undefined) {
      throw new CliError('GATEWAY_RESPONSE_INVALID', 'the gateway answered with no JSON rotations');
    }
    return answer.body;
  }

  async dossier(apiKey: string): Promise<unknown> {
    const answer = await this.#request(
      'v1/admin/dossier',
      { method: 'GET', headers: { accept: 'application/json', authorization: `Bearer ${apiKey}` } },
      LOOKUP_TIMEOUT_MS,
    );
    if (answer.status !== 200) throw gatewayError(answer);
    if (answer.body === undefined) {
      throw new CliError('GATEWAY_RESPONSE_INVALID', 'the gateway answered with no JSON dossier');
    }
    return answer.body;
  }

  async agreement(id: string, apiKey: string): Promise<unknown> {
    const answer = await this.#request(
      `v1/agreements/${encodeURIComponent(id)}`,
      { method: 'GET', headers: { accept: 'application/json', authorization: `Bearer ${apiKey}` } },
      LOOKUP_TIMEOUT_MS,
    );
    if (answer.status === 404 && codeOf(answer.body) === 'AGREEMENT_NOT_FOUND') return undefined;
    if (answer.status !== 200) throw gatewayError(answer);
    if (!isObject(answer.body)) {
      throw new CliError('GATEWAY_RESPONSE_INVALID', 'the gateway answered with no JSON agreement');
    }
    return answer.body;
  }

  async upgrade(receipt: unknown, apiKey: string): Promise<unknown> {
    const answer = await this.#request(
      'v1/receipts/upgrade',
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          authorization: `Bearer ${apiKey}`,
        },
        body: JSON.stringify(receipt),
      },
      LOOKUP_TIMEOUT_MS,
    );
    if (answer.status !== 200) throw gatewayError(answer);
    if (!isObject(answer.body)) {
      throw new CliError('GATEWAY_RESPONSE_INVALID', 'the gateway answered with no JSON receipt');
    }
    return answer.body;
  }

  async #request(path: string, init: RequestInit, timeoutMs: number): Promise<Answer> {
    const url = new URL(path, this.#base);
    let response: Response;
    let text: string;
    try {
      response = await this.#io.fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
      text = await response.text();
    } catch (error) {
      throw networkError(url, timeoutMs, error);
    }
    let body: unknown;
    try {
      body = text.length > 0 ? (JSON.parse(text) as unknown) : undefined;
    } catch {
      body = undefined;
    }
    return { status: response.status, text, body };
  }
}

/** A failed call to `url` (`what`: who was called, for the message) as a `NETWORK_ERROR`. */
export function networkError(
  url: URL,
  timeoutMs: number,
  error: unknown,
  what = 'the gateway',
): CliError {
  const name = (error as { name?: unknown }).name;
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new CliError(
      'NETWORK_ERROR',
      `${url.origin} did not answer within ${timeoutMs / 1000} s`,
    );
  }
  // undici reports the socket error (ECONNREFUSED, ENOTFOUND, ...) as the cause of "fetch failed".
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  const reason =
    typeof cause?.code === 'string'
      ? cause.code
      : typeof cause?.message === 'string'
        ? cause.message
        : (error as Error).message;
  return new CliError(
    'NETWORK_ERROR',
    `cannot reach ${what} at ${url.origin}: ${reason}`,
    undefined,
    {
      cause: error,
    },
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function codeOf(body: unknown): unknown {
  return isObject(body) ? body.code : undefined;
}

function fieldsOf(value: unknown): FieldError[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const fields = value.filter(
    (f): f is FieldError =>
      isObject(f) &&
      typeof f.path === 'string' &&
      typeof f.rule === 'string' &&
      typeof f.message === 'string',
  );
  return fields.length > 0 ? fields : undefined;
}

/**
 * The CliError for a non-2xx answer `{ statusCode, code, message, fields? }`. A 5xx or 429 always
 * exits as an I/O failure (retrying may help); a 4xx keeps the gateway's code when we know it.
 */
function gatewayError(answer: Answer): CliError {
  const body = isObject(answer.body) ? answer.body : {};
  const said = typeof body.message === 'string' ? body.message.slice(0, 500) : undefined;
  const message = `the gateway answered ${answer.status}${said ? `: ${said}` : ''}`;
  let code: CliErrorCode = 'GATEWAY_ERROR';
  if (isCliErrorCode(body.code)) {
    const transient = answer.status >= 500 || answer.status === 429;
    if (!transient || exitStatusForError(body.code) === EXIT_IO) code = body.code;
  }
  return new CliError(code, message, fieldsOf(body.fields));
}

const OUTCOMES: readonly string[] = ['created', 'attested', 'existing'] satisfies DepositOutcome[];

function invalid(detail: string): CliError {
  return new CliError(
    'GATEWAY_RESPONSE_INVALID',
    `the gateway's batch answer is not as documented: ${detail}`,
  );
}

/** The failure of an item the gateway answered wrongly (or not at all). */
function invalidItem(index: number, detail: string): CliError {
  return new CliError(
    'GATEWAY_RESPONSE_INVALID',
    `the gateway's answer for item ${index} ${detail}`,
  );
}

/**
 * Checks `{ results: [...] }` and returns one result per item, in item order. Extra properties are
 * tolerated. An entry that cannot be read spoils only its own item, so the receipts of the others
 * (already committed) are not lost.
 * @throws CliError `GATEWAY_RESPONSE_INVALID` when there is no results array at all.
 */
function parseDepositResults(body: unknown, count: number): DepositResult[] {
  if (!isObject(body) || !Array.isArray(body.results)) throw invalid('no results array');
  const byIndex = new Map<number, DepositResult>();
  for (const entry of body.results as unknown[]) {
    if (!isObject(entry)) continue;
    const index = entry.index;
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= count)
      continue;
    if (byIndex.has(index)) {
      byIndex.set(index, invalidItem(index, 'answers this item twice'));
    } else if (isObject(entry.error)) {
      const { code, message, fields } = entry.error;
      const listed = fieldsOf(fields);
      byIndex.set(
        index,
        typeof code === 'string' && typeof message === 'string'
          ? { index, error: { code, message, ...(listed ? { fields: listed } : {}) } }
          : invalidItem(index, 'refuses this item without a code and message'),
      );
    } else if (
      typeof entry.status === 'string' &&
      OUTCOMES.includes(entry.status) &&
      isObject(entry.receipt)
    ) {
      byIndex.set(index, { index, status: entry.status as DepositOutcome, receipt: entry.receipt });
    } else {
      byIndex.set(index, invalidItem(index, 'has neither a status with a receipt nor an error'));
    }
  }
  return Array.from(
    { length: count },
    (_, index) => byIndex.get(index) ?? invalidItem(index, 'omits this item'),
  );
}
