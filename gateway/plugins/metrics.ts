/**
 * Infrastructure plugin: Prometheus metrics (see metrics.ts). Decorates the instance with
 * `metrics`, times every answered request by its route template (never the raw URL, which a
 * client controls: unmatched requests are counted under `route="unmatched"`), and serves
 * `GET /metrics` in the Prometheus text format. The endpoint needs no API key, like the probes:
 * it carries counts and codes, nothing about any deposit; restrict it at the network if needed.
 */

import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import { toHttpError } from '../http-errors';
import type { NodeMetrics } from '../metrics';

declare module 'fastify' {
  interface FastifyInstance {
    /** The node's metrics; the anchoring job reports anchor times through `metrics.anchors`. */
    readonly metrics: NodeMetrics;
  }
}

export interface MetricsPluginOptions {
  readonly metrics: NodeMetrics;
}

const metricsPlugin: FastifyPluginAsync<MetricsPluginOptions> = async (
  app: FastifyInstance,
  options,
) => {
  const { metrics } = options;
  app.decorate('metrics', metrics);

  // Every error a request ends with passes here before the error handler maps it the same way.
  app.addHook('onError', async (_request, _reply, error) => {
    metrics.deposits.error(toHttpError(error).body.code);
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url;
    // The not-found handler answers without an error passing through onError.
    if (route === undefined && reply.statusCode === 404) metrics.deposits.error('NOT_FOUND');
    metrics.observeRequest(
      request.method,
      route ?? 'unmatched',
      reply.statusCode,
      reply.elapsedTime / 1000,
    );
  });

  app.get(
    '/metrics',
    {
      schema: {
        tags: ['operations'],
        summary: 'Prometheus metrics (text exposition format)',
        produces: ['text/plain'],
        response: { 200: { type: 'string', description: 'Prometheus text format 0.0.4' } },
      },
    },
    async (_request, reply) => {
      const { contentType, text } = await metrics.render();
      return reply.type(contentType).send(text);
    },
  );
};

export default fp(metricsPlugin, { name: 'evidence-metrics', fastify: '5.x' });
