/**
 * What the evidence contract keeps in world state and returns: the first deposit of a digest,
 * attestations by other principals, append-only annotations. Shared by chaincode, gateway and CLI.
 */

import type { Digest } from './digest';
import type { Depositor, EvidenceRecord } from './evidence';
import { CASE_REFERENCE_PATTERN, NO_PERSONAL_DATA } from './personal-data';

/** Where a record sits: its transaction and its leaf in that transaction's batch tree. */
export interface Placement {
  readonly txId: string;
  /** Chain time of the transaction. */
  readonly time: string;
  readonly batchRoot: Digest;
  readonly leafIndex: number;
  readonly batchSize: number;
}

/** A later deposit of the same digest by another principal. The first time is kept. */
export interface Attestation extends Placement {
  readonly record: EvidenceRecord;
}

export const ANNOTATION_KINDS = ['court-hold', 'dispute', 'release', 'note'] as const;
export type AnnotationKind = (typeof ANNOTATION_KINDS)[number];

/** What a court submits to annotate a record. */
export interface AnnotationInput {
  readonly kind: AnnotationKind;
  /** Case number or docket reference (core/personal-data.ts); never personal data. */
  readonly reference?: string;
  /** Digest of a document explaining the annotation (kept off chain). */
  readonly documentDigest?: Digest;
}

export interface Annotation extends AnnotationInput {
  readonly by: Depositor;
  readonly txId: string;
  readonly time: string;
}

/** The world-state value under a primary digest. */
export interface EvidenceState extends Placement {
  readonly type: 'evidence';
  readonly record: EvidenceRecord;
  readonly attestations: readonly Attestation[];
  readonly annotations: readonly Annotation[];
}

/**
 * The canonical JSON text of a new evidence state (no attestation, no annotation) from the
 * canonical text of its record: the text `canonicalJson` gives for the same state (keys in
 * order, strings as `JSON.stringify` writes them), without encoding the record a second time.
 */
export function newEvidenceStateText(placement: Placement, recordText: string): string {
  const { batchRoot, batchSize, leafIndex, time, txId } = placement;
  return (
    `{"annotations":[],"attestations":[],"batchRoot":${JSON.stringify(batchRoot)},` +
    `"batchSize":${JSON.stringify(batchSize)},"leafIndex":${JSON.stringify(leafIndex)},` +
    `"record":${recordText},"time":${JSON.stringify(time)},"txId":${JSON.stringify(txId)},` +
    `"type":"evidence"}`
  );
}

/** What happened to each record of a batch, in order. */
export type DepositOutcome = 'created' | 'attested' | 'existing';

/** Payload of the `EvidenceDeposited` event that `depositBatch` sets. */
export interface DepositedEvent {
  readonly root: Digest;
  readonly outcomes: readonly DepositOutcome[];
}

/** One entry of a key's history. */
export interface HistoryEntry {
  readonly txId: string;
  readonly time: string;
  readonly isDelete: boolean;
  readonly value: EvidenceState | null;
}

export const annotationInputSchema = {
  $id: 'annotation-input',
  type: 'object',
  additionalProperties: false,
  required: ['kind'],
  properties: {
    kind: { type: 'string', enum: [...ANNOTATION_KINDS] },
    // A case number or an ASCII docket id; never a name, ID number, phone or address.
    reference: { type: 'string', pattern: CASE_REFERENCE_PATTERN, ...NO_PERSONAL_DATA },
    documentDigest: { type: 'string', pattern: '^(sha256|sm3):[0-9a-f]{64}$' },
  },
} as const;

/**
 * Roles a principal can have. The chaincode reads the `role` attribute of the client identity.
 * `anchor`: the job that records other chains' tips with the anchor contract.
 */
export const ROLES = [
  'depositor',
  'platform',
  'court',
  'admin',
  'auditor',
  'payment',
  'gateway',
  'anchor',
] as const;
export type Role = (typeof ROLES)[number];
