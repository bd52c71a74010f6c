/**
 * Judicial smart contracts: mediation agreements whose performance is watched on chain
 * (DESIGN.md §4 "Agreement"; docs/agreements.md has the state diagram and the code table).
 *
 * This file is the whole domain: the terms a mediation produces, their JSON Schemas, the state kept
 * on chain, and {@link transition}, a pure function from (state, action, caller, transaction facts)
 * to the next state and its event, or to a coded refusal. The chaincode only parses arguments,
 * calls it and writes the result; time comes in as the transaction's timestamp, so every peer
 * computes the same bytes.
 *
 * Nothing personal goes on chain: parties appear as organisation + account + a salted commitment
 * to the real-name identity. Every string field is constrained to identifiers, digests, enums or
 * court case numbers, so a name, an ID-card number or a phone number cannot be written into one.
 */

import {
  AGREEMENT_CODES,
  AccessError,
  AgreementError,
  ValidationError,
  type EvidenceError,
  type FieldError,
} from './errors';
import { schemaErrors } from './schema';

// ---------------------------------------------------------------------------------------------
// Vocabulary

export const AGREEMENT_STATUSES = [
  'draft',
  'awaiting-confirmation',
  'active',
  'defaulted',
  'enforcement-requested',
  'enforcement-filed',
  'completed',
  'terminated',
] as const;
export type AgreementStatus = (typeof AGREEMENT_STATUSES)[number];

/** Statuses no transaction leaves (only `checkDue` is accepted there, and changes nothing). */
export const FINAL_STATUSES: readonly AgreementStatus[] = [
  'enforcement-filed',
  'completed',
  'terminated',
];

/**
 * Status of one instalment at chain time `t`, with dueTime `D`, grace `G` and the clock start `C`
 * (activation, or the last reopening of mediation):
 * `scheduled` / `partly-paid` while `t < D`; `due` from `D` until `max(D, C) + G` (late but within
 * grace); `overdue` after that (this defaults the agreement); `paid` / `paid-late` once fully paid
 * by / after `D`. Paid statuses are final.
 */
export const INSTALMENT_STATUSES = [
  'scheduled',
  'partly-paid',
  'due',
  'overdue',
  'paid',
  'paid-late',
] as const;
export type InstalmentStatus = (typeof INSTALMENT_STATUSES)[number];

export const PARTY_ROLES = ['creditor', 'debtor'] as const;
export type PartyRole = (typeof PARTY_ROLES)[number];

/** Why an agreement was terminated: a code, never free text. */
export const TERMINATION_REASONS = [
  'settled-off-chain',
  'withdrawn',
  'agreement-void',
  'court-order',
  'superseded',
  'other',
] as const;
export type TerminationReason = (typeof TERMINATION_REASONS)[number];

/** Why a court reopened mediation: a code, never free text. */
export const REOPEN_REASONS = [
  'payment-plan-revised',
  'dispute-resolved',
  'enforcement-withdrawn',
  'court-order',
  'other',
] as const;
export type ReopenReason = (typeof REOPEN_REASONS)[number];

/** Transaction names; an event's `action` is one of them. */
export const AGREEMENT_ACTIONS = [
  'create',
  'sign',
  'confirm',
  'recordPayment',
  'confirmPayment',
  'checkDue',
  'requestEnforcement',
  'acknowledgeFiling',
  'reopenMediation',
  'terminate',
] as const;
export type AgreementActionName = (typeof AGREEMENT_ACTIONS)[number];

/** Every code a transition can refuse with (a closed union; all are in core/errors.ts). */
export const AGREEMENT_REFUSAL_CODES = [
  ...AGREEMENT_CODES,
  'FORBIDDEN',
  'VALIDATION_FAILED',
] as const;
export type AgreementRefusalCode = (typeof AGREEMENT_REFUSAL_CODES)[number];

/** Roles (the `role` attribute) that may submit `checkDue` besides the parties. */
export const CHECK_DUE_ROLES: readonly string[] = ['gateway', 'admin', 'court'];
export const COURT_ROLE = 'court';
export const PAYMENT_ROLE = 'payment';

// ---------------------------------------------------------------------------------------------
// Patterns. Each admits identifiers, digests or case numbers only; none admits a person's name, an
// ID-card number or a phone number (identifiers start with an ASCII letter; `@` is excluded).

/** Client-chosen agreement id. Stricter than a bare `[A-Za-z0-9._:-]{1,64}`: starts with a letter. */
export const AGREEMENT_ID_PATTERN = '^[A-Za-z][A-Za-z0-9._:-]{0,63}$';
/** Organisation (MSP id) and account of a party or mediation body. No `@` (no e-mail addresses). */
export const PARTY_NAME_PATTERN = '^[A-Za-z][A-Za-z0-9._-]{0,127}$';
export const SHA256_PATTERN = '^sha256:[0-9a-f]{64}$';
/** ISO 4217 alphabetic code. */
export const CURRENCY_PATTERN = '^[A-Z]{3}$';
/** RFC 3339 in UTC (`Z`), seconds, optional milliseconds. Calendar validity is a rule on top. */
export const UTC_TIME_PATTERN =
  '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,3})?Z$';

