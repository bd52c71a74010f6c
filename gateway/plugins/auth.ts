/**
 * Infrastructure plugin: authentication and roles. Decorates each request with its `principal`
 * and `authMethod`, and the instance with `requireRoles(...)`, an `onRequest` hook a route lists
 * to admit only those roles.
 *
 * A caller authenticates with, in this order of precedence:
 * 1. a signed request (`x-evidence-key-id`, `-timestamp`, `-nonce`, `-signature`; see
 *    core/request-signing.ts): headers, time window and key id are checked before the body is
 *    read; signature and nonce once the body's digest is known (a `preValidation` hook);
 * 2. an API key: `Authorization: Bearer <key>` or `X-API-Key: <key>`;
 * 3. a TLS client certificate whose SHA-256 fingerprint is registered for a principal (mutual
 *    TLS, when the node is configured with a client CA).
 * A principal with `requireSignature` is refused on 2 and 3 (`SIGNATURE_REQUIRED`). Unsigned
 * anonymous callers cost nothing: they are refused before the body is read.
 *
 * The plugin also replaces the JSON body parser with one that keeps the SHA-256 of the raw body
 * bytes (what a signature covers) and otherwise parses exactly as Fastify's own (prototype
 * poisoning refused).
 */

import type { TLSSocket } from 'node:tls';
import type {
  FastifyInstance,
  FastifyPluginAsync,
  FastifyRequest,
  onRequestHookHandler,
} from 'fastify';
import fp from 'fastify-plugin';
import { bodyDigest } from '../../core/request-signing';
import { sha256Digest, type Digest } from '../../core/digest';
import { AccessError, SecurityError, ValidationError } from '../../core/errors';
import { poisonedKeyFields } from '../json-body';
import type { KeyStore, KeyRole, Principal } from '../auth/api-keys';
import { createSignedRequestVerifier, type AdmittedRequest } from '../auth/signed-request';

export type AuthMethod = 'api-key' | 'signature' | 'tls';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller; `null` on public routes and before authentication. */
    principal: Principal | null;
    /** How `principal` authenticated. */
    authMethod: AuthMethod | null;
    /** `sha256:` of the raw JSON body, `null` when the request had none. */
    bodyDigest: Digest | null;
  }
  interface FastifyInstance {
    /** An `onRequest` hook that authenticates the caller and admits only `roles`. */
    requireRoles(...roles: readonly KeyRole[]): onRequestHookHandler;
  }
}

export interface AuthPluginOptions {
  readonly keys: KeyStore;
  /** Signed requests: timestamp window (ms) and nonce cache bound. */
  readonly signatureWindowMs: number;
  readonly nonceCacheMax: number;
  /** Milliseconds since the epoch, for tests of the time window. */
  readonly clock?: () => number;
}

/** The key a request presents, or `undefined`. */
export function presentedKey(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  const bearer = typeof header === 'string' ? /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header) : null;
  if (bearer) return bearer[1];
  const apiKey = request.headers['x-api-key'];
  return typeof apiKey === 'string' ? apiKey.trim() : undefined;
}

/**
 * The client certificate of a mutual-TLS connection: its `sha256:` fingerprint and whether it
 * chains to the configured CA; `undefined` on plain connections or without a certificate.
 */
export function clientCertificate(
  request: FastifyRequest,
): { fingerprint: string; trusted: boolean } | undefined {
  const socket = request.raw.socket as Partial<TLSSocket> | undefined;
  if (!socket || typeof socket.getPeerCertificate !== 'function') return undefined;
  const certificate = socket.getPeerCertificate();
  if (!certificate || !certificate.raw || certificate.raw.length === 0) return undefined;
  return {
    fingerprint: sha256Digest(certificate.raw),
    trusted: socket.authorized === true,
  };
}

const authPlugin: FastifyPluginAsync<AuthPluginOptions> = async (app: FastifyInstance, options) => {
  const { keys } = options;
  const verifier = createSignedRequestVerifier({
    keys,
    windowMs: options.signatureWindowMs,
    nonceCacheMax: options.nonceCacheMax,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  /** Signed requests admitted in onRequest, waiting for their body; and the roles they need. */
  const pending = new WeakMap<FastifyRequest, { admitted: AdmittedRequest; roles: Set<KeyRole> }>();

  app.decorateRequest('principal', null);
  app.decorateRequest('authMethod', null);
  app.decorateRequest('bodyDigest', null);

  const jsonParser = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const bytes = body as Buffer;
    request.bodyDigest = bodyDigest(bytes);
    const text = bytes.toString('utf8');
    jsonParser(request, text, (error, value) => {
      if (!error) return done(null, value);
      // Valid JSON refused for a key that would poison a prototype: name the keys.
      const poisoned = poisonedKeyFields(text);
      done(
        poisoned.length === 0
          ? error
          : new ValidationError(
              'INVALID_JSON',
              'the body holds a key this node refuses (__proto__, or prototype inside constructor)',
              poisoned,
            ),
        undefined,
      );
    });
  });

  const admit = (request: FastifyRequest, principal: Principal, roles: Set<KeyRole>) => {
    if (!roles.has(principal.role)) {
      throw new AccessError('FORBIDDEN', `role ${principal.role} may not do this`);
    }
    request.principal = principal;
  };

  app.decorate('requireRoles', (...roles: readonly KeyRole[]): onRequestHookHandler => {
    const allowed = new Set<KeyRole>(roles);
    return async (request) => {
      if (verifier.isSigned(request.headers)) {
        pending.set(request, { admitted: verifier.admit(request.headers), roles: allowed });
        return;
      }
      let principal: Principal | undefined;
      const key = presentedKey(request);
      if (key !== undefined) {
        principal = keys.authenticate(key);
        if (!principal) throw new AccessError('UNAUTHENTICATED', 'the API key is not valid');
        request.authMethod = 'api-key';
      } else {
        const certificate = clientCertificate(request);
        if (certificate && !certificate.trusted) {
          throw new AccessError('UNAUTHENTICATED', 'the client certificate is not trusted');
        }
        principal = certificate ? keys.byCertificate(certificate.fingerprint) : undefined;
        if (!principal) {
          throw new AccessError(
            'UNAUTHENTICATED',
            certificate
              ? 'the client certificate belongs to no principal'
              : 'an API key is required',
          );
        }
        request.authMethod = 'tls';
      }
      if (principal.requireSignature) {
        throw new SecurityError('SIGNATURE_REQUIRED', 'this principal must sign its requests');
      }
      admit(request, principal, allowed);
    };
  });

  // Root-level, so it runs before every route's own preValidation hooks and schema validation.
  app.addHook('preValidation', async (request) => {
    const waiting = pending.get(request);
    if (!waiting) return;
    pending.delete(request);
    const principal = verifier.verify(
      waiting.admitted,
      request.method,
      request.raw.url ?? request.url,
      request.bodyDigest ?? bodyDigest(),
    );
    request.authMethod = 'signature';
    admit(request, principal, waiting.roles);
  });
};

export default fp(authPlugin, { name: 'evidence-auth', fastify: '5.x' });
