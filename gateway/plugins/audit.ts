/**
 * Infrastructure plugin: every request to an API route (`/v1/...`) is recorded in the audit log
 * when its response has been sent: who (principal id, organisation, account, role, how it
 * authenticated), what (method, route template, identifier parameters such as `:digest`, and the
 * digests a deposit named), when, the result (status and error code) and the request id.
 *
 * The hook is generic: a route added later (agreements, anchors) is recorded without any change
 * here. A route may add the digests it handled with `request.auditDigests`. Nothing a client
 * writes freely is recorded: routes as templates, parameters only when they are identifiers
 * without personal data, never bodies, queries or headers.
 */

import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { AuditPrincipal } from '../../core/audit';
import { findPersonalData } from '../../core/personal-data';
import type { AuditLog } from '../audit/audit-log';
import { toHttpError } from '../http-errors';

declare module 'fastify' {
  interface FastifyRequest {
    /** Digests the request handled, for its audit entry (set by deposit routes). */
    auditDigests: string[] | null;
  }
}

export interface AuditPluginOptions {
  readonly audit: AuditLog;
}

/** Parameter values recorded: identifiers and digests. */
const SAFE_PARAM = /^[A-Za-z0-9._:-]{1,128}$/;
const SAFE_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

function safeParams(params: unknown): Record<string, string> | undefined {
  if (typeof params !== 'object' || params === null) return undefined;
  const safe: Record<string, string> = {};
  for (const [name, value] of Object.entries(params as Record<string, unknown>)) {
    if (
      SAFE_NAME.test(name) &&
      typeof value === 'string' &&
      SAFE_PARAM.test(value) &&
      findPersonalData(value) === undefined
    ) {
      safe[name] = value;
    }
  }
  return Object.keys(safe).length > 0 ? safe : undefined;
}

function principalOf(request: FastifyRequest): AuditPrincipal | null {
  const { principal, authMethod } = request;
  if (!principal || !authMethod) return null;
  return {
    id: principal.keyId,
    org: principal.org,
    account: principal.account,
    role: principal.role,
    via: authMethod,
  };
}

const auditPlugin: FastifyPluginAsync<AuditPluginOptions> = async (
  app: FastifyInstance,
  options,
) => {
  const { audit } = options;
  const codes = new WeakMap<FastifyRequest, string>();
  app.decorateRequest('auditDigests', null);

  app.addHook('onError', async (request, _reply, error) => {
    codes.set(request, toHttpError(error).body.code);
  });

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url;
    if (route === undefined || !route.startsWith('/v1/')) return;
    const params = safeParams(request.params);
    const code = codes.get(request);
    audit.append({
      type: 'request',
      requestId: request.id,
      method: request.method,
      route,
      ...(params ? { params } : {}),
      ...(request.auditDigests && request.auditDigests.length > 0
        ? { digests: request.auditDigests }
        : {}),
      principal: principalOf(request),
      status: reply.statusCode,
      ...(code ? { code } : {}),
    });
  });
};

export default fp(auditPlugin, { name: 'evidence-audit', fastify: '5.x' });