/** Court codes: the supreme court, provincial abbreviations and the XPCC (兵团) courts. */
const COURT_CODE = '(?:最高法|[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼兵])';
/** Characters of case-type codes (民初, 民终, 民特, 执, 执恢, 民诉前调, 知民终...). */
const CASE_TYPE = '[民刑行执赔初终再特申诉前破督保恢异监审复议调确认撤他令催外商知财清算]{1,6}';
const CASE_NUMBER_BODY = `[(（〔][0-9]{4}[)）〕]${COURT_CODE}[0-9]{0,4}${CASE_TYPE}[0-9]{1,8}号`;
/**
 * A PRC court case number, e.g. `(2026)京0105民初1234号`, `（2026）京0105执12号`,
 * `(2021)最高法民终123号`. The only field shape that admits CJK, and only the characters of
 * court and case-type codes, so a name cannot be written into it.
 */
export const CASE_NUMBER_PATTERN = `^${CASE_NUMBER_BODY}$`;
const IDENTIFIER_BODY = '[A-Za-z][A-Za-z0-9._:/-]{0,127}';
/** A payment reference (bank or platform transaction id): an identifier starting with a letter. */
export const PAYMENT_REFERENCE_PATTERN = `^${IDENTIFIER_BODY}$`;
/** A mediation or court reference: a case number, or an identifier starting with a letter. */
export const REFERENCE_PATTERN = `^(?:${CASE_NUMBER_BODY}|${IDENTIFIER_BODY})$`;
const INSTALMENT_INDEX_PATTERN = '^(0|[1-9][0-9]{0,3})$';
/** A positive amount in minor units, as decimal text (at most 15 digits, so it is a safe integer). */
const AMOUNT_TEXT_PATTERN = '^[1-9][0-9]{0,14}$';

export const MAX_PARTIES = 32;
export const MAX_INSTALMENTS = 360;
export const MAX_AMOUNT = 999_999_999_999_999;
export const MAX_GRACE_SECONDS = 365 * 24 * 60 * 60;

// ---------------------------------------------------------------------------------------------
// Terms (what the parties sign) and their schema

export interface Party {
  readonly role: PartyRole;
  readonly org: string;
  readonly account: string;
  /** Salted commitment to the real-name identity; the salt stays with the party. */
  readonly identityCommitment: string;
}

export interface InstalmentTerms {
  /** Integer minor units (fen for CNY). */
  readonly amount: number;
  readonly currency: string;
  /** RFC 3339 UTC: the instalment falls due at this instant; paying by it is on time. */
  readonly dueTime: string;
}

export interface MediationBody {
  readonly org: string;
  readonly reference?: string;
}

export interface AgreementTerms {
  readonly agreementId: string;
  readonly parties: readonly Party[];
  /** In order of dueTime (non-decreasing). */
  readonly instalments: readonly InstalmentTerms[];
  readonly gracePeriodSeconds: number;
  /** sha256 of the signed agreement document (kept off chain). */
  readonly documentDigest: string;
  readonly mediationBody: MediationBody;
  readonly requiresCourtConfirmation: boolean;
}

const partyNameSchema = { type: 'string', pattern: PARTY_NAME_PATTERN } as const;
const sha256Schema = { type: 'string', pattern: SHA256_PATTERN } as const;
const agreementIdSchema = { type: 'string', pattern: AGREEMENT_ID_PATTERN } as const;
const caseNumberSchema = { type: 'string', pattern: CASE_NUMBER_PATTERN } as const;

/** JSON Schema of the terms `create` takes. */
export const agreementTermsSchema = {
  $id: 'agreement-terms',
  type: 'object',
  additionalProperties: false,
  required: [
    'agreementId',
    'parties',
    'instalments',
    'gracePeriodSeconds',
    'documentDigest',
    'mediationBody',
    'requiresCourtConfirmation',
  ],
  properties: {
    agreementId: agreementIdSchema,
    parties: {
      type: 'array',
      minItems: 2,
      maxItems: MAX_PARTIES,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['role', 'org', 'account', 'identityCommitment'],
        properties: {
          role: { type: 'string', enum: [...PARTY_ROLES] },
          org: partyNameSchema,
          account: partyNameSchema,
          identityCommitment: sha256Schema,
        },
      },
    },
    instalments: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_INSTALMENTS,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['amount', 'currency', 'dueTime'],
        properties: {
          amount: { type: 'integer', minimum: 1, maximum: MAX_AMOUNT },
          currency: { type: 'string', pattern: CURRENCY_PATTERN },
          dueTime: {
            type: 'string',
            pattern: UTC_TIME_PATTERN,
            description:
              'A real instant in UTC: RFC 3339 with Z, optional milliseconds (e.g. ' +
              '2027-01-31T00:00:00Z). A date or time that does not exist (2026-02-30, 24:00:00, ' +
              'a leap second :60, 0000-00-00T00:00:00Z) is refused with rule dateTime. Later ' +
              'than the creating transaction (dueTimeFuture), not earlier than the previous ' +
              "instalment's (dueTimeOrder).",
          },
        },
      },
    },
    gracePeriodSeconds: { type: 'integer', minimum: 0, maximum: MAX_GRACE_SECONDS },
    documentDigest: sha256Schema,
    mediationBody: {
      type: 'object',
      additionalProperties: false,
      required: ['org'],
      properties: {
        org: partyNameSchema,
        reference: { type: 'string', pattern: REFERENCE_PATTERN },
      },
    },
    requiresCourtConfirmation: { type: 'boolean' },
  },
} as const;

