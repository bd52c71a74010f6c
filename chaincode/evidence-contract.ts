/**
 * EvidenceContract: evidence records on chain. Thin and deterministic: parse -> core -> write
 * canonical bytes -> return. Time comes only from the transaction timestamp.
 *
 * Keys: `evidence:<sha256 hex>`. One transaction deposits a batch; a digest deposited again by
 * the same principal changes nothing (idempotent), by another principal adds an attestation and
 * keeps the first time.
 */

import { Context, Contract, Info, Param, Returns, Transaction } from 'fabric-contract-api';
import { buildBatch, type BatchArgs, type BatchResult } from '../core/batch';
import { canonicalBytes, canonicalJson } from '../core/canonical';
import { digestProblem, type Digest } from '../core/digest';
import { AccessError, StateError, ValidationError } from '../core/errors';
import { primaryDigest, type Depositor } from '../core/evidence';
import {
  annotationInputSchema,
  newEvidenceStateText,
  type Annotation,
  type AnnotationInput,
  type DepositOutcome,
  type DepositedEvent,
  type EvidenceState,
  type HistoryEntry,
  type Role,
} from '../core/evidence-state';
import { parseJson, validateOrThrow } from '../core/schema';
import { callerOf, guarded, requireRole, txTime } from './contract-support';

/** Roles that may submit deposits. `gateway` is a node submitting for the principals it authenticated. */
export const DEPOSIT_ROLES: readonly Role[] = [
  'gateway',
  'platform',
  'depositor',
  'court',
  'admin',
];
/** Roles that may annotate (court holds, disputes). */
export const ANNOTATE_ROLES: readonly Role[] = ['court'];

export const EVIDENCE_EVENT = 'EvidenceDeposited';

const batchArgsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['records', 'root'],
  properties: {
    records: { type: 'array', minItems: 1, items: { type: 'object' } },
    root: { type: 'string', pattern: '^sha256:[0-9a-f]{64}$' },
  },
} as const;

/** World-state key of a primary digest. */
export function evidenceKey(digest: Digest): string {
  return `evidence:${digest.slice('sha256:'.length)}`;
}

function sameDepositor(a: Depositor, b: Depositor): boolean {
  return a.org === b.org && a.account === b.account;
}

function checkDigestArg(digest: string): Digest {
  const problem = digestProblem(digest, '/digest');
  if (problem) throw new ValidationError('VALIDATION_FAILED', problem.message, [problem]);
  if (!digest.startsWith('sha256:')) {
    throw new ValidationError('VALIDATION_FAILED', 'records are keyed by their sha256 digest', [
      { path: '/digest', rule: 'digestPrimary', message: 'use the sha256 digest' },
    ]);
  }
  return digest as Digest;
}

@Info({
  title: 'EvidenceContract',
  description: 'Judicial evidence digests, attestations, annotations',
})
export class EvidenceContract extends Contract {
  constructor() {
    super('evidence');
  }

