/**
 * The evidence node's side of anchoring: the status of each anchor target (admin or auditor:
 * it names the targets and their failures, which is operational detail), the trust it pinned for
 * its targets (public: keys and names only), and the upgrade of a receipt with the stored anchor
 * proofs (any API key: the receipt itself is the credential, and nothing is revealed that the
 * receipt's holder could not verify).
 */

import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { ERROR_CODES, isEvidenceError, ValidationError } from '../../core/errors';
import { toFieldErrors } from '../../core/schema';
import { KEY_ROLES, type KeyRole } from '../auth/api-keys';
import type { Config } from '../config';
import { ERROR_RESPONSES, schemaRef } from '../schemas';
import { SECURITY } from './security';

/** Roles that may read the anchoring status. */
export const ANCHORING_STATUS_ROLES: readonly KeyRole[] = ['admin', 'auditor'];

/** A receipt with anchors can be large (one header per block to the anchor; CLI reads 8 MiB). */
export const UPGRADE_BODY_LIMIT = 8 * 1_048_576;

export interface AnchoringRoutesOptions {
  readonly config: Pick<Config, 'bodyLimit'>;
}

const NULLABLE_TIME = { type: ['string', 'null'] } as const;
const NULLABLE_INDEX = { type: ['integer', 'null'], minimum: 0 } as const;

export const anchoringStatusSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['sourceChainId', 'tipBlock', 'intervalMs', 'everyBlocks', 'targets'],
  properties: {
    sourceChainId: { type: 'string' },
    tipBlock: { type: 'integer', minimum: -1 },
    intervalMs: { type: 'integer' },
    everyBlocks: { type: 'integer' },
    targets: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: [
          'name',
          'kind',
          'targetChainId',
          'trustPinned',
          'lastAnchoredBlock',
          'lastAnchoredAt',
          'lastSuccessAt',
          'ageSeconds',
          'blocksBehind',
          'consecutiveFailures',
          'lastErrorCode',
          'lastErrorAt',
          'nextAttemptAt',
        ],
        properties: {
          name: { type: 'string' },
          kind: { type: 'string' },
          targetChainId: { type: ['string', 'null'] },
          trustPinned: { type: 'boolean' },
          lastAnchoredBlock: NULLABLE_INDEX,
          lastAnchoredAt: { ...NULLABLE_TIME, description: 'chain time on the target' },
          lastSuccessAt: { ...NULLABLE_TIME, description: "this node's clock" },
          ageSeconds: {
            ...NULLABLE_INDEX,
            description: 'seconds since the last anchor; grows while the chain is idle too',
          },
          blocksBehind: NULLABLE_INDEX,
          consecutiveFailures: { type: 'integer', minimum: 0 },
          lastErrorCode: { type: ['string', 'null'], enum: [...ERROR_CODES, null] },
          lastErrorAt: NULLABLE_TIME,
          nextAttemptAt: { ...NULLABLE_TIME, description: 'next retry while backing off' },
        },
      },
    },
  },
} as const;

const anchoringRoutes: FastifyPluginAsync<AnchoringRoutesOptions> = async (
  app: FastifyInstance,
  options,
) => {
  app.get(
    '/anchoring/status',
    {
      onRequest: app.requireRoles(...ANCHORING_STATUS_ROLES),
      schema: {
        tags: ['anchors'],
        summary: "Where this chain is anchored: each target's last anchor, age and failures",
        security: SECURITY,
        response: { 200: anchoringStatusSchema, ...ERROR_RESPONSES },
      },
    },
    async () => app.anchoring.status(),
  );

  app.get(
    '/anchoring/trust',
    {
      schema: {
        tags: ['anchors', 'public'],
        summary: 'What this node pinned for its anchor targets, as one trust file',
        description:
          'The chains this node anchors on and the time-stamp authorities that stamp its blocks, ' +
          'with the keys it checks their answers against: the public verification page adds them ' +
          "to this node's own trust file, so that upgraded receipts verify there. A court pins " +
          "each from its own source (`evidence trust fetch` on the court's node, `evidence trust " +
          "add-authority` from the authority's certificate), not from here.",
        response: { 200: schemaRef('trust-file'), ...ERROR_RESPONSES },
      },
    },
    async () => app.anchoring.targetsTrust(),
  );

  app.post<{ Body: unknown }>(
    '/receipts/upgrade',
    {
      onRequest: app.requireRoles(...KEY_ROLES),
      bodyLimit: Math.max(options.config.bodyLimit, UPGRADE_BODY_LIMIT),
      // A receipt that does not fit its schema is RECEIPT_MALFORMED, not VALIDATION_FAILED.
      attachValidation: true,
      schema: {
        tags: ['evidence'],
        summary: "Add anchor proofs to a receipt of this chain, from this node's stored anchors",
        description:
          "For every anchor target whose stored anchor covers the receipt's block (the earliest " +
          "at or above it), appends the anchor proof: this chain's headers up to the anchored " +
          "block and the anchor transaction's proof on the target. Each added proof is verified " +
          'first. 404 ANCHOR_PENDING when no anchor covers the block yet.',
        security: SECURITY,
        body: schemaRef('receipt'),
        response: { 200: schemaRef('receipt'), ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const invalid = request.validationError;
      if (invalid) {
        // The app's schemaErrorFormatter already made it our ValidationError with every field.
        const fields = isEvidenceError(invalid)
          ? invalid.fields
          : toFieldErrors(
              (invalid as { validation?: Parameters<typeof toFieldErrors>[0] }).validation,
            );
        throw new ValidationError('RECEIPT_MALFORMED', 'the receipt is malformed', fields);
      }
      const upgraded = await app.anchoring.upgrade(request.body);
      if (upgraded.added.length > 0) {
        request.log.info(
          { added: upgraded.added, pending: upgraded.pending },
          'receipt upgraded with anchors',
        );
      }
      return upgraded.receipt;
    },
  );
};

export default anchoringRoutes;