/** JSON Schema of the note `reopenMediation` takes. */
export const reopenNoteSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['reason'],
  properties: {
    reason: { type: 'string', enum: [...REOPEN_REASONS] },
    /** Digest of the court's decision or the revised arrangement (kept off chain). */
    documentDigest: sha256Schema,
    reference: { type: 'string', pattern: REFERENCE_PATTERN },
  },
} as const;

export interface ReopenNote {
  readonly reason: ReopenReason;
  readonly documentDigest?: string;
  readonly reference?: string;
}

// ---------------------------------------------------------------------------------------------
// State kept on chain under `agreement:<agreementId>`

/** An organisation + account, as the client identity shows it. */
export interface Principal {
  readonly org: string;
  readonly account: string;
}

export interface Payment {
  readonly amount: number;
  readonly reference: string;
  readonly txId: string;
  readonly time: string;
  readonly by: Principal;
  /** `payment`: recorded by a bank or payment platform; `creditor`: confirmed by the creditor. */
  readonly source: 'payment' | 'creditor';
}

export interface InstalmentState {
  readonly status: InstalmentStatus;
  readonly paidAmount: number;
  readonly payments: readonly Payment[];
  /** Chain time of the payment that completed it. */
  readonly settledAt?: string;
}

export interface Signature {
  /** Index into `terms.parties`. */
  readonly party: number;
  readonly txId: string;
  readonly time: string;
}

export interface Confirmation {
  /** The court's confirmation ruling, e.g. `(2026)京0105民特12号`. */
  readonly caseNumber: string;
  readonly by: Principal;
  readonly txId: string;
  readonly time: string;
}

export interface DefaultFacts {
  /** The first instalment overdue beyond grace. */
  readonly instalmentIndex: number;
  /** When its grace period ended: `max(dueTime, clock start) + gracePeriodSeconds`. */
  readonly since: string;
  /** Chain time of the transaction that observed it. */
  readonly detectedAt: string;
  readonly txId: string;
}

export interface Enforcement {
  /** sha256 of the enforcement application document (also deposited as evidence). */
  readonly applicationDigest: string;
  /** Index into `terms.parties` of the creditor who requested it. */
  readonly requestedBy: number;
  readonly requestedAt: string;
  readonly requestTxId: string;
  readonly caseNumber?: string;
  readonly filedBy?: Principal;
  readonly filedAt?: string;
  readonly filingTxId?: string;
}

export interface Reopening extends ReopenNote {
  readonly by: Principal;
  readonly txId: string;
  readonly time: string;
}

export interface TerminationRequest {
  readonly party: number;
  readonly reason: TerminationReason;
  readonly txId: string;
  readonly time: string;
}

export interface Termination {
  /** `court`: by a court alone; `parties`: the last of all parties' requests. */
  readonly by: 'court' | 'parties';
  readonly reason: TerminationReason;
  readonly principal: Principal;
  readonly txId: string;
  readonly time: string;
}

/** The world-state value of one agreement. Its history is the key's history, not a field. */
export interface AgreementState {
  readonly type: 'agreement';
  readonly agreementId: string;
  readonly terms: AgreementTerms;
  readonly status: AgreementStatus;
  readonly createdBy: Principal;
  readonly createdAt: string;
  /** Chain time and transaction of the last change. */
  readonly updatedAt: string;
  readonly updatedTxId: string;
  readonly signatures: readonly Signature[];
  readonly confirmation?: Confirmation;
  readonly activatedAt?: string;
  /** Parallel to `terms.instalments`. */
  readonly instalments: readonly InstalmentState[];
  readonly default?: DefaultFacts;
  readonly enforcement?: Enforcement;
  readonly reopenings: readonly Reopening[];
  readonly terminationRequests: readonly TerminationRequest[];
  readonly termination?: Termination;
  readonly completedAt?: string;
}

/** Payload of the `AgreementTransition` event every state change sets. */
export interface TransitionEvent {
  readonly agreementId: string;
  /** `null` for `create`. */
  readonly from: AgreementStatus | null;
  readonly to: AgreementStatus;
  readonly action: AgreementActionName;
  readonly txId: string;
}

/** One entry of an agreement's key history. */
export interface AgreementHistoryEntry {
  readonly txId: string;
  readonly time: string;
  readonly isDelete: boolean;
  readonly value: AgreementState | null;
}

export const AGREEMENT_EVENT = 'AgreementTransition';

/** World-state key of an agreement. Requires an id matching {@link AGREEMENT_ID_PATTERN}. */
export function agreementKey(agreementId: string): string {
  return `agreement:${agreementId}`;
}

/**
 * World-state key of a party's index (a JSON array of agreement ids, oldest first). Org and
 * account cannot contain `:`, so the key is unambiguous.
 */
export function partyIndexKey(org: string, account: string): string {
  return `agreement-party:${org}:${account}`;
}

/** The index with `agreementId` appended once. */
export function addToPartyIndex(
  index: readonly string[] | undefined,
  agreementId: string,
): string[] {
  const ids = [...(index ?? [])];
  if (!ids.includes(agreementId)) ids.push(agreementId);
  return ids;
}

// ---------------------------------------------------------------------------------------------
// Actions: the transaction arguments, as the chaincode receives them (strings, JSON parsed)

