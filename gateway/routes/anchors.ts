/**
 * Anchors recorded on this node's chain (any node can be an anchor target): another chain's
 * anchoring job records its tip here (`anchor` or `admin` role), and anyone may read the latest
 * anchor and the forks of a chain (chain ids and hashes only: forks are public evidence that a
 * chain's operators contradicted themselves).
 */

import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import {
  ANCHOR_REJECTION_CODES,
  anchorInputSchema,
  anchorRecordSchema,
  type AnchorInput,
} from '../../core/anchor';
import { AccessError, StateError } from '../../core/errors';
import { anchorProofSchema } from '../../core/receipt';
import { CHAIN_ID_PATTERN } from '../../core/trust';
import { createAnchorService } from '../anchor-service';
import type { KeyRole, Principal } from '../auth/api-keys';
import type { Config } from '../config';
import type { Ledger } from '../ledger/ledger';
import { ERROR_RESPONSES } from '../schemas';
import { SECURITY } from './security';

/** Roles that may record anchors over HTTP (the contract also admits the node's own gateway). */
export const ANCHOR_ROUTE_ROLES: readonly KeyRole[] = ['anchor', 'admin'];

export interface AnchorRoutesOptions {
  readonly ledger: Ledger;
  readonly config: Pick<Config, 'org' | 'submitTimeoutMs'>;
}

const SHA256 = { type: 'string', pattern: '^sha256:[0-9a-f]{64}$' } as const;
const TIME = { type: 'string', description: 'chain time, RFC 3339 UTC' } as const;
const INDEX = { type: 'integer', minimum: 0 } as const;

/** `{ anchor, proof }`: the anchor on record and its recording transaction's proof. */
export const recordedAnchorSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['anchor', 'proof'],
  properties: {
    anchor: anchorRecordSchema,
    proof: {
      ...anchorProofSchema.properties.anchorTx,
      description:
        "The recording transaction's proof: `anchorTx` of a receipt's anchor proof (header, " +
        'result, path into the block, signed block header)',
    },
  },
} as const;

export const anchorForkSchema = {
  type: 'object',
  additionalProperties: false,
  required: [
    'type',
    'code',
    'sourceChainId',
    'blockNumber',
    'headerHash',
    'recorded',
    'reportedBy',
    'txId',
    'time',
  ],
  properties: {
    type: { const: 'anchor-fork' },
    code: { type: 'string', enum: [...ANCHOR_REJECTION_CODES] },
    ...anchorInputSchema.properties,
    recorded: {
      type: 'object',
      additionalProperties: false,
      required: ['blockNumber', 'headerHash', 'txId', 'time'],
      properties: {
        blockNumber: INDEX,
        headerHash: SHA256,
        leavesRoot: SHA256,
        txId: { type: 'string' },
        time: TIME,
      },
    },
    reportedBy: anchorRecordSchema.properties.anchoredBy,
    txId: { type: 'string' },
    time: TIME,
  },
} as const;

const chainParamsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['sourceChainId'],
  properties: { sourceChainId: { type: 'string', pattern: CHAIN_ID_PATTERN } },
} as const;

interface ChainParams {
  readonly sourceChainId: string;
}

/**
 * The refusal for a chain with no anchor on record. It does not name the chain: the id comes from
 * an unauthenticated URL, where a client may have typed personal data.
 */
function neverAnchored(): StateError {
  return new StateError('NOT_FOUND', 'no anchor of this chain is on record');
}

function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new AccessError('UNAUTHENTICATED', 'an API key is required');
  return request.principal;
}

const anchorRoutes: FastifyPluginAsync<AnchorRoutesOptions> = async (
  app: FastifyInstance,
  options,
) => {
  const service = createAnchorService({
    ledger: options.ledger,
    org: options.config.org,
    submitTimeoutMs: options.config.submitTimeoutMs,
  });
  const tags = ['anchors'];

  app.post<{ Body: AnchorInput }>(
    '/anchors',
    {
      onRequest: app.requireRoles(...ANCHOR_ROUTE_ROLES),
      schema: {
        tags,
        summary: "Record another chain's tip on this chain",
        description:
          '201 when recorded, 200 when the identical anchor was on record (its original proof). ' +
          'A contradiction (ANCHOR_CONFLICT: the block is on record with another hash; ' +
          'ANCHOR_REGRESSION: below the latest anchor) is 409, and is kept on record as a fork.',
        security: SECURITY,
        body: anchorInputSchema,
        response: {
          200: recordedAnchorSchema,
          201: recordedAnchorSchema,
          ...ERROR_RESPONSES,
        },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const recorded = await service.record(request.body, principal, (refused) =>
        request.log.warn(
          {
            code: refused.code,
            sourceChainId: refused.fork.sourceChainId,
            blockNumber: refused.fork.blockNumber,
            headerHash: refused.fork.headerHash,
            recorded: refused.fork.recorded,
            forkTxId: refused.fork.txId,
            reportedBy: refused.fork.reportedBy,
          },
          'anchor refused; the fork is kept on record',
        ),
      );
      return reply
        .code(recorded.status === 'recorded' ? 201 : 200)
        .send({ anchor: recorded.anchor, proof: recorded.proof });
    },
  );

  app.get<{ Params: ChainParams }>(
    '/anchors/:sourceChainId',
    {
      schema: {
        tags,
        summary: 'The latest anchor of a chain and how many forks are on record',
        params: chainParamsSchema,
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            required: ['sourceChainId', 'latest', 'forks'],
            properties: {
              sourceChainId: { type: 'string' },
              latest: anchorRecordSchema,
              forks: { type: 'integer', minimum: 0 },
            },
          },
          ...ERROR_RESPONSES,
        },
      },
    },
    async (request) => {
      const summary = await service.summary(request.params.sourceChainId);
      if (!summary) throw neverAnchored();
      return summary;
    },
  );

  app.get<{ Params: ChainParams }>(
    '/anchors/:sourceChainId/forks',
    {
      schema: {
        tags,
        summary: 'Every refused, contradicting anchor of a chain, oldest first',
        description:
          'An empty list for a chain anchored here without a contradiction; 404 NOT_FOUND for a ' +
          'chain never anchored here.',
        params: chainParamsSchema,
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            required: ['sourceChainId', 'forks'],
            properties: {
              sourceChainId: { type: 'string' },
              forks: { type: 'array', items: anchorForkSchema },
            },
          },
          ...ERROR_RESPONSES,
        },
      },
    },
    async (request) => {
      const forks = await service.forks(request.params.sourceChainId);
      if (!forks) throw neverAnchored();
      return { sourceChainId: request.params.sourceChainId, forks };
    },
  );
};

export default anchorRoutes;
