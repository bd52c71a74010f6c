/**
 * A deposit batch: the records of one ledger transaction and the RFC 9162 root over their leaves.
 * The gateway builds it; the chaincode recomputes the root before it writes anything.
 */

import { canonicalJson } from './canonical';
import { formatDigest, type Digest } from './digest';
import { ValidationError, type FieldError } from './errors';
import {
  evidenceRecordErrors,
  normalizeRecord,
  primaryDigest,
  type EvidenceRecord,
} from './evidence';
import { buildTree, hashLeafUtf8, type MerkleTree } from './merkle';

/** Arguments of `EvidenceContract.depositBatch`. */
export interface BatchArgs {
  readonly records: readonly EvidenceRecord[];
  readonly root: Digest;
}

/** What `depositBatch` returns, and what a receipt carries to tie its root to the transaction. */
export interface BatchResult {
  readonly root: Digest;
  readonly size: number;
}

export interface Batch {
  readonly records: readonly EvidenceRecord[];
  /** The canonical JSON text of each record, as its leaf hashes: reused where it is written. */
  readonly recordTexts: readonly string[];
  readonly tree: MerkleTree;
  readonly root: Digest;
}

/**
 * The canonical JSON text of `depositBatch`'s argument `{ records, root }` for `batch`, from the
 * records' canonical texts: what `canonicalJson` gives for that object ("records" sorts before
 * "root"), without encoding every record again.
 */
export function batchArgsText(batch: Batch): string {
  return `{"records":[${batch.recordTexts.join(',')}],"root":${JSON.stringify(batch.root)}}`;
}

/** Hard upper bound on records per transaction, whatever the configuration says. */
export const MAX_BATCH_RECORDS = 10_000;

export interface BuildBatchOptions {
  /**
   * The caller vouches that every record already passed `evidenceRecordErrors` (a gateway that
   * built them from items it validated), so they are not checked again. Whoever receives a batch
   * from elsewhere (the chaincode) never sets it.
   */
  readonly checked?: boolean;
}

/**
 * Normalises `records` and builds their tree.
 * @throws ValidationError `VALIDATION_FAILED` for a bad record, `DUPLICATE_IN_BATCH` when a primary
 *   digest repeats, `BATCH_TOO_LARGE` past {@link MAX_BATCH_RECORDS}.
 */
export function buildBatch(
  records: readonly EvidenceRecord[],
  options: BuildBatchOptions = {},
): Batch {
  if (records.length === 0) {
    throw new ValidationError('VALIDATION_FAILED', 'a batch holds at least one record', [
      { path: '/records', rule: 'minItems', message: 'must not be empty' },
    ]);
  }
  if (records.length > MAX_BATCH_RECORDS) {
    throw new ValidationError(
      'BATCH_TOO_LARGE',
      `a batch holds at most ${MAX_BATCH_RECORDS} records`,
      [{ path: '/records', rule: 'maxItems', message: `at most ${MAX_BATCH_RECORDS}` }],
    );
  }
  const errors: FieldError[] = [];
  if (!options.checked) {
    records.forEach((record, index) =>
      errors.push(...evidenceRecordErrors(record, `/records/${index}`)),
    );
  }
  if (errors.length > 0)
    throw new ValidationError('VALIDATION_FAILED', 'batch has invalid records', errors);
  const normal = records.map(normalizeRecord);
  const seen = new Map<string, number>();
  const duplicates: FieldError[] = [];
  normal.forEach((record, index) => {
    const key = primaryDigest(record);
    const first = seen.get(key);
    if (first !== undefined) {
      duplicates.push({
        path: `/records/${index}/digests`,
        rule: 'uniqueDigest',
        message: `same sha256 digest as /records/${first}`,
      });
    } else {
      seen.set(key, index);
    }
  });
  if (duplicates.length > 0) {
    throw new ValidationError(
      'DUPLICATE_IN_BATCH',
      'a digest appears twice in one batch',
      duplicates,
    );
  }
  // recordLeafHash, with the canonical text kept.
  const recordTexts = normal.map((record) => canonicalJson(record));
  const tree = buildTree(recordTexts.map(hashLeafUtf8));
  return { records: normal, recordTexts, tree, root: formatDigest('sha256', tree.root) };
}
