/**
 * Infrastructure plugin: every error response, ours or Fastify's, leaves through here as
 * `{ statusCode, code, message, fields? }` (see http-errors.ts for the table). Bad input is never
 * a 500: only failures of the node itself are, and their details go to the log, not the client.
 */

import type { FastifyError, FastifyInstance, FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import { StateError } from '../../core/errors';
import { toHttpError } from '../http-errors';

const errorHandlerPlugin: FastifyPluginAsync = async (app: FastifyInstance) => {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const mapped = toHttpError(error);
    if (mapped.internal) request.log.error({ err: error }, 'request failed');
    else request.log.info({ code: mapped.body.code }, 'request refused');
    return reply.code(mapped.body.statusCode).headers(mapped.headers).send(mapped.body);
  });

  app.setNotFoundHandler((request, reply) => {
    const mapped = toHttpError(
      new StateError('NOT_FOUND', `no route ${request.method} ${request.url}`),
    );
    return reply.code(mapped.body.statusCode).send(mapped.body);
  });
};

export default fp(errorHandlerPlugin, { name: 'evidence-error-handler', fastify: '5.x' });
