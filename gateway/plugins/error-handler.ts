/**
 * Infrastructure plugin: every error response, ours or Fastify's, leaves through here as
 * `{ statusCode, code, message, fields? }` (see http-errors.ts for the table). Bad input is never
 * a 500: only failures of the node itself are, and their details go to the log, not the client.
 */

import type {
  FastifyError,
  FastifyInstance,
  FastifyPluginAsync,
  FastifyReply,
  FastifyRequest,
} from 'fastify';
import fp from 'fastify-plugin';
import { isEvidenceError, StateError } from '../../core/errors';
import { findPersonalData } from '../../core/personal-data';
import { methodNotAllowed, toHttpError } from '../http-errors';

const SAFE_PATH = /^\/[A-Za-z0-9/._:~-]*$/;
/** The methods the node's routes use (HEAD: Fastify answers it for every GET route). */
const ROUTE_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

const errorHandlerPlugin: FastifyPluginAsync = async (app: FastifyInstance) => {
  /** A request no route takes: 405 when its path exists for other methods, else 404. */
  const notFound = (request: FastifyRequest, reply: FastifyReply) => {
    const fullPath = request.url.split('?')[0] ?? '';
    const allowed = ROUTE_METHODS.filter(
      (method) => app.findRoute({ method, url: fullPath }) !== null,
    );
    if (allowed.length > 0) {
      const mapped = methodNotAllowed(request.method, allowed);
      return reply.code(mapped.body.statusCode).headers(mapped.headers).send(mapped.body);
    }
    // The path is quoted only when it is plainly a path: responses never echo what a client
    // may have written into a URL (a name, a phone number).
    const path = fullPath.slice(0, 256);
    const quoted = SAFE_PATH.test(path) && findPersonalData(path) === undefined;
    const mapped = toHttpError(
      new StateError(
        'NOT_FOUND',
        quoted ? `no route ${request.method} ${path}` : `no route ${request.method} for this path`,
      ),
    );
    return reply.code(mapped.body.statusCode).send(mapped.body);
  };

  app.setErrorHandler((error: FastifyError, request, reply) => {
    // Fastify may refuse a request to no route before it reaches the not-found handler, for its
    // body or content type (a QUERY without Content-Type): with no route, that is a 404 or 405.
    // Refusals of ours (rate limit, load shedding) stand.
    if (request.is404 && !isEvidenceError(error)) return notFound(request, reply);
    const mapped = toHttpError(error);
    if (mapped.internal) request.log.error({ err: error }, 'request failed');
    else request.log.info({ code: mapped.body.code }, 'request refused');
    return reply.code(mapped.body.statusCode).headers(mapped.headers).send(mapped.body);
  });

  app.setNotFoundHandler(notFound);
};

export default fp(errorHandlerPlugin, { name: 'evidence-error-handler', fastify: '5.x' });
