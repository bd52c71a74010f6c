/**
 * The evidence record: what goes on chain for one piece of evidence. Only digests and salted
 * commitments, never content or personal data (DESIGN.md §3).
 */

import { canonicalJson } from './canonical';
import { DIGEST_ALGORITHMS, DIGEST_PATTERN, type Digest, type DigestAlgorithm } from './digest';
import { ValidationError, type FieldError } from './errors';
import { hashLeafUtf8 } from './merkle';
import { NO_PERSONAL_DATA } from './personal-data';
import { schemaErrors } from './schema';

export const EVIDENCE_TYPES = [
  'document',
  'contract',
  'image',
  'audio',
  'video',
  'web-capture',
  'chat',
  'email',
  'data',
  'application',
  'other',
] as const;
export type EvidenceType = (typeof EVIDENCE_TYPES)[number];

export const PROCESS_PHASES = ['before', 'during', 'after'] as const;
export type ProcessPhase = (typeof PROCESS_PHASES)[number];

/** Links captures of one process (e.g. a transaction recorded before, during and after). */
export interface ProcessContext {
  readonly token: string;
  readonly phase: ProcessPhase;
}

/** One item as a depositor submits it. */
export interface EvidenceItem {
  /** One digest per algorithm; a `sha256:` digest is required, `sm3:` is recommended. */
  readonly digests: readonly Digest[];
  readonly evidenceType?: EvidenceType;
  readonly mediaType?: string;
  readonly size?: number;
  /** Salted commitment to the depositor's real-name identity; the salt stays with the depositor. */
  readonly identityCommitment?: Digest;
  /** Salted commitment to off-chain metadata (file name, device, location...). */
  readonly metadataCommitment?: Digest;
  readonly process?: ProcessContext;
}

/** Who deposited: the authenticated principal's organisation and account. */
export interface Depositor {
  readonly org: string;
  readonly account: string;
}

/** The record as committed: the item plus its depositor. Its canonical bytes are the Merkle leaf. */
export interface EvidenceRecord extends EvidenceItem {
  readonly depositor: Depositor;
}

const COMMITMENT_PATTERN = '^sha256:[0-9a-f]{64}$';
/** Organisation and account names: printable identifiers, never names of people. */
export const NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$';

/** JSON Schema of one submitted item. */
export const evidenceItemSchema = {
  $id: 'evidence-item',
  type: 'object',
  additionalProperties: false,
  required: ['digests'],
  properties: {
    digests: {
      type: 'array',
      minItems: 1,
      maxItems: DIGEST_ALGORITHMS.length,
      // No `uniqueItems`: a repeated digest repeats its algorithm, which the rule
      // `digestAlgorithmUnique` refuses (itemRuleErrors), and Ajv's uniqueItems costs several
      // times the rest of this schema per item on the deposit path.
      items: { type: 'string', pattern: DIGEST_PATTERN },
      description:
        'The digests of one file, `alg:hex`: exactly one sha256 (rule digestPrimary) and at most ' +
        'one per algorithm (rule digestAlgorithmUnique), e.g. a sha256 and an sm3.',
    },
    evidenceType: { type: 'string', enum: [...EVIDENCE_TYPES] },
    mediaType: {
      type: 'string',
      maxLength: 127,
      pattern: '^[a-z0-9][a-z0-9!#$&^_.+-]{0,62}/[a-z0-9][a-z0-9!#$&^_.+-]{0,62}$',
      ...NO_PERSONAL_DATA,
    },
    size: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
    identityCommitment: { type: 'string', pattern: COMMITMENT_PATTERN },
    metadataCommitment: { type: 'string', pattern: COMMITMENT_PATTERN },
    process: {
      type: 'object',
      additionalProperties: false,
      required: ['token', 'phase'],
      properties: {
        token: { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,128}$', ...NO_PERSONAL_DATA },
        phase: { type: 'string', enum: [...PROCESS_PHASES] },
      },
    },
  },
} as const;

export const depositorSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['org', 'account'],
  properties: {
    org: { type: 'string', pattern: NAME_PATTERN, ...NO_PERSONAL_DATA },
    account: { type: 'string', pattern: NAME_PATTERN, ...NO_PERSONAL_DATA },
  },
} as const;