export type AgreementAction =
  | { readonly kind: 'create'; readonly terms: unknown }
  | { readonly kind: 'sign'; readonly agreementId: string; readonly documentDigest: string }
  | { readonly kind: 'confirm'; readonly agreementId: string; readonly caseNumber: string }
  | {
      readonly kind: 'recordPayment' | 'confirmPayment';
      readonly agreementId: string;
      readonly instalmentIndex: string;
      readonly amount: string;
      readonly reference: string;
    }
  | { readonly kind: 'checkDue'; readonly agreementId: string }
  | {
      readonly kind: 'requestEnforcement';
      readonly agreementId: string;
      readonly applicationDigest: string;
    }
  | {
      readonly kind: 'acknowledgeFiling';
      readonly agreementId: string;
      readonly caseNumber: string;
    }
  | { readonly kind: 'reopenMediation'; readonly agreementId: string; readonly note: unknown }
  | { readonly kind: 'terminate'; readonly agreementId: string; readonly reason: string };

function argsSchema(properties: Record<string, object>) {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['kind', ...Object.keys(properties)],
    properties: { kind: { type: 'string' }, agreementId: agreementIdSchema, ...properties },
  };
}

const paymentArgsSchema = argsSchema({
  instalmentIndex: { type: 'string', pattern: INSTALMENT_INDEX_PATTERN },
  amount: { type: 'string', pattern: AMOUNT_TEXT_PATTERN },
  reference: { type: 'string', pattern: PAYMENT_REFERENCE_PATTERN },
});

/** Schemas of every action but `create`; pointers name the transaction's arguments. */
const ACTION_SCHEMAS: Readonly<Record<Exclude<AgreementActionName, 'create'>, object>> = {
  sign: argsSchema({ documentDigest: sha256Schema }),
  confirm: argsSchema({ caseNumber: caseNumberSchema }),
  recordPayment: paymentArgsSchema,
  confirmPayment: paymentArgsSchema,
  checkDue: argsSchema({}),
  requestEnforcement: argsSchema({ applicationDigest: sha256Schema }),
  acknowledgeFiling: argsSchema({ caseNumber: caseNumberSchema }),
  reopenMediation: argsSchema({ note: reopenNoteSchema }),
  terminate: argsSchema({ reason: { type: 'string', enum: [...TERMINATION_REASONS] } }),
};

/** The caller as contracts see it: the client identity's organisation, account and role. */
export interface AgreementCaller {
  readonly org: string;
  readonly account: string;
  readonly role: string;
}

/** What the transaction contributes: its id and its timestamp (RFC 3339 UTC). */
export interface TxFacts {
  readonly txId: string;
  readonly time: string;
}

export interface Refusal {
  readonly code: AgreementRefusalCode;
  readonly message: string;
  readonly fields?: readonly FieldError[];
}

/**
 * The result of a transition. `event` is `undefined` when nothing changed (an idempotent
 * `checkDue` or a replayed payment): the caller then writes nothing and sets no event.
 */
export type Outcome =
  | {
      readonly ok: true;
      readonly state: AgreementState;
      readonly event: TransitionEvent | undefined;
    }
  | { readonly ok: false; readonly refusal: Refusal };

// ---------------------------------------------------------------------------------------------
// Validation

/**
 * Parses RFC 3339 UTC text to epoch milliseconds; `undefined` when it is not a real instant
 * (2026-02-30, 24:00:00, leap second 60, years before 100).
 */
export function parseUtcTime(text: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?Z$/.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(
    Number,
  ) as [number, number, number, number, number, number];
  const millis = Number((m[7] ?? '').padEnd(3, '0'));
  const t = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  const back = new Date(t);
  const same =
    back.getUTCFullYear() === year &&
    back.getUTCMonth() === month - 1 &&
    back.getUTCDate() === day &&
    back.getUTCHours() === hour &&
    back.getUTCMinutes() === minute &&
    back.getUTCSeconds() === second;
  return same ? t : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Rules beyond the schema: at least one creditor and one debtor, no party twice, due times real,
 * after the creating transaction and in order. Applied wherever the value is shaped enough to
 * judge, so one answer lists every problem.
 */
function termsRuleErrors(
  value: unknown,
  now: number,
  schemaFound: readonly FieldError[],
): FieldError[] {
  if (!isRecord(value)) return [];
  const reported = (path: string) =>
    schemaFound.some((e) => e.path === path || e.path.startsWith(`${path}/`));
  const errors: FieldError[] = [];
  if (Array.isArray(value.parties)) {
    const seen = new Map<string, number>();
    const roles = new Set<unknown>();
    value.parties.forEach((party: unknown, index) => {
      if (!isRecord(party)) return;
      roles.add(party.role);
      if (typeof party.org !== 'string' || typeof party.account !== 'string') return;
      const key = `${party.org}\n${party.account}`;
      const first = seen.get(key);
      if (first === undefined) seen.set(key, index);
      else
        errors.push({
          path: `/parties/${index}`,
          rule: 'partyUnique',
          message: `same org and account as party ${first}`,
        });
    });
    if (!reported('/parties')) {
      for (const role of PARTY_ROLES) {
        if (!roles.has(role))
          errors.push({ path: '/parties', rule: 'partyRoles', message: `needs a ${role}` });
      }
    }
  }
  if (Array.isArray(value.instalments)) {
    let previous = -Infinity;
    value.instalments.forEach((instalment: unknown, index) => {
      const path = `/instalments/${index}/dueTime`;
      if (!isRecord(instalment) || typeof instalment.dueTime !== 'string' || reported(path)) return;
      const due = parseUtcTime(instalment.dueTime);
      if (due === undefined) {
        errors.push({ path, rule: 'dateTime', message: 'not a real instant' });
      } else if (due <= now) {
        errors.push({
          path,
          rule: 'dueTimeFuture',
          message: 'must be after the creating transaction',
        });
      } else if (due < previous) {
        errors.push({
          path,
          rule: 'dueTimeOrder',
          message: 'must not be earlier than the previous instalment',
        });
      }
      if (due !== undefined) previous = Math.max(previous, due);
    });
  }
  return errors;
}

/** Every problem with `terms` (schema and rules) when created at epoch milliseconds `now`. */
export function agreementTermsErrors(terms: unknown, now: number): FieldError[] {
  const found = schemaErrors(agreementTermsSchema, terms);
  return [...found, ...termsRuleErrors(terms, now, found)];
}

/**
 * Every problem with an action's arguments. Pointers for `create` point into the terms (its one
 * argument); for the other actions they name the argument (`/agreementId`, `/note/reason`).
 */
export function actionErrors(action: AgreementAction, now: number): FieldError[] {
  if (action.kind === 'create') return agreementTermsErrors(action.terms, now);
  const schema = ACTION_SCHEMAS[action.kind] as object | undefined;
  if (!schema) return [{ path: '/kind', rule: 'enum', message: 'unknown action' }];
  return schemaErrors(schema, action);
}

/** The agreement id of create's terms, when it is a well-formed one (the chaincode reads that key). */
export function agreementIdOf(terms: unknown): string | undefined {
  const id = isRecord(terms) ? terms.agreementId : undefined;
  return isAgreementId(id) ? id : undefined;
}

const AGREEMENT_ID_RE = new RegExp(AGREEMENT_ID_PATTERN);

export function isAgreementId(value: unknown): value is string {
  return typeof value === 'string' && AGREEMENT_ID_RE.test(value);
}

/** Problems with a party's org and account as arguments of a query. */
export function partyArgErrors(org: unknown, account: unknown): FieldError[] {
  return schemaErrors(partyArgsSchema, { org, account });
}

const partyArgsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['org', 'account'],
  properties: { org: partyNameSchema, account: partyNameSchema },
} as const;

