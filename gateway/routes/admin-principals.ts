/**
 * Administration of principals (admin role): create with an API key and/or a public key and/or a
 * client certificate fingerprint, list, read, change role or credentials, rotate the API key,
 * revoke. Every change takes effect for the next request. API keys appear in the response that
 * creates them only (`Cache-Control: no-store`).
 */

import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { StateError } from '../../core/errors';
import {
  PRINCIPAL_ID_PATTERN,
  type KeyStore,
  type NewPrincipal,
  type PrincipalUpdate,
} from '../auth/api-keys';
import { ERROR_RESPONSES, schemaRef } from '../schemas';
import { SECURITY } from './security';

export interface AdminPrincipalRoutesOptions {
  readonly keys: KeyStore;
}

const idParams = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: { id: { type: 'string', pattern: PRINCIPAL_ID_PATTERN } },
} as const;

const withKey = {
  type: 'object',
  additionalProperties: false,
  required: ['principal'],
  properties: {
    principal: schemaRef('principal-info'),
    key: { type: 'string', description: 'the API key; in this response only, never stored' },
  },
} as const;

const adminPrincipalRoutes: FastifyPluginAsync<AdminPrincipalRoutesOptions> = async (
  app: FastifyInstance,
  options,
) => {
  const { keys } = options;
  const tags = ['admin'];
  app.addHook('onRequest', app.requireRoles('admin'));

  app.post<{ Body: NewPrincipal }>(
    '/admin/principals',
    {
      schema: {
        tags,
        summary: 'Create a principal with an API key, a public key and/or a certificate',
        security: SECURITY,
        body: schemaRef('new-principal'),
        response: { 201: withKey, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const { info, key } = await keys.createPrincipal(request.body);
      return reply
        .code(201)
        .header('cache-control', 'no-store')
        .send(key === undefined ? { principal: info } : { principal: info, key });
    },
  );

  app.get(
    '/admin/principals',
    {
      schema: {
        tags,
        summary: 'List principals (never API keys or their hashes)',
        security: SECURITY,
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            required: ['principals'],
            properties: { principals: { type: 'array', items: schemaRef('principal-info') } },
          },
          ...ERROR_RESPONSES,
        },
      },
    },
    async () => ({ principals: keys.list() }),
  );

  app.get<{ Params: { id: string } }>(
    '/admin/principals/:id',
    {
      schema: {
        tags,
        summary: 'One principal',
        security: SECURITY,
        params: idParams,
        response: { 200: schemaRef('principal-info'), ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const found = keys.get(request.params.id);
      if (!found) throw new StateError('NOT_FOUND', 'no principal has this id');
      return found;
    },
  );

  app.patch<{ Params: { id: string }; Body: PrincipalUpdate }>(
    '/admin/principals/:id',
    {
      schema: {
        tags,
        summary: 'Change role, requireSignature, public key or certificate; effective at once',
        security: SECURITY,
        params: idParams,
        body: schemaRef('principal-update'),
        response: { 200: schemaRef('principal-info'), ...ERROR_RESPONSES },
      },
    },
    async (request) => keys.update(request.params.id, request.body),
  );

  app.post<{ Params: { id: string } }>(
    '/admin/principals/:id/rotate',
    {
      schema: {
        tags,
        summary: 'Replace the API key: the old one is refused at once',
        security: SECURITY,
        params: idParams,
        response: { 200: withKey, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const { info, key } = await keys.rotate(request.params.id);
      return reply.header('cache-control', 'no-store').send({ principal: info, key });
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/admin/principals/:id',
    {
      schema: {
        tags,
        summary: 'Revoke a principal and all its credentials, effective at once',
        security: SECURITY,
        params: idParams,
        response: { 200: schemaRef('principal-info'), ...ERROR_RESPONSES },
      },
    },
    async (request) => keys.revoke(request.params.id),
  );
};

export default adminPrincipalRoutes;
