/**
 * Stable error codes and the error classes that carry them.
 *
 * Codes are part of the public contract: they cross process boundaries as text (chaincode errors
 * start with `CODE: `), map to HTTP statuses in the gateway and to exit statuses in the CLI, and
 * are documented in the README. Add codes; never rename or reuse one.
 */

/** A reference token of a JSON pointer (RFC 6901 §3): `~` is written `~0` and `/` is written `~1`. */
export function escapePointerToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** One bad field in an input: a JSON pointer, a machine code for the rule it broke, and prose. */
export interface FieldError {
  /** JSON pointer (RFC 6901) to the offending value, `''` for the whole document. */
  readonly path: string;
  /** The rule that failed, e.g. `required`, `pattern`, `additionalProperties`, `maxItems`. */
  readonly rule: string;
  readonly message: string;
}

/** Input that does not fit its schema or its domain rules. */
export const VALIDATION_CODES = [
  'INVALID_JSON',
  'VALIDATION_FAILED',
  'BODY_TOO_LARGE',
  'BATCH_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'BATCH_ROOT_MISMATCH',
  'DUPLICATE_IN_BATCH',
  'RECEIPT_MALFORMED',
  'TRUST_MALFORMED',
  'CONFIG_INVALID',
] as const;

/** Who is calling and what they may do. */
export const ACCESS_CODES = ['UNAUTHENTICATED', 'FORBIDDEN', 'DEPOSITOR_MISMATCH'] as const;

/**
 * Domain state, and routes: what exists, and what may be done to it. `BACKUP_RUNNING`: a backup
 * is being taken and another was asked for; `BACKUP_NOT_CONFIGURED`: the node has no backup
 * directory (gateway/backup.ts).
 */
export const STATE_CODES = [
  'EVIDENCE_NOT_FOUND',
  'RECEIPT_NOT_FOUND',
  'NOT_FOUND',
  'CONFLICT',
  'METHOD_NOT_ALLOWED',
  'BACKUP_RUNNING',
  'BACKUP_NOT_CONFIGURED',
] as const;

/**
 * The back ends behind the gateway: the ledger, its storage, and the thread that renders PDFs
 * (`RENDERER_UNAVAILABLE`: it died during the render, or could not start; a retry starts another).
 */
export const LEDGER_CODES = [
  'LEDGER_UNAVAILABLE',
  'LEDGER_TIMEOUT',
  'LEDGER_CORRUPTED',
  'LEDGER_CLOSED',
  'STORAGE_FULL',
  'OVERLOADED',
  'INTERNAL',
  'RENDERER_UNAVAILABLE',
] as const;

/**
 * Judicial smart contracts (mediation agreements, core/agreement.ts). Wrong roles reuse
 * `FORBIDDEN` and bad inputs `VALIDATION_FAILED`; docs/agreements.md explains each code.
 */
export const AGREEMENT_CODES = [
  'AGREEMENT_EXISTS',
  'AGREEMENT_NOT_FOUND',
  'INVALID_TRANSITION',
  'NOT_A_PARTY',
  'ALREADY_SIGNED',
  'ALREADY_REQUESTED',
  'DOCUMENT_MISMATCH',
  'INSTALMENT_NOT_FOUND',
  'OVERPAYMENT',
  'PAYMENT_REFERENCE_CONFLICT',
] as const;

/**
 * Cross-chain anchors (core/anchor.ts, docs/anchors.md): `recordAnchor`'s refusals
 * (`ANCHOR_CONFLICT`, `ANCHOR_REGRESSION`), the anchor checks of a receipt, and
 * `ANCHOR_PENDING`: no anchor covers a receipt's block yet, so it cannot be upgraded.
 */
export const ANCHOR_ERROR_CODES = [
  'ANCHOR_CONFLICT',
  'ANCHOR_REGRESSION',
  'ANCHOR_CHAIN_BROKEN',
  'ANCHOR_HASH_MISMATCH',
  'ANCHOR_NOT_DESCENDANT',
  'ANCHOR_PROOF_INVALID',
  'ANCHOR_UNTRUSTED',
  'ANCHOR_REQUIRED',
  'ANCHOR_PENDING',
] as const;

