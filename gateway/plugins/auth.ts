/**
 * Infrastructure plugin: API-key authentication. Decorates each request with its `principal`
 * and the instance with `requireRoles(...)`, an `onRequest` hook a route lists to admit only
 * those roles. Authentication runs before the body is read, so an anonymous caller costs nothing.
 *
 * Keys are accepted as `Authorization: Bearer <key>` or `X-API-Key: <key>`.
 */

import type {
  FastifyInstance,
  FastifyPluginAsync,
  FastifyRequest,
  onRequestHookHandler,
} from 'fastify';
import fp from 'fastify-plugin';
import { AccessError } from '../../core/errors';
import type { KeyStore, KeyRole, Principal } from '../auth/api-keys';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller; `null` on public routes and before authentication. */
    principal: Principal | null;
  }
  interface FastifyInstance {
    /** An `onRequest` hook that authenticates the caller and admits only `roles`. */
    requireRoles(...roles: readonly KeyRole[]): onRequestHookHandler;
  }
}

export interface AuthPluginOptions {
  readonly keys: KeyStore;
}

/** The key a request presents, or `undefined`. */
export function presentedKey(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  const bearer = typeof header === 'string' ? /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header) : null;
  if (bearer) return bearer[1];
  const apiKey = request.headers['x-api-key'];
  return typeof apiKey === 'string' ? apiKey.trim() : undefined;
}

const authPlugin: FastifyPluginAsync<AuthPluginOptions> = async (app: FastifyInstance, options) => {
  const { keys } = options;
  app.decorateRequest('principal', null);

  app.decorate('requireRoles', (...roles: readonly KeyRole[]): onRequestHookHandler => {
    const allowed = new Set<KeyRole>(roles);
    return async (request) => {
      const key = presentedKey(request);
      if (key === undefined) throw new AccessError('UNAUTHENTICATED', 'an API key is required');
      const principal = keys.authenticate(key);
      if (!principal) throw new AccessError('UNAUTHENTICATED', 'the API key is not valid');
      if (!allowed.has(principal.role)) {
        throw new AccessError('FORBIDDEN', `role ${principal.role} may not do this`);
      }
      request.principal = principal;
    };
  });
};

export default fp(authPlugin, { name: 'evidence-auth', fastify: '5.x' });