/** JSON Schema of a committed record. */
export const evidenceRecordSchema = {
  $id: 'evidence-record',
  type: 'object',
  additionalProperties: false,
  required: ['digests', 'depositor'],
  properties: { ...evidenceItemSchema.properties, depositor: depositorSchema },
} as const;

/** Field errors beyond the schema: exactly one sha256, at most one digest per algorithm. */
export function itemRuleErrors(item: EvidenceItem, path = ''): FieldError[] {
  const seen = new Set<string>();
  const errors: FieldError[] = [];
  item.digests.forEach((digest, index) => {
    const algorithm = digest.slice(0, digest.indexOf(':'));
    if (seen.has(algorithm)) {
      errors.push({
        path: `${path}/digests/${index}`,
        rule: 'digestAlgorithmUnique',
        message: `more than one ${algorithm} digest`,
      });
    }
    seen.add(algorithm);
  });
  if (!seen.has('sha256')) {
    errors.push({
      path: `${path}/digests`,
      rule: 'digestPrimary',
      message: 'a sha256 digest is required',
    });
  }
  return errors;
}

/** Every problem with a submitted item (schema and rules), with pointers under `path`. */
export function evidenceItemErrors(value: unknown, path = ''): FieldError[] {
  const errors = schemaErrors(evidenceItemSchema, value).map((e) => ({
    ...e,
    path: path + e.path,
  }));
  return [...errors, ...ruleErrorsWhereShaped(value, path, errors)];
}

/** The digest rules, applied whenever the digests array itself is well formed. */
function ruleErrorsWhereShaped(
  value: unknown,
  path: string,
  schemaFound: readonly FieldError[],
): FieldError[] {
  const digests = (value as { digests?: unknown } | null)?.digests;
  if (!Array.isArray(digests) || schemaFound.some((e) => e.path.startsWith(`${path}/digests`)))
    return [];
  return itemRuleErrors({ digests } as EvidenceItem, path);
}

/** Every problem with a committed record. */
export function evidenceRecordErrors(value: unknown, path = ''): FieldError[] {
  const errors = schemaErrors(evidenceRecordSchema, value).map((e) => ({
    ...e,
    path: path + e.path,
  }));
  return [...errors, ...ruleErrorsWhereShaped(value, path, errors)];
}

/**
 * Checks a committed record.
 * @throws ValidationError `VALIDATION_FAILED` naming every bad field.
 */
export function assertEvidenceRecord(value: unknown, path = ''): EvidenceRecord {
  const errors = evidenceRecordErrors(value, path);
  if (errors.length > 0)
    throw new ValidationError('VALIDATION_FAILED', 'evidence record is invalid', errors);
  return value as EvidenceRecord;
}

const ALGORITHM_ORDER: Record<DigestAlgorithm, number> = { sha256: 0, sm3: 1 };

/**
 * The record in normal form: digests ordered sha256 first. Two deposits of the same content
 * produce the same bytes whatever order the client listed the digests in.
 * Requires a record that passed {@link evidenceRecordErrors}.
 */
export function normalizeRecord(record: EvidenceRecord): EvidenceRecord {
  const digests = [...record.digests].sort(
    (a, b) =>
      ALGORITHM_ORDER[a.slice(0, a.indexOf(':')) as DigestAlgorithm] -
      ALGORITHM_ORDER[b.slice(0, b.indexOf(':')) as DigestAlgorithm],
  );
  return { ...record, digests };
}

/** The record's primary digest, which is also its key on chain. Requires a valid record. */
export function primaryDigest(record: EvidenceItem): Digest {
  const found = record.digests.find((digest) => digest.startsWith('sha256:'));
  if (!found) throw new ValidationError('VALIDATION_FAILED', 'record has no sha256 digest');
  return found;
}

/**
 * RFC 9162 leaf hash of a record: `hashLeaf(canonicalBytes(record))`, hashed from the canonical
 * text without building its bytes. Requires a normal record.
 */
export function recordLeafHash(record: EvidenceRecord): Buffer {
  return hashLeafUtf8(canonicalJson(record));
}
