/**
 * Infrastructure plugin: every error response, ours or Fastify's, leaves through here as
 * `{ statusCode, code, message, fields? }` (see http-errors.ts for the table). Bad input is never
 * a 500: only failures of the node itself are, and their details go to the log, not the client.
 */

import type { FastifyError, FastifyInstance, FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import { StateError } from '../../core/errors';
import { findPersonalData } from '../../core/personal-data';
import { toHttpError } from '../http-errors';

const SAFE_PATH = /^\/[A-Za-z0-9/._:~-]*$/;

const errorHandlerPlugin: FastifyPluginAsync = async (app: FastifyInstance) => {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const mapped = toHttpError(error);
    if (mapped.internal) request.log.error({ err: error }, 'request failed');
    else request.log.info({ code: mapped.body.code }, 'request refused');
    return reply.code(mapped.body.statusCode).headers(mapped.headers).send(mapped.body);
  });

  app.setNotFoundHandler((request, reply) => {
    // The path is quoted only when it is plainly a path: responses never echo what a client
    // may have written into a URL (a name, a phone number).
    const path = (request.url.split('?')[0] ?? '').slice(0, 256);
    const quoted = SAFE_PATH.test(path) && findPersonalData(path) === undefined;
    const mapped = toHttpError(
      new StateError(
        'NOT_FOUND',
        quoted ? `no route ${request.method} ${path}` : `no route ${request.method} for this path`,
      ),
    );
    return reply.code(mapped.body.statusCode).send(mapped.body);
  });
};

export default fp(errorHandlerPlugin, { name: 'evidence-error-handler', fastify: '5.x' });
