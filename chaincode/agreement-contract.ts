/**
 * AgreementContract: mediation agreements watched on chain (docs/agreements.md). Thin and
 * deterministic: parse -> core's state machine -> write canonical bytes -> set the event ->
 * return the state. Time comes only from the transaction timestamp.
 *
 * Keys: `agreement:<agreementId>` holds the state; `agreement-party:<org>:<account>` holds the ids
 * of a party's agreements, oldest first (the stubs we run on have no range or composite-key
 * queries, so the index is kept in state).
 */

import { Context, Contract, Info, Param, Returns, Transaction } from 'fabric-contract-api';
import {
  AGREEMENT_EVENT,
  addToPartyIndex,
  agreementIdOf,
  agreementKey,
  isAgreementId,
  partyArgErrors,
  partyIndexKey,
  transitionOrThrow,
  type AgreementAction,
  type AgreementHistoryEntry,
  type AgreementState,
} from '../core/agreement';
import { canonicalBytes, canonicalJson } from '../core/canonical';
import { ValidationError } from '../core/errors';
import { parseJson } from '../core/schema';
import { callerOf, guarded, txTime } from './contract-support';

function checkAgreementId(agreementId: string): string {
  if (!isAgreementId(agreementId)) {
    throw new ValidationError('VALIDATION_FAILED', 'agreementId is invalid', [
      { path: '/agreementId', rule: 'pattern', message: 'not an agreement id' },
    ]);
  }
  return agreementId;
}

function isoOf(stamp: { seconds: unknown; nanos?: unknown }): string {
  const seconds = Number(String(stamp.seconds));
  const millis = Math.floor(Number(stamp.nanos ?? 0) / 1_000_000);
  return new Date(seconds * 1000 + millis).toISOString();
}

@Info({ title: 'AgreementContract', description: 'Mediation agreements and their performance' })
export class AgreementContract extends Contract {
  constructor() {
    super('agreement');
  }

  /** Creates a draft from the terms. Returns the state. */
  @Transaction()
  @Param('termsJson', 'string', 'canonical JSON of the agreement terms')
  @Returns('string')
  async create(ctx: Context, termsJson: string): Promise<string> {
    return guarded(async () => {
      const terms = parseJson(termsJson, 'terms');
      return this.#apply(ctx, agreementIdOf(terms), { kind: 'create', terms });
    });
  }

  /** A party signs, naming the digest of the document it signed. */
  @Transaction()
  @Param('agreementId', 'string', 'agreement id')
  @Param('documentDigest', 'string', 'sha256:hex of the signed agreement document')
  @Returns('string')
  async sign(ctx: Context, agreementId: string, documentDigest: string): Promise<string> {
    return guarded(() =>
      this.#apply(ctx, agreementId, { kind: 'sign', agreementId, documentDigest }),
    );
  }

  /** A court confirms the agreement under its ruling's case number. */
  @Transaction()
  @Param('agreementId', 'string', 'agreement id')
  @Param('caseNumber', 'string', 'case number of the confirmation ruling')
  @Returns('string')
  async confirm(ctx: Context, agreementId: string, caseNumber: string): Promise<string> {
    return guarded(() =>
      this.#apply(ctx, agreementId, { kind: 'confirm', agreementId, caseNumber }),
    );
  }

