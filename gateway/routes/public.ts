/**
 * Public routes, no API key: whether a digest is on chain (non-sensitive facts only, for the CLI's
 * `--online` check), the chain's head, and the trust file a verifier pins.
 */

import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { Digest } from '../../core/digest';
import { StateError } from '../../core/errors';
import type { EvidenceService } from '../evidence-service';
import { ERROR_RESPONSES, digestParamsSchema, schemaRef } from '../schemas';

export interface PublicRoutesOptions {
  readonly service: EvidenceService;
}

const publicRoutes: FastifyPluginAsync<PublicRoutesOptions> = async (
  app: FastifyInstance,
  options,
) => {
  const { service } = options;
  const tags = ['public'];

  app.get<{ Params: { digest: Digest } }>(
    '/public/evidence/:digest',
    {
      schema: {
        tags,
        summary: 'Is this digest on chain? Time, transaction and attestation count only',
        params: digestParamsSchema,
        response: { 200: schemaRef('public-evidence'), ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const facts = await service.publicFacts(request.params.digest);
      if (!facts)
        throw new StateError('EVIDENCE_NOT_FOUND', `${request.params.digest} is not on chain`);
      return facts;
    },
  );

  app.get(
    '/chain',
    {
      schema: {
        tags,
        summary: "The chain's id, height and tip",
        response: { 200: schemaRef('chain-info'), ...ERROR_RESPONSES },
      },
    },
    async () => service.info(),
  );

  app.get(
    '/trust',
    {
      schema: {
        tags,
        summary: 'The trust file to pin for verifying receipts of this chain offline',
        response: { 200: schemaRef('trust-file'), ...ERROR_RESPONSES },
      },
    },
    async () => service.trust(),
  );

  app.get(
    '/trust/rotations',
    {
      schema: {
        tags,
        summary: "The node key's rotations, each with its proof, oldest first",
        description:
          'Each rotation is a block signed by the outgoing key, whose transaction names the ' +
          'incoming key with its signature. From a trust file pinned before, `evidence trust ' +
          'update` checks them one by one and accepts the trust file served now only if its ' +
          'keys are exactly the ones they lead to.',
        response: { 200: schemaRef('key-rotations'), ...ERROR_RESPONSES },
      },
    },
    async () => service.keyRotations(),
  );
};

export default publicRoutes;