/**
 * Request authenticity and admission (gateway/auth/signed-request.ts, docs/security.md): a signed
 * request outside the time window, a nonce seen before, a signature that does not verify, an
 * unsigned request from a principal that must sign, and a principal over its rate limit.
 */
export const SECURITY_CODES = [
  'STALE_TIMESTAMP',
  'REPLAYED_NONCE',
  'BAD_SIGNATURE',
  'SIGNATURE_REQUIRED',
  'RATE_LIMITED',
] as const;

/**
 * Replicas (docs/replicas.md): `READ_ONLY_REPLICA`, a write asked of a node that keeps a copy of
 * another node's chain; `BLOCK_INVALID`, a block its source served fails its checks (malformed, a
 * digest or signature that does not match, or writes the contracts do not produce);
 * `CHAIN_FORKED`, the source signed a block that contradicts one the replica already holds;
 * `FORK_NOT_PROVEN`, a fork proof given to a node (`POST /v1/forks`) does not prove a fork of its
 * chain; `FORK_KEY_UNKNOWN`, a replica given one cannot check it yet: it is signed by a key the
 * replica has not reached (it holds no more blocks than the proof's height), so it must be sent
 * again once the replica has followed the chain's key rotations.
 */
export const REPLICA_CODES = [
  'READ_ONLY_REPLICA',
  'BLOCK_INVALID',
  'CHAIN_FORKED',
  'FORK_NOT_PROVEN',
  'FORK_KEY_UNKNOWN',
] as const;

export type ValidationCode = (typeof VALIDATION_CODES)[number];
export type AccessCode = (typeof ACCESS_CODES)[number];
export type StateCode = (typeof STATE_CODES)[number];
export type LedgerCode = (typeof LEDGER_CODES)[number];
export type AgreementCode = (typeof AGREEMENT_CODES)[number];
export type AnchorErrorCode = (typeof ANCHOR_ERROR_CODES)[number];
export type SecurityCode = (typeof SECURITY_CODES)[number];
export type ReplicaCode = (typeof REPLICA_CODES)[number];
export type ErrorCode =
  | ValidationCode
  | AccessCode
  | StateCode
  | LedgerCode
  | AgreementCode
  | AnchorErrorCode
  | SecurityCode
  | ReplicaCode;

/** Every code, for the anchored pattern that reads codes back out of chaincode error text. */
export const ERROR_CODES: readonly ErrorCode[] = [
  ...VALIDATION_CODES,
  ...ACCESS_CODES,
  ...STATE_CODES,
  ...LEDGER_CODES,
  ...AGREEMENT_CODES,
  ...ANCHOR_ERROR_CODES,
  ...SECURITY_CODES,
  ...REPLICA_CODES,
];

/** Base of every error we throw on purpose: a stable code plus, for inputs, every bad field. */
export class EvidenceError<C extends ErrorCode = ErrorCode> extends Error {
  readonly code: C;
  readonly fields: readonly FieldError[] | undefined;

  constructor(code: C, message: string, fields?: readonly FieldError[], options?: ErrorOptions) {
    super(message, options);
    this.name = 'EvidenceError';
    this.code = code;
    this.fields = fields;
  }

  /** Wire form used by chaincode: `CODE: message`, with fields appended as JSON when present. */
  toWire(): string {
    const tail = this.fields && this.fields.length > 0 ? ` ${JSON.stringify(this.fields)}` : '';
    return `${this.code}: ${this.message}${tail}`;
  }
}

export class ValidationError extends EvidenceError<ValidationCode> {
  constructor(code: ValidationCode, message: string, fields?: readonly FieldError[]) {
    super(code, message, fields);
    this.name = 'ValidationError';
  }
}

export class AccessError extends EvidenceError<AccessCode> {
  constructor(code: AccessCode, message: string) {
    super(code, message);
    this.name = 'AccessError';
  }
}

export class StateError extends EvidenceError<StateCode> {
  constructor(code: StateCode, message: string) {
    super(code, message);
    this.name = 'StateError';
  }
}