  /** A bank or payment platform (role `payment`) records a payment of one instalment. */
  @Transaction()
  @Param('agreementId', 'string', 'agreement id')
  @Param('instalmentIndex', 'string', 'index of the instalment, decimal')
  @Param('amount', 'string', 'amount in minor units, decimal')
  @Param('reference', 'string', 'payment reference')
  @Returns('string')
  async recordPayment(
    ctx: Context,
    agreementId: string,
    instalmentIndex: string,
    amount: string,
    reference: string,
  ): Promise<string> {
    return guarded(() =>
      this.#apply(ctx, agreementId, {
        kind: 'recordPayment',
        agreementId,
        instalmentIndex,
        amount,
        reference,
      }),
    );
  }

  /** A creditor party confirms it received a payment of one instalment. */
  @Transaction()
  @Param('agreementId', 'string', 'agreement id')
  @Param('instalmentIndex', 'string', 'index of the instalment, decimal')
  @Param('amount', 'string', 'amount in minor units, decimal')
  @Param('reference', 'string', 'payment reference')
  @Returns('string')
  async confirmPayment(
    ctx: Context,
    agreementId: string,
    instalmentIndex: string,
    amount: string,
    reference: string,
  ): Promise<string> {
    return guarded(() =>
      this.#apply(ctx, agreementId, {
        kind: 'confirmPayment',
        agreementId,
        instalmentIndex,
        amount,
        reference,
      }),
    );
  }

  /** Applies chain time (instalments due/overdue, default). Writes nothing when nothing changes. */
  @Transaction()
  @Param('agreementId', 'string', 'agreement id')
  @Returns('string')
  async checkDue(ctx: Context, agreementId: string): Promise<string> {
    return guarded(() => this.#apply(ctx, agreementId, { kind: 'checkDue', agreementId }));
  }

  /** A creditor requests enforcement of a defaulted agreement. */
  @Transaction()
  @Param('agreementId', 'string', 'agreement id')
  @Param('applicationDigest', 'string', 'sha256:hex of the enforcement application')
  @Returns('string')
  async requestEnforcement(
    ctx: Context,
    agreementId: string,
    applicationDigest: string,
  ): Promise<string> {
    return guarded(() =>
      this.#apply(ctx, agreementId, { kind: 'requestEnforcement', agreementId, applicationDigest }),
    );
  }

  /** A court acknowledges the enforcement filing under its case number. */
  @Transaction()
  @Param('agreementId', 'string', 'agreement id')
  @Param('caseNumber', 'string', 'case number of the enforcement case')
  @Returns('string')
  async acknowledgeFiling(ctx: Context, agreementId: string, caseNumber: string): Promise<string> {
    return guarded(() =>
      this.#apply(ctx, agreementId, { kind: 'acknowledgeFiling', agreementId, caseNumber }),
    );
  }

  /** A court sends a defaulted agreement back to mediation (active again). */
  @Transaction()
  @Param('agreementId', 'string', 'agreement id')
  @Param('noteJson', 'string', 'canonical JSON of {reason, documentDigest?, reference?}')
  @Returns('string')
  async reopenMediation(ctx: Context, agreementId: string, noteJson: string): Promise<string> {
    return guarded(async () => {
      const note = parseJson(noteJson, 'note');
      return this.#apply(ctx, agreementId, { kind: 'reopenMediation', agreementId, note });
    });
  }

  /** A court terminates; or a party asks to, and the last party's request terminates. */
  @Transaction()
  @Param('agreementId', 'string', 'agreement id')
  @Param('reason', 'string', 'termination reason code')
  @Returns('string')
  async terminate(ctx: Context, agreementId: string, reason: string): Promise<string> {
    return guarded(() => this.#apply(ctx, agreementId, { kind: 'terminate', agreementId, reason }));
  }

  /** The state of an agreement, or `null` (absence is a value). */
  @Transaction(false)
  @Param('agreementId', 'string', 'agreement id')
  @Returns('string')
  async readAgreement(ctx: Context, agreementId: string): Promise<string> {
    return guarded(async () => {
      const state = await this.#read(ctx, checkAgreementId(agreementId));
      return canonicalJson(state ?? null);
    });
  }

  /** Every committed value of an agreement, oldest first: its transitions. */
  @Transaction(false)
  @Param('agreementId', 'string', 'agreement id')
  @Returns('string')
  async agreementHistory(ctx: Context, agreementId: string): Promise<string> {
    return guarded(async () => {
      const key = agreementKey(checkAgreementId(agreementId));
      const entries: AgreementHistoryEntry[] = [];
      for await (const modification of ctx.stub.getHistoryForKey(key)) {
        entries.push({
          txId: modification.txId,
          time: isoOf(modification.timestamp),
          isDelete: modification.isDelete,
          value: modification.isDelete
            ? null
            : (JSON.parse(Buffer.from(modification.value).toString('utf8')) as AgreementState),
        });
      }
      entries.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
      return canonicalJson(entries);
    });
  }

  /** Ids of the agreements a party (org + account) is in, oldest first; `[]` when none. */
  @Transaction(false)
  @Param('org', 'string', 'organisation (MSP id) of the party')
  @Param('account', 'string', 'account of the party')
  @Returns('string')
  async agreementsOfParty(ctx: Context, org: string, account: string): Promise<string> {
    return guarded(async () => {
      const fields = partyArgErrors(org, account);
      if (fields.length > 0)
        throw new ValidationError('VALIDATION_FAILED', 'party is invalid', fields);
      return canonicalJson((await this.#index(ctx, partyIndexKey(org, account))) ?? []);
    });
  }

  /** Runs one transition: read, decide in core, write the state (and index), set the event. */
  async #apply(
    ctx: Context,
    agreementId: string | undefined,
    action: AgreementAction,
  ): Promise<string> {
    const caller = callerOf(ctx);
    // An invalid id reads nothing; core then refuses with every bad field.
    const existing = isAgreementId(agreementId) ? await this.#read(ctx, agreementId) : undefined;
    const { state, event } = transitionOrThrow(
      existing,
      action,
      { org: caller.mspId, account: caller.account, role: caller.role },
      { txId: ctx.stub.getTxID(), time: txTime(ctx) },
    );
    if (event) {
      await ctx.stub.putState(agreementKey(state.agreementId), canonicalBytes(state));
      if (action.kind === 'create') {
        for (const party of state.terms.parties) {
          const key = partyIndexKey(party.org, party.account);
          const index = await this.#index(ctx, key);
          await ctx.stub.putState(key, canonicalBytes(addToPartyIndex(index, state.agreementId)));
        }
      }
      ctx.stub.setEvent(AGREEMENT_EVENT, canonicalBytes(event));
    }
    return canonicalJson(state);
  }

  async #read(ctx: Context, agreementId: string): Promise<AgreementState | undefined> {
    const bytes = await ctx.stub.getState(agreementKey(agreementId));
    if (!bytes || bytes.length === 0) return undefined;
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as AgreementState;
  }

  async #index(ctx: Context, key: string): Promise<string[] | undefined> {
    const bytes = await ctx.stub.getState(key);
    if (!bytes || bytes.length === 0) return undefined;
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as string[];
  }
}
