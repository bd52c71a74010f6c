/**
 * Authenticated evidence routes: deposit one or many items, read state, receipt and history,
 * and annotate (courts only). Deposits are acknowledged only once durable on the ledger.
 */

import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import { StateError, ValidationError, AccessError } from '../../core/errors';
import { MAX_BATCH_RECORDS } from '../../core/batch';
import type { Digest } from '../../core/digest';
import type { AnnotationInput } from '../../core/evidence-state';
import { KEY_ROLES, type KeyRole, type Principal } from '../auth/api-keys';
import type { EvidenceService } from '../evidence-service';
import { methodNotAllowed } from '../http-errors';
import { ERROR_RESPONSES, batchRequestSchema, digestParamsSchema, schemaRef } from '../schemas';
import { SECURITY } from './security';

/** Roles that may deposit evidence. */
export const DEPOSIT_ROLES: readonly KeyRole[] = ['depositor', 'platform', 'court', 'admin'];
/** Roles that may annotate evidence (the chaincode checks again). */
export const ANNOTATE_ROLES: readonly KeyRole[] = ['court'];
/**
 * Roles that may have any depositor's receipts in a listing or a document (a transaction's
 * receipts, a deposit certificate); others have their own.
 */
export const ANY_DEPOSITOR_ROLES: readonly KeyRole[] = ['court', 'admin'];

export interface EvidenceRoutesOptions {
  readonly service: EvidenceService;
  readonly batchMaxItems: number;
}

interface DigestParams {
  readonly digest: Digest;
}

function principalOf(request: FastifyRequest): Principal {
  // Every route here lists requireRoles first, so a missing principal is a wiring bug.
  if (!request.principal) throw new AccessError('UNAUTHENTICATED', 'an API key is required');
  return request.principal;
}