export class LedgerError extends EvidenceError<LedgerCode> {
  constructor(code: LedgerCode, message: string, options?: ErrorOptions) {
    super(code, message, undefined, options);
    this.name = 'LedgerError';
  }
}

/** A mediation agreement refused a transition (core/agreement.ts). */
export class AgreementError extends EvidenceError<AgreementCode> {
  constructor(code: AgreementCode, message: string) {
    super(code, message);
    this.name = 'AgreementError';
  }
}

/** An anchor was refused, does not verify, or does not exist yet (docs/anchors.md). */
export class AnchorError extends EvidenceError<AnchorErrorCode> {
  constructor(code: AnchorErrorCode, message: string) {
    super(code, message);
    this.name = 'AnchorError';
  }
}

/** A request was refused for its credentials' freshness or authenticity, or its rate. */
export class SecurityError extends EvidenceError<SecurityCode> {
  constructor(code: SecurityCode, message: string) {
    super(code, message);
    this.name = 'SecurityError';
  }
}

/** A replica refused a write, or a block its source served (docs/replicas.md). */
export class ReplicaError extends EvidenceError<ReplicaCode> {
  constructor(code: ReplicaCode, message: string, fields?: readonly FieldError[]) {
    super(code, message, fields);
    this.name = 'ReplicaError';
  }
}

/**
 * The error of `code` as the subclass its code group belongs to (a `LEDGER_*` code gives a
 * LedgerError...), for errors that crossed a process or thread boundary as data.
 */
export function errorOfCode(
  code: ErrorCode,
  message: string,
  fields?: readonly FieldError[],
): EvidenceError {
  const has = (codes: readonly string[]) => codes.includes(code);
  if (has(VALIDATION_CODES)) return new ValidationError(code as ValidationCode, message, fields);
  // Only validation errors carry fields in their subclass; keep fields over the class.
  if (fields && fields.length > 0) return new EvidenceError(code, message, fields);
  if (has(ACCESS_CODES)) return new AccessError(code as AccessCode, message);
  if (has(STATE_CODES)) return new StateError(code as StateCode, message);
  if (has(LEDGER_CODES)) return new LedgerError(code as LedgerCode, message);
  if (has(AGREEMENT_CODES)) return new AgreementError(code as AgreementCode, message);
  if (has(ANCHOR_ERROR_CODES)) return new AnchorError(code as AnchorErrorCode, message);
  if (has(SECURITY_CODES)) return new SecurityError(code as SecurityCode, message);
  if (has(REPLICA_CODES)) return new ReplicaError(code as ReplicaCode, message);
  return new EvidenceError(code, message, fields);
}

const WIRE_PATTERN = new RegExp(`^(?:.*?\\b)?(${ERROR_CODES.join('|')}): ([\\s\\S]*)$`);

/**
 * Reads an error that crossed a process boundary as `CODE: message [fields-json]` back into an
 * EvidenceError of its code's class ({@link errorOfCode}). Text without a known code yields
 * `undefined`, so the caller decides what an unknown failure means.
 */
export function parseWireError(text: string): EvidenceError | undefined {
  const match = WIRE_PATTERN.exec(text);
  if (!match) return undefined;
  const code = match[1] as ErrorCode;
  let message = match[2] ?? '';
  let fields: FieldError[] | undefined;
  const bracket = message.indexOf(' [{');
  if (bracket >= 0) {
    try {
      const parsed: unknown = JSON.parse(message.slice(bracket + 1));
      if (Array.isArray(parsed)) {
        fields = parsed as FieldError[];
        message = message.slice(0, bracket);
      }
    } catch {
      // not a field list: keep the whole text as the message
    }
  }
  return errorOfCode(code, message, fields);
}

/** True when `value` is an EvidenceError (also across realms, by shape). */
export function isEvidenceError(value: unknown): value is EvidenceError {
  return (
    value instanceof EvidenceError ||
    (typeof value === 'object' &&
      value !== null &&
      typeof (value as { code?: unknown }).code === 'string' &&
      (ERROR_CODES as readonly string[]).includes((value as { code: string }).code))
  );
}
