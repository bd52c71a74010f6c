/**
 * The audit log, for auditors only: read entries in order, and check the hash chain. An auditor
 * should keep the `head` that `GET /v1/audit/verify` returns somewhere the node's operators cannot
 * write: the chain shows any change to the entries up to a head someone recorded.
 */

import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { AuditLog } from '../audit/audit-log';
import { ERROR_RESPONSES, POSITION_QUERY } from '../schemas';
import { SECURITY } from './security';

export interface AuditRoutesOptions {
  readonly audit: AuditLog;
}

const DIGEST = { type: 'string' } as const;
const anchorSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['seq', 'hash'],
  properties: { seq: { type: 'integer' }, hash: DIGEST },
} as const;

export const auditEntrySchema = {
  $id: 'audit-entry',
  type: 'object',
  additionalProperties: false,
  required: ['seq', 'prev', 'hash', 'type', 'time'],
  properties: {
    seq: { type: 'integer', minimum: 0 },
    prev: DIGEST,
    hash: DIGEST,
    type: {
      type: 'string',
      enum: ['request', 'gap', 'backup', 'node-key', 'promotion', 'fork'],
    },
    time: { type: 'string' },
    requestId: { type: 'string' },
    method: { type: 'string' },
    route: { type: 'string', description: 'route template, e.g. /v1/evidence/:digest' },
    params: { type: 'object', additionalProperties: { type: 'string' } },
    digests: { type: 'array', items: { type: 'string' } },
    principal: {
      anyOf: [
        {
          type: 'object',
          additionalProperties: false,
          required: ['id', 'org', 'account', 'role', 'via'],
          properties: {
            id: { type: 'string' },
            org: { type: 'string' },
            account: { type: 'string' },
            role: { type: 'string' },
            via: { type: 'string', enum: ['api-key', 'signature', 'tls'] },
          },
        },
        { type: 'null' },
      ],
    },
    status: { type: 'integer' },
    code: { type: 'string' },
    dropped: { type: 'integer', description: 'gap entries: events not recorded under overload' },
  },
} as const;

const MAX_LIMIT = 1000;

const auditRoutes: FastifyPluginAsync<AuditRoutesOptions> = async (
  app: FastifyInstance,
  options,
) => {
  const { audit } = options;
  const tags = ['audit'];
  app.addHook('onRequest', app.requireRoles('auditor'));

  app.get<{ Querystring: { from?: string; limit?: string } }>(
    '/audit',
    {
      schema: {
        tags,
        summary: 'Audit entries from sequence number `from` on, oldest first',
        security: SECURITY,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            from: POSITION_QUERY,
            limit: { type: 'string', pattern: '^([1-9][0-9]{0,2}|1000)$' },
          },
        },
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            required: ['entries', 'next'],
            properties: {
              entries: { type: 'array', items: { $ref: 'audit-entry#' } },
              next: {
                anyOf: [{ type: 'integer' }, { type: 'null' }],
                description: 'the `from` of the next page; null at the end',
              },
            },
          },
          ...ERROR_RESPONSES,
        },
      },
    },
    async (request) => {
      const from = Number(request.query.from ?? 0);
      const limit = Math.min(Number(request.query.limit ?? 100), MAX_LIMIT);
      await audit.flush();
      const entries = await audit.read(from, limit);
      const last = entries[entries.length - 1];
      return { entries, next: entries.length === limit && last ? last.seq + 1 : null };
    },
  );

  app.get(
    '/audit/verify',
    {
      schema: {
        tags,
        summary: 'Check the hash chain of the retained audit log',
        description:
          'intact, or the first failing position (`failure.seq`) and why: unreadable, sequence ' +
          '(an entry is missing or inserted), link (prev does not match), hash (an entry changed).',
        security: SECURITY,
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            required: ['intact', 'checked', 'anchor', 'head'],
            properties: {
              intact: { type: 'boolean' },
              checked: { type: 'integer' },
              anchor: anchorSchema,
              head: anchorSchema,
              failure: {
                type: 'object',
                additionalProperties: false,
                required: ['seq', 'reason'],
                properties: {
                  seq: { type: 'integer' },
                  reason: { type: 'string', enum: ['unreadable', 'sequence', 'link', 'hash'] },
                },
              },
            },
          },
          ...ERROR_RESPONSES,
        },
      },
    },
    async () => {
      await audit.flush();
      return audit.verify();
    },
  );
};

export default auditRoutes;