const evidenceRoutes: FastifyPluginAsync<EvidenceRoutesOptions> = async (
  app: FastifyInstance,
  options,
) => {
  const { service, batchMaxItems } = options;
  const tags = ['evidence'];

  // A deposit request announces itself once authenticated, so the batcher holds a lone waiting
  // record open for it (at most GROUP_COMMIT_DELAY_MS) instead of committing without it.
  const arrivals = new WeakMap<FastifyRequest, () => void>();
  const announce = async (request: FastifyRequest): Promise<void> => {
    arrivals.set(request, service.announce());
  };
  const arrived = (request: FastifyRequest): void => {
    arrivals.get(request)?.();
    arrivals.delete(request);
  };
  app.addHook('onResponse', async (request) => arrived(request));
  app.addHook('onRequestAbort', async (request) => arrived(request));

  app.post<{ Body: unknown }>(
    '/evidence',
    {
      onRequest: [app.requireRoles(...DEPOSIT_ROLES), announce],
      schema: {
        tags,
        summary: 'Deposit the digests of one piece of evidence',
        description:
          'The caller is the depositor. 201 when created or attested, 200 when this caller already ' +
          'deposited the digest (the receipt is the first one). Answers once the deposit is durable.',
        security: SECURITY,
        body: schemaRef('evidence-item'),
        response: {
          200: schemaRef('deposit-result'),
          201: schemaRef('deposit-result'),
          ...ERROR_RESPONSES,
        },
      },
    },
    async (request, reply) => {
      const pending = service.deposit(request.body, principalOf(request));
      arrived(request);
      const deposited = await pending;
      request.auditDigests = [deposited.digest];
      return reply.code(deposited.status === 'existing' ? 200 : 201).send(deposited);
    },
  );

  // Without it, GET /v1/evidence/batch would be read as a digest named "batch" (400); the path
  // exists for POST only.
  app.get('/evidence/batch', { schema: { hide: true } }, async (request, reply) => {
    const mapped = methodNotAllowed(request.method, ['POST']);
    return reply.code(mapped.body.statusCode).headers(mapped.headers).send(mapped.body);
  });

  app.post<{ Body: { items: unknown[] }; Querystring: { receipts?: 'full' | 'none' } }>(
    '/evidence/batch',
    {
      onRequest: [app.requireRoles(...DEPOSIT_ROLES), announce],
      // Before schema validation, so an oversize batch is refused as such and is not validated.
      preValidation: async (request) => {
        const items = (request.body as { items?: unknown } | null | undefined)?.items;
        if (Array.isArray(items) && items.length > batchMaxItems) {
          throw new ValidationError(
            'BATCH_TOO_LARGE',
            `a batch request holds at most ${batchMaxItems} items`,
            [
              {
                path: '/items',
                rule: 'maxItems',
                message: `must NOT have more than ${batchMaxItems} items`,
              },
            ],
          );
        }
      },
      schema: {
        tags,
        summary: 'Deposit many pieces of evidence',
        description:
          'Each item is validated and deposited on its own; the result list has one entry per item, ' +
          'in order: `{ index, status, digest, receipt }` or `{ index, error }`. With ' +
          '`receipts=none` a deposit is acknowledged as `{ index, status, digest, txId }` (still ' +
          'durable): the bulk depositor fetches a receipt when it needs one, from ' +
          '`GET /v1/evidence/{digest}/receipt`, which gives the same receipt byte for byte.',
        security: SECURITY,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            receipts: {
              type: 'string',
              enum: ['full', 'none'],
              description: '`full` (default): a receipt per deposit; `none`: acknowledgements only',
            },
          },
        },
        body: batchRequestSchema(batchMaxItems),
        response: { 200: schemaRef('batch-result'), ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const pending = service.depositMany(request.body.items, principalOf(request), {
        receipts: request.query.receipts !== 'none',
      });
      arrived(request);
      const results = await pending;
      request.auditDigests = results.flatMap((result) =>
        'digest' in result ? [result.digest] : [],
      );
      return { results };
    },
  );

  const readSchema = (summary: string, response: object) => ({
    tags,
    summary,
    security: SECURITY,
    params: digestParamsSchema,
    response: { 200: response, ...ERROR_RESPONSES },
  });

  app.get<{ Params: DigestParams }>(
    '/evidence/:digest',
    {
      onRequest: app.requireRoles(...KEY_ROLES),
      schema: readSchema(
        'Read the evidence record, attestations and annotations',
        schemaRef('evidence-state'),
      ),
    },
    async (request) => {
      const state = await service.read(request.params.digest, principalOf(request));
      if (!state)
        throw new StateError('EVIDENCE_NOT_FOUND', `${request.params.digest} is not on chain`);
      return state;
    },
  );

  app.get<{ Params: DigestParams }>(
    '/evidence/:digest/receipt',
    {
      onRequest: app.requireRoles(...KEY_ROLES),
      schema: readSchema(
        "The receipt of a digest: the caller's own deposit or attestation, else the first deposit",
        schemaRef('receipt'),
      ),
    },
    async (request) => {
      const receipt = await service.receipt(request.params.digest, principalOf(request));
      if (!receipt)
        throw new StateError('EVIDENCE_NOT_FOUND', `${request.params.digest} is not on chain`);
      return receipt;
    },
  );

  app.get<{ Params: { txId: string } }>(
    '/transactions/:txId/receipts',
    {
      onRequest: app.requireRoles(...DEPOSIT_ROLES),
      schema: {
        tags,
        summary: 'The receipts of a deposit transaction, as `?receipts=none` acknowledged it',
        description:
          'The receipts, in leaf order, of the records the caller deposited in the ' +
          'transaction (every record for a court or an admin): one request for what a ' +
          'batch acknowledged without receipts, instead of one per digest. 404 `NOT_FOUND` ' +
          'when there is no such deposit transaction or none of its records is the caller’s.',
        security: SECURITY,
        params: {
          type: 'object',
          additionalProperties: false,
          required: ['txId'],
          properties: { txId: { type: 'string', pattern: '^[0-9a-f]{64}$' } },
        },
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            required: ['txId', 'blockNumber', 'receipts'],
            properties: {
              txId: { type: 'string' },
              blockNumber: { type: 'integer', minimum: 0 },
              receipts: { type: 'array', maxItems: MAX_BATCH_RECORDS, items: schemaRef('receipt') },
            },
          },
          ...ERROR_RESPONSES,
        },
      },
    },
    async (request) => {
      const { txId } = request.params;
      const principal = principalOf(request);
      const found = await service.transactionReceipts(txId, principal, {
        all: ANY_DEPOSITOR_ROLES.includes(principal.role),
      });
      if (!found) throw new StateError('NOT_FOUND', `no deposit of yours in transaction ${txId}`);
      return found;
    },
  );

  app.get<{ Params: DigestParams }>(
    '/evidence/:digest/history',
    {
      onRequest: app.requireRoles(...KEY_ROLES),
      schema: readSchema('Every committed change of the evidence record', schemaRef('history')),
    },
    async (request) => {
      const entries = await service.history(request.params.digest, principalOf(request));
      if (!entries)
        throw new StateError('EVIDENCE_NOT_FOUND', `${request.params.digest} is not on chain`);
      return { digest: request.params.digest, entries };
    },
  );

  app.post<{ Params: DigestParams; Body: AnnotationInput }>(
    '/evidence/:digest/annotations',
    {
      onRequest: app.requireRoles(...ANNOTATE_ROLES),
      schema: {
        tags,
        summary: 'Annotate evidence (court hold, dispute, release, note); append-only',
        security: SECURITY,
        params: digestParamsSchema,
        body: schemaRef('annotation-input'),
        response: { 201: schemaRef('annotation'), ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const annotation = await service.annotate(
        request.params.digest,
        request.body,
        principalOf(request),
      );
      return reply.code(201).send(annotation);
    },
  );
};

export default evidenceRoutes;
