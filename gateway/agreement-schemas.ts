/**
 * Schemas of the agreement routes. Request bodies are built from core's agreement schemas and
 * patterns (core/agreement.ts), never restated; the chaincode validates the same arguments again.
 * Responses wrap core's state and history schemas (core/agreement-state-schema.ts), which have
 * `additionalProperties: false` everywhere: they are the leak guard, and Fastify serialises
 * exactly what they list.
 *
 * None of these carries an `$id`: they are used inline, in one encapsulated plugin.
 */

import {
  AGREEMENT_ACTIONS,
  AGREEMENT_ID_PATTERN,
  CASE_NUMBER_PATTERN,
  MAX_AMOUNT,
  MAX_INSTALMENTS,
  PARTY_NAME_PATTERN,
  PAYMENT_REFERENCE_PATTERN,
  SHA256_PATTERN,
  TERMINATION_REASONS,
  agreementTermsSchema,
  reopenNoteSchema,
} from '../core/agreement';
import {
  STATUS_SCHEMA,
  agreementHistoryEntrySchema,
  agreementStateSchema,
  withoutId,
} from '../core/agreement-state-schema';
import { DIGEST_PATTERN } from '../core/digest';

/** The terms as `POST /v1/agreements` takes them: core's schema, unchanged. */
export const termsBodySchema = withoutId(agreementTermsSchema);

export const agreementParamsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: { id: { type: 'string', pattern: AGREEMENT_ID_PATTERN } },
} as const;

export const partyQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    org: {
      type: 'string',
      pattern: PARTY_NAME_PATTERN,
      description: "The party's organisation. Only together with account: give both or neither.",
    },
    account: {
      type: 'string',
      pattern: PARTY_NAME_PATTERN,
      description: "The party's account. Only together with org: give both or neither.",
    },
  },
  dependencies: { org: ['account'], account: ['org'] },
} as const;

/** An object schema with exactly `properties`, all required: request bodies and responses. */
function exactly(properties: Record<string, object>) {
  return {
    type: 'object',
    additionalProperties: false,
    required: Object.keys(properties),
    properties,
  } as const;
}

export const signBodySchema = exactly({
  documentDigest: { type: 'string', pattern: SHA256_PATTERN },
});

export const caseNumberBodySchema = exactly({
  caseNumber: { type: 'string', pattern: CASE_NUMBER_PATTERN },
});

/** A payment: the chaincode's decimal-text arguments, as JSON integers. */
export const paymentBodySchema = exactly({
  instalmentIndex: { type: 'integer', minimum: 0, maximum: MAX_INSTALMENTS - 1 },
  amount: { type: 'integer', minimum: 1, maximum: MAX_AMOUNT },
  reference: { type: 'string', pattern: PAYMENT_REFERENCE_PATTERN },
});

export const reopenBodySchema = reopenNoteSchema;

export const terminateBodySchema = exactly({
  reason: { type: 'string', enum: [...TERMINATION_REASONS] },
});

/** Requests without a body: `{}` or nothing. */
export const emptyBodySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {},
} as const;

// ---------------------------------------------------------------------------------------------
// Responses

const TEXT = { type: 'string' } as const;
const TIME = { type: 'string', description: 'chain time, RFC 3339 UTC' } as const;
const INDEX = { type: 'integer', minimum: 0 } as const;
const AMOUNT = { type: 'integer', minimum: 0 } as const;
const STATUS = STATUS_SCHEMA;

/** A committed transition, as the event stream and the transition responses carry it. */
export const transitionSchema = exactly({
  agreementId: TEXT,
  from: { anyOf: [STATUS, { type: 'null' }] },
  to: STATUS,
  action: { type: 'string', enum: [...AGREEMENT_ACTIONS] },
  txId: TEXT,
  time: TIME,
  blockNumber: INDEX,
});

export const transitionedSchema = exactly({
  agreement: agreementStateSchema,
  transition: { anyOf: [transitionSchema, { type: 'null' }] },
});

export const agreementWithHistorySchema = exactly({
  agreement: agreementStateSchema,
  history: {
    type: 'array',
    description:
      'Every committed value of the agreement, oldest first, with the action that wrote it',
    items: {
      ...agreementHistoryEntrySchema,
      required: [...agreementHistoryEntrySchema.required, 'action'],
      properties: {
        ...agreementHistoryEntrySchema.properties,
        action: { type: 'string', enum: [...AGREEMENT_ACTIONS, 'delete'] },
      },
    },
  },
});

export const partyAgreementsSchema = exactly({
  org: TEXT,
  account: TEXT,
  agreements: {
    type: 'array',
    items: exactly({ agreementId: TEXT, status: STATUS, createdAt: TIME, updatedAt: TIME }),
  },
});

/** The enforcement application and the receipt of its deposit. */
export function applicationSchema(receipt: object) {
  return exactly({
    agreementId: TEXT,
    digests: { type: 'array', items: { type: 'string', pattern: DIGEST_PATTERN } },
    mediaType: TEXT,
    size: AMOUNT,
    document: {
      type: 'string',
      contentEncoding: 'base64',
      description: 'the deposited bytes (canonical JSON): decode to the file to verify',
    },
    text: { type: 'string', description: 'a rendering for people; not the evidence' },
    receipt,
  });
}

export function enforcedSchema(receipt: object) {
  return exactly({
    agreement: agreementStateSchema,
    transition: { anyOf: [transitionSchema, { type: 'null' }] },
    application: applicationSchema(receipt),
  });
}