/** The error a refusal becomes when it leaves the chaincode (`CODE: message [fields]`). */
export function refusalError(refusal: Refusal): EvidenceError {
  if (refusal.code === 'VALIDATION_FAILED') {
    return new ValidationError('VALIDATION_FAILED', refusal.message, refusal.fields);
  }
  if (refusal.code === 'FORBIDDEN') return new AccessError('FORBIDDEN', refusal.message);
  return new AgreementError(refusal.code, refusal.message);
}

// ---------------------------------------------------------------------------------------------
// The state machine

function refuse(
  code: AgreementRefusalCode,
  message: string,
  fields?: readonly FieldError[],
): Outcome {
  return { ok: false, refusal: fields ? { code, message, fields } : { code, message } };
}

function invalid(state: AgreementState, action: AgreementActionName): Outcome {
  return refuse('INVALID_TRANSITION', `${action} is not possible in status ${state.status}`);
}

function partyIndexOf(terms: AgreementTerms, caller: AgreementCaller): number {
  return terms.parties.findIndex((p) => p.org === caller.org && p.account === caller.account);
}

function principalOf(caller: AgreementCaller): Principal {
  return { org: caller.org, account: caller.account };
}

function isFinal(status: AgreementStatus): boolean {
  return FINAL_STATUSES.includes(status);
}

/** The instant the grace clock started: the last reopening of mediation, else activation. */
function clockStart(state: AgreementState): number {
  const last = state.reopenings[state.reopenings.length - 1];
  const start = last?.time ?? state.activatedAt;
  return start === undefined ? -Infinity : (parseUtcTime(start) ?? -Infinity);
}

/** When instalment `index`'s grace ends (epoch ms); past it, unpaid, it is overdue. */
function graceEnd(state: AgreementState, index: number): number {
  const due = parseUtcTime(state.terms.instalments[index]!.dueTime)!;
  return Math.max(due, clockStart(state)) + state.terms.gracePeriodSeconds * 1000;
}

/** Instalment statuses at `now`. Paid instalments keep theirs. */
function instalmentsAt(state: AgreementState, now: number): InstalmentState[] {
  return state.instalments.map((instalment, index) => {
    if (instalment.status === 'paid' || instalment.status === 'paid-late') return instalment;
    const due = parseUtcTime(state.terms.instalments[index]!.dueTime)!;
    let status: InstalmentStatus;
    if (now < due) status = instalment.paidAmount > 0 ? 'partly-paid' : 'scheduled';
    else status = now > graceEnd(state, index) ? 'overdue' : 'due';
    return status === instalment.status ? instalment : { ...instalment, status };
  });
}

/** Statuses in which chain time still changes something (instalment statuses, the default). */
export const TIMED_STATUSES: readonly AgreementStatus[] = [
  'active',
  'defaulted',
  'enforcement-requested',
];

/**
 * The earliest instant (epoch milliseconds) from which `checkDue` changes `state`: an unpaid
 * instalment falls due (`t >= D`) or its grace ends (`t > max(D, C) + G`, so one millisecond
 * past it). `undefined` when chain time alone will never change it (not yet active, final, or
 * every instalment paid or overdue). The instant may be in the past when `state` is stale; a
 * scheduler then checks at once. Pure.
 */
