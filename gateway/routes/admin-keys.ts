/** Administration of API keys (admin role): create (the key is shown once), list, revoke. */

import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { KeyStore, NewApiKey } from '../auth/api-keys';
import { ERROR_RESPONSES, schemaRef } from '../schemas';
import { SECURITY } from './security';

export interface AdminKeyRoutesOptions {
  readonly keys: KeyStore;
}

const adminKeyRoutes: FastifyPluginAsync<AdminKeyRoutesOptions> = async (
  app: FastifyInstance,
  options,
) => {
  const { keys } = options;
  const tags = ['admin'];
  app.addHook('onRequest', app.requireRoles('admin'));

  app.post<{ Body: NewApiKey }>(
    '/admin/keys',
    {
      schema: {
        tags,
        summary: 'Create an API key; the key is in this response only',
        security: SECURITY,
        body: schemaRef('new-api-key'),
        response: { 201: schemaRef('created-api-key'), ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const { info, key } = await keys.create(request.body);
      return reply
        .code(201)
        .header('cache-control', 'no-store')
        .send({ id: info.id, key, org: info.org, account: info.account, role: info.role });
    },
  );

  app.get(
    '/admin/keys',
    {
      schema: {
        tags,
        summary: 'List API keys (never the keys or their hashes)',
        security: SECURITY,
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            required: ['keys'],
            properties: { keys: { type: 'array', items: schemaRef('api-key-info') } },
          },
          ...ERROR_RESPONSES,
        },
      },
    },
    async () => ({ keys: keys.list() }),
  );

  app.delete<{ Params: { id: string } }>(
    '/admin/keys/:id',
    {
      schema: {
        tags,
        summary: 'Revoke an API key, effective at once',
        security: SECURITY,
        params: {
          type: 'object',
          additionalProperties: false,
          required: ['id'],
          properties: { id: { type: 'string', pattern: '^[A-Za-z0-9_-]{8,32}$' } },
        },
        response: { 200: schemaRef('api-key-info'), ...ERROR_RESPONSES },
      },
    },
    async (request) => keys.revoke(request.params.id),
  );
};

export default adminKeyRoutes;
