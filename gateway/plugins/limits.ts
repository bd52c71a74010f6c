/**
 * Infrastructure plugin: limits that keep the node answering under floods instead of collapsing.
 *
 * - Load shedding (@fastify/under-pressure): while the mean event-loop delay is over
 *   `maxEventLoopDelayMs`, every request but `/healthz` and `/metrics` is refused at once with
 *   `503 OVERLOADED` and `Retry-After`, before authentication or body parsing. `/metrics` is
 *   answered because an overload is when operators need it (a scrape is one small answer, and
 *   it stays rate-limited per address); `/readyz` is shed, which is its answer under overload.
 *   (The deposit queue has its own bound, `maxQueued`, with the same answer.)
 * - Rate limits (@fastify/rate-limit): at most `rateLimitMax` requests per `rateLimitWindowMs`
 *   per principal (per IP address for anonymous routes), answered with `429 RATE_LIMITED` and
 *   `Retry-After`. The limit is applied after authentication (a `preValidation` hook), so it is
 *   keyed by who the caller is, not where it connects from; unauthenticated requests are refused
 *   before that and cost no body parsing. Probes are not limited.
 */

import rateLimit from '@fastify/rate-limit';
import underPressure from '@fastify/under-pressure';
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { LedgerError, SecurityError } from '../../core/errors';

export interface LimitsPluginOptions {
  readonly rateLimitMax: number;
  readonly rateLimitWindowMs: number;
  /** 0 disables load shedding on event-loop delay. */
  readonly maxEventLoopDelayMs: number;
  /** How often the event loop is sampled (ms); default 1000. */
  readonly sampleIntervalMs?: number;
}

/** Routes never shed nor limited: liveness and readiness probes. */
const PROBES = new Set(['/healthz', '/readyz']);
/** Routes answered while load is shed. */
const NEVER_SHED = new Set(['/healthz', '/metrics']);

function isProbe(request: FastifyRequest): boolean {
  return PROBES.has(request.routeOptions.url ?? '');
}

const limitsPlugin: FastifyPluginAsync<LimitsPluginOptions> = async (
  app: FastifyInstance,
  options,
) => {
  if (options.maxEventLoopDelayMs > 0) {
    const sampleInterval = options.sampleIntervalMs ?? 1000;
    // Compiling every route's schemas blocks the loop once while the app gets ready; the samples
    // of that moment say nothing about load, so shedding starts two samples later.
    let sheddingFrom = Number.POSITIVE_INFINITY;
    app.addHook('onReady', async () => {
      sheddingFrom = Date.now() + 2 * sampleInterval;
    });
    await app.register(underPressure, {
      maxEventLoopDelay: options.maxEventLoopDelayMs,
      sampleInterval,
      pressureHandler: async (request) => {
        if (NEVER_SHED.has(request.routeOptions.url ?? '') || Date.now() < sheddingFrom) return;
        throw new LedgerError('OVERLOADED', 'the node is overloaded; retry later');
      },
    });
  }

  await app.register(rateLimit, {
    global: true,
    hook: 'preValidation',
    max: options.rateLimitMax,
    timeWindow: options.rateLimitWindowMs,
    keyGenerator: (request) =>
      request.principal ? `principal:${request.principal.keyId}` : `ip:${request.ip}`,
    allowList: (request) => isProbe(request),
    errorResponseBuilder: (_request, context) =>
      new SecurityError(
        'RATE_LIMITED',
        `more than ${context.max} requests in ${options.rateLimitWindowMs / 1000} s; retry in ${context.after}`,
      ),
  });
};

export default fp(limitsPlugin, { name: 'evidence-limits', fastify: '5.x' });
