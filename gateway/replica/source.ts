/**
 * A replica's calls to its source node: `GET {source}/v1/blocks?from=&limit=` with an API key of
 * role court, auditor or admin. The replica job asks from the block it holds, and only compares
 * that one: it asks for it as its signed header (`&first=header`; a source that does not know
 * `first` refuses it with 400, and is then asked for whole blocks). Every call has a deadline and
 * a bounded answer, and every failure leaves as an EvidenceError with a stable code: unreachable
 * `LEDGER_UNAVAILABLE`, too slow `LEDGER_TIMEOUT`, refused with the source's own code when it
 * sent one (else `LEDGER_UNAVAILABLE`), and a 200 answer not as documented `BLOCK_INVALID`. The
 * blocks themselves are checked by the ledger, not here.
 */

import { readFileSync } from 'node:fs';
import {
  ERROR_CODES,
  EvidenceError,
  LedgerError,
  ReplicaError,
  type ErrorCode,
} from '../../core/errors';
import { CHAIN_ID_PATTERN } from '../../core/trust';
import { schemaErrors } from '../../core/schema';
import { readLimitedBytes, targetCallError } from '../anchoring/http-target';
import type { Config } from '../config';
import type { BlockForm } from '../ledger/ledger';

/** Deadline of one call to the source: 32 blocks of 1,000 records are about 25 MB. */
export const REPLICA_CALL_TIMEOUT_MS = 60_000;
/** Blocks asked for in one call; a block of 1,000 records is about 0.8 MB. */
export const BLOCKS_PER_CALL = 32;
/** Largest answer read; the source keeps its answers under its own budget (routes/blocks.ts). */
export const MAX_BLOCKS_ANSWER_BYTES = 64 * 1024 * 1024;

/** What `GET /v1/blocks` answers: blocks are whole, as the source stores them. */
export interface BlocksAnswer {
  readonly chainId: string;
  /** Durable blocks on the source. */
  readonly height: number;
  /**
   * Each block as its JSON text (core/full-block.ts), in order from `from`; the first may be only
   * its signed header.
   */
  readonly blocks: readonly string[];
}

const answerSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['chainId', 'height', 'blocks'],
  properties: {
    chainId: { type: 'string', pattern: CHAIN_ID_PATTERN },
    height: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
    blocks: { type: 'array', maxItems: BLOCKS_PER_CALL, items: { type: 'object' } },
  },
} as const;

export interface SourceOptions {
  /** Base URL of the source node, without a trailing slash. */
  readonly url: string;
  readonly apiKey: string;
  readonly timeoutMs: number;
  readonly fetch?: typeof fetch;
}

/** The source node of a replica. */
export interface ReplicaSource {
  readonly url: string;
  /** The key it is read with; a replica also gives it proof of a fork with it. */
  readonly apiKey?: string;
  /**
   * Durable blocks from `from` on, at most `limit`; with `first` `header`, block `from` may come
   * as its signed header only (a source that cannot send it so sends it whole).
   */
  blocks(
    from: number,
    limit: number,
    signal?: AbortSignal,
    first?: BlockForm,
  ): Promise<BlocksAnswer>;
}

/**
 * The source the configuration names (`EVIDENCE_REPLICA_SOURCE` with the key in
 * `EVIDENCE_REPLICA_API_KEY_FILE`, read now); `undefined` on a node that is not a replica.
 */
export function configuredSource(
  config: Pick<Config, 'replicaSource' | 'replicaApiKeyFile'>,
): ReplicaSource | undefined {
  if (config.replicaSource === undefined || config.replicaApiKeyFile === undefined)
    return undefined;
  return replicaSource({
    url: config.replicaSource,
    apiKey: readFileSync(config.replicaApiKeyFile, 'utf8').trim(),
    timeoutMs: REPLICA_CALL_TIMEOUT_MS,
  });
}

export function replicaSource(options: SourceOptions): ReplicaSource {
  const fetchImpl = options.fetch ?? ((...args) => globalThis.fetch(...args));
  const what = `source ${options.url}`;
  /** Whether the source takes `first=header` (until it refuses it). */
  let headerFirst = true;
  return {
    url: options.url,
    apiKey: options.apiKey,
    async blocks(from, limit, signal, first = 'whole') {
      const deadline = AbortSignal.timeout(options.timeoutMs);
      let status: number;
      let text: string;
      const asked = first === 'header' && headerFirst;
      try {
        const query = `from=${from}&limit=${limit}${asked ? '&first=header' : ''}`;
        const response = await fetchImpl(`${options.url}/v1/blocks?${query}`, {
          headers: { accept: 'application/json', authorization: `Bearer ${options.apiKey}` },
          signal: signal ? AbortSignal.any([signal, deadline]) : deadline,
          redirect: 'error',
        });
        status = response.status;
        text = (
          await readLimitedBytes(
            response,
            MAX_BLOCKS_ANSWER_BYTES,
            (message) => new ReplicaError('BLOCK_INVALID', `${what}: ${message}`),
          )
        ).toString('utf8');
      } catch (error) {
        throw targetCallError(what, options.timeoutMs, error, signal);
      }
      let body: unknown;
      try {
        body = JSON.parse(text) as unknown;
      } catch {
        body = undefined;
      }
      if (status === 400 && asked && mentionsFirst(body)) {
        headerFirst = false;
        return this.blocks(from, limit, signal, first);
      }
      if (status !== 200) throw refusal(what, status, body);
      const problems = schemaErrors(answerSchema, body);
      if (problems.length > 0) {
        const where = problems.map((p) => `${p.path || '/'} ${p.message}`).join('; ');
        throw new ReplicaError(
          'BLOCK_INVALID',
          `${what} answered blocks not as documented: ${where}`,
        );
      }
      const answer = body as { chainId: string; height: number; blocks: unknown[] };
      // Re-serialised, a block is the very text the source stored (it was written by
      // JSON.stringify too): the replica stores and serves the same bytes.
      return { ...answer, blocks: answer.blocks.map((block) => JSON.stringify(block)) };
    },
  };
}

/** The error for a non-200 answer: the source's code when it sent one of ours. */
function refusal(what: string, status: number, body: unknown): EvidenceError {
  const fields = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const said = typeof fields.message === 'string' ? `: ${fields.message.slice(0, 300)}` : '';
  const message = `${what} answered ${status}${said}`;
  if ((ERROR_CODES as readonly unknown[]).includes(fields.code) && status < 500)
    return new EvidenceError(fields.code as ErrorCode, message);
  return new LedgerError('LEDGER_UNAVAILABLE', message);
}

/** Whether a 400 answer names the `first` query field (a source older than it). */
function mentionsFirst(body: unknown): boolean {
  const fields = (body as { fields?: unknown } | null)?.fields;
  return (
    Array.isArray(fields) &&
    fields.some((field) => (field as { path?: unknown } | null)?.path === '/first')
  );
}