export function nextDueCheck(state: AgreementState): number | undefined {
  if (!TIMED_STATUSES.includes(state.status)) return undefined;
  let next: number | undefined;
  state.instalments.forEach((instalment, index) => {
    let at: number | undefined;
    if (instalment.status === 'scheduled' || instalment.status === 'partly-paid') {
      at = parseUtcTime(state.terms.instalments[index]!.dueTime)!;
    } else if (instalment.status === 'due') {
      at = graceEnd(state, index) + 1;
    }
    if (at !== undefined && (next === undefined || at < next)) next = at;
  });
  return next;
}

/**
 * Applies chain time to a post-activation state: instalment statuses, and for an active agreement
 * the default (the first instalment overdue beyond grace). Does not touch updatedAt.
 */
function applyTime(state: AgreementState, tx: TxFacts): AgreementState {
  if (!['active', 'defaulted', 'enforcement-requested'].includes(state.status)) return state;
  const now = parseUtcTime(tx.time)!;
  const instalments = instalmentsAt(state, now);
  const changed = instalments.some((instalment, index) => instalment !== state.instalments[index]);
  let next: AgreementState = changed ? { ...state, instalments } : state;
  if (state.status === 'active') {
    const overdue = instalments.findIndex((instalment) => instalment.status === 'overdue');
    if (overdue >= 0) {
      const facts: DefaultFacts = {
        instalmentIndex: overdue,
        since: new Date(graceEnd(state, overdue)).toISOString(),
        detectedAt: tx.time,
        txId: tx.txId,
      };
      next = { ...next, status: 'defaulted', default: facts };
    }
  }
  return next;
}

function activate(state: AgreementState, tx: TxFacts): AgreementState {
  const active: AgreementState = { ...state, status: 'active', activatedAt: tx.time };
  return { ...active, instalments: instalmentsAt(active, parseUtcTime(tx.time)!) };
}

function changedTo(
  before: AgreementState | undefined,
  after: AgreementState,
  action: AgreementActionName,
  tx: TxFacts,
): Outcome {
  const state: AgreementState = { ...after, updatedAt: tx.time, updatedTxId: tx.txId };
  const event: TransitionEvent = {
    agreementId: state.agreementId,
    from: before ? before.status : null,
    to: state.status,
    action,
    txId: tx.txId,
  };
  return { ok: true, state, event };
}

function unchanged(state: AgreementState): Outcome {
  return { ok: true, state, event: undefined };
}

/**
 * The state machine. Checks run in a fixed order, so each refusal has one code:
 * arguments (`VALIDATION_FAILED`, every bad field) -> existence (`AGREEMENT_EXISTS`,
 * `AGREEMENT_NOT_FOUND`) -> who (`FORBIDDEN`, `NOT_A_PARTY`) -> status (`INVALID_TRANSITION`) ->
 * the action's own rules.
 *
 * Requires `state` to be what an earlier transition produced and `tx.time` to be RFC 3339 UTC.
 * Pure and deterministic: the same arguments give the same result, byte for byte once encoded.
 */
export function transition(
  state: AgreementState | undefined,
  action: AgreementAction,
  caller: AgreementCaller,
  tx: TxFacts,
): Outcome {
  const now = parseUtcTime(tx.time);
  if (now === undefined) throw new RangeError(`transaction time ${tx.time} is not RFC 3339 UTC`);
  const fields = actionErrors(action, now);
  if (fields.length > 0) {
    return refuse(
      'VALIDATION_FAILED',
      `${action.kind} arguments are invalid (${fields.length} problem${fields.length > 1 ? 's' : ''})`,
      fields,
    );
  }
  if (action.kind === 'create') {
    const terms = action.terms as AgreementTerms;
    if (state) return refuse('AGREEMENT_EXISTS', `agreement ${terms.agreementId} exists`);
    return create(terms, caller, tx);
  }
  if (!state) return refuse('AGREEMENT_NOT_FOUND', `no agreement ${action.agreementId}`);
  switch (action.kind) {
    case 'sign':
      return sign(state, action.documentDigest, caller, tx);
    case 'confirm':
      return confirm(state, action.caseNumber, caller, tx);
    case 'recordPayment':
    case 'confirmPayment':
      return pay(state, action, caller, tx);
    case 'checkDue':
      return checkDue(state, caller, tx);
    case 'requestEnforcement':
      return requestEnforcement(state, action.applicationDigest, caller, tx);
    case 'acknowledgeFiling':
      return acknowledgeFiling(state, action.caseNumber, caller, tx);
    case 'reopenMediation':
      return reopenMediation(state, action.note as ReopenNote, caller, tx);
    case 'terminate':
      return terminate(state, action.reason as TerminationReason, caller, tx);
  }
}

/** Throwing form of {@link transition}. @throws the refusal as an EvidenceError. */
export function transitionOrThrow(
  state: AgreementState | undefined,
  action: AgreementAction,
  caller: AgreementCaller,
  tx: TxFacts,
): { state: AgreementState; event: TransitionEvent | undefined } {
  const outcome = transition(state, action, caller, tx);
  if (!outcome.ok) throw refusalError(outcome.refusal);
  return { state: outcome.state, event: outcome.event };
}

