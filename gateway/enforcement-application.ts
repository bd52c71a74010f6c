/**
 * The enforcement application (强制执行申请书) a creditor files when a mediation agreement has
 * defaulted: a deterministic document built only from what the chain holds, so anyone with the
 * chain can check every fact in it, and its bytes are deposited as evidence (type `application`)
 * before its sha256 digest is passed to `requestEnforcement`.
 *
 * The document is canonical JSON (one byte string per input: the same agreement state and history
 * always give the same digest, so a retried request deposits nothing new). Parties appear as
 * organisation, account and salted identity commitment only: the chain holds no names, and the
 * court resolves the commitments against the parties' off-chain identity documents. Each fact
 * carries the id of the transaction that proves it. The text rendering is for reading; the JSON
 * bytes are the evidence.
 */

import type {
  AgreementHistoryEntry,
  AgreementState,
  DefaultFacts,
  Party,
  Payment,
  Reopening,
} from '../core/agreement';
import { agreementTimeline, formatAmount, type TimelineEntry } from '../core/agreement-timeline';
import { canonicalBytes } from '../core/canonical';
import { digestBytes, type Digest } from '../core/digest';

export const APPLICATION_TYPE = 'judicial-evidence-enforcement-application';
export const APPLICATION_MEDIA_TYPE = 'application/json';

interface PartyEntry extends Party {
  readonly party: number;
}

interface ScheduleEntry {
  readonly index: number;
  readonly amount: number;
  readonly currency: string;
  readonly dueTime: string;
  readonly status: string;
  readonly paidAmount: number;
  readonly outstanding: number;
  readonly settledAt?: string;
  readonly payments: readonly Payment[];
}

/** The document's content. */
export interface EnforcementApplication {
  readonly type: typeof APPLICATION_TYPE;
  readonly version: 1;
  readonly chainId: string;
  readonly agreementId: string;
  /** The agreement state the application rests on: its last change. */
  readonly asOf: { readonly time: string; readonly txId: string; readonly status: string };
  readonly applicant: PartyEntry;
  readonly respondents: readonly PartyEntry[];
  readonly parties: readonly PartyEntry[];
  readonly agreement: {
    readonly documentDigest: string;
    readonly mediationBody: AgreementState['terms']['mediationBody'];
    readonly requiresCourtConfirmation: boolean;
    readonly gracePeriodSeconds: number;
    readonly createdAt: string;
    readonly createdTxId: string;
    readonly signatures: AgreementState['signatures'];
    readonly confirmation?: AgreementState['confirmation'];
    readonly activatedAt?: string;
    readonly reopenings: readonly Reopening[];
  };
  readonly schedule: readonly ScheduleEntry[];
  /** Unpaid amounts per currency, in minor units. */
  readonly outstanding: readonly { readonly currency: string; readonly amount: number }[];
  readonly default: DefaultFacts;
  /** Every transaction of the agreement up to `asOf`, oldest first. */
  readonly transactions: readonly Omit<TimelineEntry, 'details'>[];
  readonly request: string;
}

export interface BuiltApplication {
  readonly document: EnforcementApplication;
  /** The bytes deposited (canonical JSON). */
  readonly bytes: Buffer;
  /** sha256 first, then sm3. */
  readonly digests: readonly [Digest, Digest];
  readonly text: string;
}

export interface ApplicationInput {
  readonly chainId: string;
  /** A defaulted agreement: the state the request is made on. */
  readonly state: AgreementState;
  /** Its history up to and including `state`, oldest first. */
  readonly history: readonly AgreementHistoryEntry[];
  /** Index into `state.terms.parties` of the creditor applying. */
  readonly applicant: number;
}

const REQUEST =
  'The applicant requests enforcement of the mediation agreement identified above: the ' +
  'respondents have not paid the instalments listed as outstanding, whose grace period ended ' +
  'as the default facts record. Every fact stated here is recorded on the chain named above ' +
  'under the transaction ids given with it.';

/**
 * Builds the application. Requires `state.default` to be set (a defaulted agreement) and
 * `applicant` to index a creditor. Deterministic: no clock, no randomness.
 * @throws RangeError when the state has no default facts or the applicant is not a party.
 */
