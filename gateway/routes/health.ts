/** Operations probes: `/healthz` (the process answers) and `/readyz` (deposits can be taken). */

import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { LedgerError } from '../../core/errors';
import type { EvidenceService } from '../evidence-service';
import { ERROR_RESPONSES } from '../schemas';

export interface HealthRoutesOptions {
  readonly service: EvidenceService;
}

const statusSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['status'],
  properties: { status: { type: 'string' } },
} as const;

const healthRoutes: FastifyPluginAsync<HealthRoutesOptions> = async (
  app: FastifyInstance,
  options,
) => {
  const { service } = options;
  const tags = ['operations'];

  app.get(
    '/healthz',
    { schema: { tags, summary: 'The process is up', response: { 200: statusSchema } } },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        tags,
        summary: 'The ledger is open and deposits are admitted (503 otherwise)',
        response: { 200: statusSchema, ...ERROR_RESPONSES },
      },
    },
    async () => {
      if (!(await service.ready()))
        throw new LedgerError('LEDGER_UNAVAILABLE', 'the ledger is not ready');
      return { status: 'ready' };
    },
  );
};

export default healthRoutes;