/** Drafts may be created by a party, a court, or the mediation body's own organisation. */
function create(terms: AgreementTerms, caller: AgreementCaller, tx: TxFacts): Outcome {
  const allowed =
    partyIndexOf(terms, caller) >= 0 ||
    caller.role === COURT_ROLE ||
    caller.org === terms.mediationBody.org;
  if (!allowed) {
    return refuse('FORBIDDEN', 'create needs a party, the mediation body or role court');
  }
  const state: AgreementState = {
    type: 'agreement',
    agreementId: terms.agreementId,
    terms,
    status: 'draft',
    createdBy: principalOf(caller),
    createdAt: tx.time,
    updatedAt: tx.time,
    updatedTxId: tx.txId,
    signatures: [],
    instalments: terms.instalments.map(() => ({
      status: 'scheduled',
      paidAmount: 0,
      payments: [],
    })),
    reopenings: [],
    terminationRequests: [],
  };
  return changedTo(undefined, state, 'create', tx);
}

/** Each party signs once, confirming the digest of the document it signed. */
function sign(
  state: AgreementState,
  documentDigest: string,
  caller: AgreementCaller,
  tx: TxFacts,
): Outcome {
  const party = partyIndexOf(state.terms, caller);
  if (party < 0) return refuse('NOT_A_PARTY', `${caller.org}/${caller.account} is not a party`);
  if (state.status !== 'draft') return invalid(state, 'sign');
  if (state.signatures.some((s) => s.party === party))
    return refuse('ALREADY_SIGNED', `party ${party} has signed`);
  if (documentDigest !== state.terms.documentDigest) {
    return refuse('DOCUMENT_MISMATCH', 'the signed document is not the one the terms name');
  }
  const signatures = [...state.signatures, { party, txId: tx.txId, time: tx.time }];
  let next: AgreementState = { ...state, signatures };
  if (signatures.length === state.terms.parties.length) {
    next = state.terms.requiresCourtConfirmation
      ? { ...next, status: 'awaiting-confirmation' }
      : activate(next, tx);
  }
  return changedTo(state, next, 'sign', tx);
}

/** A court confirms the agreement (judicial confirmation, 司法确认). */
function confirm(
  state: AgreementState,
  caseNumber: string,
  caller: AgreementCaller,
  tx: TxFacts,
): Outcome {
  if (caller.role !== COURT_ROLE) return refuse('FORBIDDEN', 'confirm needs role court');
  if (state.status !== 'awaiting-confirmation') return invalid(state, 'confirm');
  const confirmation: Confirmation = {
    caseNumber,
    by: principalOf(caller),
    txId: tx.txId,
    time: tx.time,
  };
  return changedTo(state, activate({ ...state, confirmation }, tx), 'confirm', tx);
}

/**
 * A payment: recorded by role `payment`, or confirmed by a creditor party. A reference already
 * recorded for the same instalment and amount is a replay and changes nothing; for anything else
 * it is a conflict. Late payments are accepted while chain time has not defaulted the agreement.
 */
function pay(
  state: AgreementState,
  action: Extract<AgreementAction, { kind: 'recordPayment' | 'confirmPayment' }>,
  caller: AgreementCaller,
  tx: TxFacts,
): Outcome {
  if (action.kind === 'recordPayment') {
    if (caller.role !== PAYMENT_ROLE)
      return refuse('FORBIDDEN', 'recordPayment needs role payment');
  } else {
    const party = partyIndexOf(state.terms, caller);
    if (party < 0) return refuse('NOT_A_PARTY', `${caller.org}/${caller.account} is not a party`);
    if (state.terms.parties[party]!.role !== 'creditor') {
      return refuse('FORBIDDEN', 'confirmPayment needs a creditor party');
    }
  }
  const index = Number(action.instalmentIndex);
  const amount = Number(action.amount);
  for (const [i, instalment] of state.instalments.entries()) {
    const earlier = instalment.payments.find((p) => p.reference === action.reference);
    if (!earlier) continue;
    if (i === index && earlier.amount === amount) return unchanged(state);
    return refuse(
      'PAYMENT_REFERENCE_CONFLICT',
      `reference ${action.reference} is recorded for instalment ${i}`,
    );
  }
  if (state.status !== 'active') return invalid(state, action.kind);
  const timed = applyTime(state, tx);
  if (timed.status === 'defaulted') {
    return refuse(
      'INVALID_TRANSITION',
      `instalment ${timed.default!.instalmentIndex} has been overdue beyond grace since ${timed.default!.since}: the agreement has defaulted`,
    );
  }
  const current = timed.instalments[index];
  const terms = state.terms.instalments[index];
  if (!current || !terms) return refuse('INSTALMENT_NOT_FOUND', `no instalment ${index}`);
  const remaining = terms.amount - current.paidAmount;
  if (amount > remaining)
    return refuse('OVERPAYMENT', `instalment ${index} has ${remaining} left to pay`);
  const payment: Payment = {
    amount,
    reference: action.reference,
    txId: tx.txId,
    time: tx.time,
    by: principalOf(caller),
    source: action.kind === 'recordPayment' ? 'payment' : 'creditor',
  };
  const paidAmount = current.paidAmount + amount;
  const now = parseUtcTime(tx.time)!;
  let status = current.status;
  if (paidAmount === terms.amount)
    status = now <= parseUtcTime(terms.dueTime)! ? 'paid' : 'paid-late';
  else if (status === 'scheduled') status = 'partly-paid';
  const settled: InstalmentState = {
    status,
    paidAmount,
    payments: [...current.payments, payment],
    ...(paidAmount === terms.amount ? { settledAt: tx.time } : {}),
  };
  const instalments = timed.instalments.map((instalment, i) =>
    i === index ? settled : instalment,
  );
  const complete = instalments.every((i) => i.status === 'paid' || i.status === 'paid-late');
  const next: AgreementState = complete
    ? { ...timed, instalments, status: 'completed', completedAt: tx.time }
    : { ...timed, instalments };
  return changedTo(state, next, action.kind, tx);
}