export function buildEnforcementApplication(input: ApplicationInput): BuiltApplication {
  const { state, chainId } = input;
  const facts = state.default;
  if (!facts) throw new RangeError(`agreement ${state.agreementId} has no default facts`);
  const parties: PartyEntry[] = state.terms.parties.map((party, index) => ({
    party: index,
    role: party.role,
    org: party.org,
    account: party.account,
    identityCommitment: party.identityCommitment,
  }));
  const applicant = parties[input.applicant];
  if (!applicant) throw new RangeError(`party ${input.applicant} does not exist`);
  const upTo = input.history.findIndex((entry) => entry.txId === state.updatedTxId);
  const history = upTo >= 0 ? input.history.slice(0, upTo + 1) : input.history;
  const schedule: ScheduleEntry[] = state.terms.instalments.map((terms, index) => {
    const instalment = state.instalments[index]!;
    return {
      index,
      amount: terms.amount,
      currency: terms.currency,
      dueTime: terms.dueTime,
      status: instalment.status,
      paidAmount: instalment.paidAmount,
      outstanding: terms.amount - instalment.paidAmount,
      ...(instalment.settledAt ? { settledAt: instalment.settledAt } : {}),
      payments: instalment.payments,
    };
  });
  const totals = new Map<string, number>();
  for (const entry of schedule)
    totals.set(entry.currency, (totals.get(entry.currency) ?? 0) + entry.outstanding);
  const document: EnforcementApplication = {
    type: APPLICATION_TYPE,
    version: 1,
    chainId,
    agreementId: state.agreementId,
    asOf: { time: state.updatedAt, txId: state.updatedTxId, status: state.status },
    applicant,
    respondents: parties.filter((party) => party.role === 'debtor'),
    parties,
    agreement: {
      documentDigest: state.terms.documentDigest,
      mediationBody: state.terms.mediationBody,
      requiresCourtConfirmation: state.terms.requiresCourtConfirmation,
      gracePeriodSeconds: state.terms.gracePeriodSeconds,
      createdAt: state.createdAt,
      createdTxId: history[0]?.txId ?? state.updatedTxId,
      signatures: state.signatures,
      ...(state.confirmation ? { confirmation: state.confirmation } : {}),
      ...(state.activatedAt ? { activatedAt: state.activatedAt } : {}),
      reopenings: state.reopenings,
    },
    schedule,
    outstanding: [...totals.entries()]
      .filter(([, amount]) => amount > 0)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([currency, amount]) => ({ currency, amount })),
    default: facts,
    transactions: agreementTimeline(history).map(({ details: _details, ...entry }) => entry),
    request: REQUEST,
  };
  const bytes = Buffer.from(canonicalBytes(document));
  const digests = digestBytes(bytes);
  return {
    document,
    bytes,
    digests: [digests.sha256, digests.sm3 as Digest],
    text: renderApplication(document, digests.sha256),
  };
}

function partyLine(party: PartyEntry): string {
  return `  party ${party.party}  ${party.role.padEnd(8)} ${party.org} / ${party.account}   identity commitment ${party.identityCommitment}`;
}

/** A plain-text rendering of the document, for people. Names no one: identifiers only. */
export function renderApplication(document: EnforcementApplication, sha256: Digest): string {
  const lines: string[] = [
    'APPLICATION FOR ENFORCEMENT OF A MEDIATION AGREEMENT',
    '',
    `Agreement        ${document.agreementId}`,
    `Chain            ${document.chainId}`,
    `As of            ${document.asOf.time} (tx ${document.asOf.txId}), status ${document.asOf.status}`,
    `Document digest  ${sha256} (this application, JSON form)`,
    '',
    'Applicant',
    partyLine(document.applicant),
    '',
    'Respondents',
    ...document.respondents.map(partyLine),
    '',
    'Parties',
    ...document.parties.map(partyLine),
    '',
    'Agreement',
    `  signed document   ${document.agreement.documentDigest}`,
    `  mediation body    ${document.agreement.mediationBody.org}` +
      (document.agreement.mediationBody.reference
        ? `, ${document.agreement.mediationBody.reference}`
        : ''),
    `  created           ${document.agreement.createdAt} (tx ${document.agreement.createdTxId})`,
    ...document.agreement.signatures.map(
      (s) => `  signed by party ${s.party} at ${s.time} (tx ${s.txId})`,
    ),
  ];
  if (document.agreement.confirmation) {
    const c = document.agreement.confirmation;
    lines.push(
      `  confirmed         ${c.caseNumber} by ${c.by.org}/${c.by.account} at ${c.time} (tx ${c.txId})`,
    );
  }
  if (document.agreement.activatedAt)
    lines.push(`  activated         ${document.agreement.activatedAt}`);
  lines.push(`  grace period      ${document.agreement.gracePeriodSeconds} s`);
  for (const r of document.agreement.reopenings)
    lines.push(
      `  reopened          ${r.time} by ${r.by.org}/${r.by.account} (${r.reason}, tx ${r.txId})`,
    );
  lines.push('', 'Schedule');
  for (const entry of document.schedule) {
    lines.push(
      `  #${entry.index}  due ${entry.dueTime}  ${formatAmount(entry.amount, entry.currency)}  ` +
        `${entry.status}, paid ${formatAmount(entry.paidAmount, entry.currency)}, outstanding ` +
        formatAmount(entry.outstanding, entry.currency),
    );
    for (const p of entry.payments) {
      lines.push(
        `        ${p.time}  ${formatAmount(p.amount, entry.currency)}  ref ${p.reference}  ` +
          `${p.source === 'payment' ? 'recorded' : 'confirmed'} by ${p.by.org}/${p.by.account} (tx ${p.txId})`,
      );
    }
  }
  lines.push(
    '',
    'Outstanding',
    ...(document.outstanding.length > 0
      ? document.outstanding.map((o) => `  ${formatAmount(o.amount, o.currency)}`)
      : ['  nothing']),
    '',
    'Default',
    `  instalment ${document.default.instalmentIndex} overdue beyond grace since ${document.default.since}`,
    `  recorded at ${document.default.detectedAt} (tx ${document.default.txId})`,
    '',
    'Transactions',
    ...document.transactions.map(
      (t) => `  ${t.time}  ${t.action.padEnd(18)} ${t.from ?? '-'} -> ${t.to ?? '-'}  tx ${t.txId}`,
    ),
    '',
    document.request,
    '',
  );
  return lines.join('\n');
}