  /**
   * Deposits a batch: every record and the RFC 9162 root over their leaves, in one transaction.
   * Returns `{root, size}`; sets the `EvidenceDeposited` event with each record's outcome.
   */
  @Transaction()
  @Param('batchJson', 'string', 'canonical JSON of {records, root}')
  @Returns('string')
  async depositBatch(ctx: Context, batchJson: string): Promise<string> {
    return guarded(async () => {
      const caller = callerOf(ctx);
      requireRole(caller, DEPOSIT_ROLES, 'depositing');
      const args = validateOrThrow<BatchArgs>(
        batchArgsSchema,
        parseJson(batchJson, 'batch'),
        'batch',
      );
      const batch = buildBatch(args.records);
      if (batch.root !== args.root) {
        throw new ValidationError('BATCH_ROOT_MISMATCH', 'root does not match the records', [
          { path: '/root', rule: 'batchRoot', message: `records give ${batch.root}` },
        ]);
      }
      if (caller.role !== 'gateway') {
        batch.records.forEach((record, index) => {
          if (record.depositor.org !== caller.mspId) {
            throw new AccessError(
              'DEPOSITOR_MISMATCH',
              `record ${index} names organisation ${record.depositor.org}, caller is ${caller.mspId}`,
            );
          }
        });
      }
      const txId = ctx.stub.getTxID();
      const time = txTime(ctx);
      const batchRoot = batch.root;
      const batchSize = batch.records.length;
      const outcomes: DepositOutcome[] = [];
      const keys = batch.records.map((record) => evidenceKey(primaryDigest(record)));
      // All reads asked for at once (the digests are distinct: buildBatch refuses repeats), so a
      // peer or the embedded ledger can serve them together instead of one round trip each.
      const states = await Promise.all(keys.map((key) => this.#read(ctx, key)));
      // Objects written here list their keys in canonical (sorted) order, so canonicalBytes takes
      // its shortcut for values already in canonical shape; the bytes are the same either way. A
      // new state is written from its record's canonical text, which the leaf hash already made.
      for (const [leafIndex, record] of batch.records.entries()) {
        const key = keys[leafIndex] as string;
        const existing = states[leafIndex];
        if (!existing) {
          const placement = { batchRoot, batchSize, leafIndex, time, txId };
          const text = newEvidenceStateText(placement, batch.recordTexts[leafIndex] as string);
          await ctx.stub.putState(key, Buffer.from(text, 'utf8'));
          outcomes.push('created');
        } else if (
          sameDepositor(existing.record.depositor, record.depositor) ||
          existing.attestations.some((a) => sameDepositor(a.record.depositor, record.depositor))
        ) {
          outcomes.push('existing');
        } else {
          // `existing` was parsed from canonical bytes, so its keys come sorted; the spread keeps
          // that order (and any field this version does not know) with `attestations` in place.
          const next: EvidenceState = {
            ...existing,
            attestations: [
              ...existing.attestations,
              { batchRoot, batchSize, leafIndex, record, time, txId },
            ],
          };
          await ctx.stub.putState(key, canonicalBytes(next));
          outcomes.push('attested');
        }
      }
      const event: DepositedEvent = { outcomes, root: batch.root };
      ctx.stub.setEvent(EVIDENCE_EVENT, canonicalBytes(event));
      const result: BatchResult = { root: batch.root, size: batch.records.length };
      return canonicalJson(result);
    });
  }

  /** The state of a digest, or `null` (absence is a value). */
  @Transaction(false)
  @Param('digest', 'string', 'sha256:hex')
  @Returns('string')
  async readEvidence(ctx: Context, digest: string): Promise<string> {
    return guarded(async () => {
      const state = await this.#read(ctx, evidenceKey(checkDigestArg(digest)));
      return canonicalJson(state ?? null);
    });
  }

  /** Every committed value of a digest's record, oldest first. */
  @Transaction(false)
  @Param('digest', 'string', 'sha256:hex')
  @Returns('string')
  async evidenceHistory(ctx: Context, digest: string): Promise<string> {
    return guarded(async () => {
      const key = evidenceKey(checkDigestArg(digest));
      const entries: HistoryEntry[] = [];
      for await (const modification of ctx.stub.getHistoryForKey(key)) {
        const seconds = Number(String(modification.timestamp.seconds));
        const millis = Math.floor(Number(modification.timestamp.nanos ?? 0) / 1_000_000);
        entries.push({
          txId: modification.txId,
          time: new Date(seconds * 1000 + millis).toISOString(),
          isDelete: modification.isDelete,
          value: modification.isDelete
            ? null
            : (JSON.parse(Buffer.from(modification.value).toString('utf8')) as EvidenceState),
        });
      }
      entries.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
      return canonicalJson(entries);
    });
  }

  /** Appends a court annotation (hold, dispute, release, note). Never edits or deletes. */
  @Transaction()
  @Param('digest', 'string', 'sha256:hex')
  @Param('annotationJson', 'string', 'canonical JSON of {kind, reference?, documentDigest?}')
  @Returns('string')
  async annotate(ctx: Context, digest: string, annotationJson: string): Promise<string> {
    return guarded(async () => {
      const caller = callerOf(ctx);
      requireRole(caller, ANNOTATE_ROLES, 'annotating');
      const key = evidenceKey(checkDigestArg(digest));
      const input = validateOrThrow<AnnotationInput>(
        annotationInputSchema,
        parseJson(annotationJson, 'annotation'),
        'annotation',
      );
      const existing = await this.#read(ctx, key);
      if (!existing)
        throw new StateError('EVIDENCE_NOT_FOUND', `no evidence with digest ${digest}`);
      const annotation: Annotation = {
        ...input,
        by: { org: caller.mspId, account: caller.account },
        txId: ctx.stub.getTxID(),
        time: txTime(ctx),
      };
      const next: EvidenceState = {
        ...existing,
        annotations: [...existing.annotations, annotation],
      };
      await ctx.stub.putState(key, canonicalBytes(next));
      return canonicalJson(annotation);
    });
  }

  async #read(ctx: Context, key: string): Promise<EvidenceState | undefined> {
    const bytes = await ctx.stub.getState(key);
    if (!bytes || bytes.length === 0) return undefined;
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as EvidenceState;
  }
}