/** Applies chain time. Accepted in every status; changes nothing outside active and default. */
function checkDue(state: AgreementState, caller: AgreementCaller, tx: TxFacts): Outcome {
  if (!CHECK_DUE_ROLES.includes(caller.role) && partyIndexOf(state.terms, caller) < 0) {
    return refuse('FORBIDDEN', `checkDue needs role ${CHECK_DUE_ROLES.join(', ')} or a party`);
  }
  const next = applyTime(state, tx);
  return next === state ? unchanged(state) : changedTo(state, next, 'checkDue', tx);
}

function creditorIndex(
  state: AgreementState,
  caller: AgreementCaller,
  action: string,
): number | Outcome {
  const party = partyIndexOf(state.terms, caller);
  if (party < 0) return refuse('NOT_A_PARTY', `${caller.org}/${caller.account} is not a party`);
  if (state.terms.parties[party]!.role !== 'creditor')
    return refuse('FORBIDDEN', `${action} needs a creditor party`);
  return party;
}

/** A creditor asks for enforcement of a defaulted agreement, naming the application's digest. */
function requestEnforcement(
  state: AgreementState,
  applicationDigest: string,
  caller: AgreementCaller,
  tx: TxFacts,
): Outcome {
  const party = creditorIndex(state, caller, 'requestEnforcement');
  if (typeof party !== 'number') return party;
  if (state.status !== 'defaulted') return invalid(state, 'requestEnforcement');
  const enforcement: Enforcement = {
    applicationDigest,
    requestedBy: party,
    requestedAt: tx.time,
    requestTxId: tx.txId,
  };
  return changedTo(
    state,
    { ...state, status: 'enforcement-requested', enforcement },
    'requestEnforcement',
    tx,
  );
}

/** A court acknowledges that the enforcement case was filed under `caseNumber`. */
function acknowledgeFiling(
  state: AgreementState,
  caseNumber: string,
  caller: AgreementCaller,
  tx: TxFacts,
): Outcome {
  if (caller.role !== COURT_ROLE) return refuse('FORBIDDEN', 'acknowledgeFiling needs role court');
  if (state.status !== 'enforcement-requested') return invalid(state, 'acknowledgeFiling');
  const enforcement: Enforcement = {
    ...state.enforcement!,
    caseNumber,
    filedBy: principalOf(caller),
    filedAt: tx.time,
    filingTxId: tx.txId,
  };
  return changedTo(
    state,
    { ...state, status: 'enforcement-filed', enforcement },
    'acknowledgeFiling',
    tx,
  );
}

/**
 * A court sends a defaulted agreement back to mediation: active again, default and enforcement
 * cleared (both stay in the key's history), and the grace clock restarts now.
 */
function reopenMediation(
  state: AgreementState,
  note: ReopenNote,
  caller: AgreementCaller,
  tx: TxFacts,
): Outcome {
  if (caller.role !== COURT_ROLE) return refuse('FORBIDDEN', 'reopenMediation needs role court');
  if (state.status !== 'defaulted' && state.status !== 'enforcement-requested') {
    return invalid(state, 'reopenMediation');
  }
  const reopening: Reopening = { ...note, by: principalOf(caller), txId: tx.txId, time: tx.time };
  const { default: _cleared, enforcement: _withdrawn, ...rest } = state;
  const reopened: AgreementState = {
    ...rest,
    status: 'active',
    reopenings: [...state.reopenings, reopening],
  };
  const next = { ...reopened, instalments: instalmentsAt(reopened, parseUtcTime(tx.time)!) };
  return changedTo(state, next, 'reopenMediation', tx);
}

/** A court terminates at once; parties terminate when every one of them has asked to. */
function terminate(
  state: AgreementState,
  reason: TerminationReason,
  caller: AgreementCaller,
  tx: TxFacts,
): Outcome {
  const party = partyIndexOf(state.terms, caller);
  if (caller.role !== COURT_ROLE && party < 0)
    return refuse('FORBIDDEN', 'terminate needs role court or a party');
  if (isFinal(state.status)) return invalid(state, 'terminate');
  const termination: Termination = {
    by: 'court',
    reason,
    principal: principalOf(caller),
    txId: tx.txId,
    time: tx.time,
  };
  if (caller.role === COURT_ROLE) {
    return changedTo(state, { ...state, status: 'terminated', termination }, 'terminate', tx);
  }
  if (state.terminationRequests.some((r) => r.party === party)) {
    return refuse('ALREADY_REQUESTED', `party ${party} has asked to terminate`);
  }
  const terminationRequests = [
    ...state.terminationRequests,
    { party, reason, txId: tx.txId, time: tx.time },
  ];
  const all = terminationRequests.length === state.terms.parties.length;
  const next: AgreementState = all
    ? {
        ...state,
        terminationRequests,
        status: 'terminated',
        termination: { ...termination, by: 'parties' },
      }
    : { ...state, terminationRequests };
  return changedTo(state, next, 'terminate', tx);
}
