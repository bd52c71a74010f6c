/**
 * JSON Schemas of what the agreement contract stores and reads back: the state
 * (`AgreementState` in core/agreement.ts) and one entry of its key history. The gateway uses them
 * as response schemas (with `additionalProperties: false` everywhere they are its leak guard);
 * the CLI validates a gateway's answer with them before printing anything from it.
 */

import {
  AGREEMENT_STATUSES,
  INSTALMENT_STATUSES,
  REOPEN_REASONS,
  TERMINATION_REASONS,
  agreementTermsSchema,
} from './agreement';

/** A copy of `schema` without its `$id`, to embed it in more than one place. */
export function withoutId<T extends { $id?: string }>(schema: T): Omit<T, '$id'> {
  const { $id: _id, ...rest } = schema;
  return rest;
}

const TEXT = { type: 'string' } as const;
const TIME = { type: 'string', description: 'chain time, RFC 3339 UTC' } as const;
const INDEX = { type: 'integer', minimum: 0 } as const;
const AMOUNT = { type: 'integer', minimum: 0 } as const;
export const STATUS_SCHEMA = { type: 'string', enum: [...AGREEMENT_STATUSES] } as const;
const STATUS = STATUS_SCHEMA;

function object(properties: Record<string, object>, optional: readonly string[] = []) {
  return {
    type: 'object',
    additionalProperties: false,
    required: Object.keys(properties).filter((key) => !optional.includes(key)),
    properties,
  } as const;
}

const principalSchema = object({ org: TEXT, account: TEXT });

const paymentSchema = object({
  amount: AMOUNT,
  reference: TEXT,
  txId: TEXT,
  time: TIME,
  by: principalSchema,
  source: { type: 'string', enum: ['payment', 'creditor'] },
});

const instalmentStateSchema = object(
  {
    status: { type: 'string', enum: [...INSTALMENT_STATUSES] },
    paidAmount: AMOUNT,
    payments: { type: 'array', items: paymentSchema },
    settledAt: TIME,
  },
  ['settledAt'],
);

const enforcementSchema = object(
  {
    applicationDigest: TEXT,
    requestedBy: INDEX,
    requestedAt: TIME,
    requestTxId: TEXT,
    caseNumber: TEXT,
    filedBy: principalSchema,
    filedAt: TIME,
    filingTxId: TEXT,
  },
  ['caseNumber', 'filedBy', 'filedAt', 'filingTxId'],
);

/** AgreementState (core/agreement.ts). */
export const agreementStateSchema = object(
  {
    type: { type: 'string', enum: ['agreement'] },
    agreementId: TEXT,
    terms: withoutId(agreementTermsSchema),
    status: STATUS,
    createdBy: principalSchema,
    createdAt: TIME,
    updatedAt: TIME,
    updatedTxId: TEXT,
    signatures: { type: 'array', items: object({ party: INDEX, txId: TEXT, time: TIME }) },
    confirmation: object({ caseNumber: TEXT, by: principalSchema, txId: TEXT, time: TIME }),
    activatedAt: TIME,
    instalments: { type: 'array', items: instalmentStateSchema },
    default: object({ instalmentIndex: INDEX, since: TIME, detectedAt: TIME, txId: TEXT }),
    enforcement: enforcementSchema,
    reopenings: {
      type: 'array',
      items: object(
        {
          reason: { type: 'string', enum: [...REOPEN_REASONS] },
          documentDigest: TEXT,
          reference: TEXT,
          by: principalSchema,
          txId: TEXT,
          time: TIME,
        },
        ['documentDigest', 'reference'],
      ),
    },
    terminationRequests: {
      type: 'array',
      items: object({
        party: INDEX,
        reason: { type: 'string', enum: [...TERMINATION_REASONS] },
        txId: TEXT,
        time: TIME,
      }),
    },
    termination: object({
      by: { type: 'string', enum: ['court', 'parties'] },
      reason: { type: 'string', enum: [...TERMINATION_REASONS] },
      principal: principalSchema,
      txId: TEXT,
      time: TIME,
    }),
    completedAt: TIME,
  },
  ['confirmation', 'activatedAt', 'default', 'enforcement', 'termination', 'completedAt'],
);

/** One entry of `agreementHistory`. */
export const agreementHistoryEntrySchema = object({
  txId: TEXT,
  time: TIME,
  isDelete: { type: 'boolean' },
  value: { anyOf: [agreementStateSchema, { type: 'null' }] },
});
