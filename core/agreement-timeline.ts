/**
 * An agreement's history read as a timeline: which transaction each committed value came from and
 * what it changed, in words. The chain stores states, not transitions (docs/agreements.md,
 * "State"); every transition leaves a mark in the state it writes (a signature, a payment, the
 * default facts... each carrying its transaction id), so the action is recovered by comparing each
 * value with the one before. Used by the gateway (history responses, the enforcement application)
 * and by `evidence agreement show`. Pure; identifiers only, never personal data.
 */

import type {
  AgreementActionName,
  AgreementHistoryEntry,
  AgreementState,
  AgreementStatus,
  Party,
  Principal,
} from './agreement';

export interface TimelineEntry {
  readonly txId: string;
  readonly time: string;
  /** The transaction's action; `delete` for a deleted key (the contract never deletes). */
  readonly action: AgreementActionName | 'delete';
  /** Status before the transaction; `null` for `create`. */
  readonly from: AgreementStatus | null;
  /** Status after it; `null` only for a deleted key (the contract never deletes). */
  readonly to: AgreementStatus | null;
  /** What changed, one fact per line. */
  readonly details: readonly string[];
}

/** ISO 4217 currencies whose minor unit is not 1/100. */
const MINOR_DIGITS: Readonly<Record<string, number>> = {
  JPY: 0,
  KRW: 0,
  VND: 0,
  CLP: 0,
  ISK: 0,
  BHD: 3,
  IQD: 3,
  JOD: 3,
  KWD: 3,
  LYD: 3,
  OMR: 3,
  TND: 3,
};

/**
 * An amount in minor units as decimal text with its currency: `150000, CNY` -> `1500.00 CNY`.
 * Requires a non-negative safe integer.
 */
export function formatAmount(amount: number, currency: string): string {
  const digits = MINOR_DIGITS[currency] ?? 2;
  if (digits === 0) return `${amount} ${currency}`;
  const text = String(amount).padStart(digits + 1, '0');
  return `${text.slice(0, -digits)}.${text.slice(-digits)} ${currency}`;
}

/** `creditor LawOrg/creditor-1`: a party by role and identifiers (never a name). */
export function partyLabel(party: Party | undefined, index: number): string {
  return party ? `party ${index} (${party.role} ${party.org}/${party.account})` : `party ${index}`;
}

function who(principal: Principal): string {
  return `${principal.org}/${principal.account}`;
}

/**
 * The action that turned `before` into `after` in transaction `txId`. Requires `after` to be a
 * value the agreement contract wrote in that transaction.
 */
export function inferAction(
  before: AgreementState | null,
  after: AgreementState,
  txId: string,
): AgreementActionName {
  if (before === null) return 'create';
  if (after.signatures.length > before.signatures.length) return 'sign';
  if (after.confirmation && !before.confirmation) return 'confirm';
  if (after.enforcement?.filingTxId === txId) return 'acknowledgeFiling';
  if (after.enforcement?.requestTxId === txId) return 'requestEnforcement';
  if (after.reopenings.length > before.reopenings.length) return 'reopenMediation';
  if (
    after.terminationRequests.length > before.terminationRequests.length ||
    (after.termination && !before.termination)
  )
    return 'terminate';
  for (const instalment of after.instalments) {
    const payment = instalment.payments.find((p) => p.txId === txId);
    if (payment) return payment.source === 'payment' ? 'recordPayment' : 'confirmPayment';
  }
  return 'checkDue';
}

/** What changed from `before` to `after`, as short facts. */
export function describeChange(
  before: AgreementState | null,
  after: AgreementState,
  action: AgreementActionName,
  txId: string,
): string[] {
  const { terms } = after;
  const facts: string[] = [];
  switch (action) {
    case 'create': {
      const currency = terms.instalments[0]?.currency ?? '';
      const total = terms.instalments.reduce((sum, i) => sum + i.amount, 0);
      facts.push(
        `draft created by ${who(after.createdBy)}: ${terms.parties.length} parties, ` +
          `${terms.instalments.length} instalment${terms.instalments.length === 1 ? '' : 's'}, ` +
          `total ${formatAmount(total, currency)}`,
      );
      break;
    }
    case 'sign': {
      const signature = after.signatures[after.signatures.length - 1];
      if (signature)
        facts.push(
          `${partyLabel(terms.parties[signature.party], signature.party)} signed ${terms.documentDigest}`,
        );
      break;
    }
    case 'confirm':
      if (after.confirmation)
        facts.push(
          `confirmed by court ${who(after.confirmation.by)} under ${after.confirmation.caseNumber}`,
        );
      break;
    case 'recordPayment':
    case 'confirmPayment':
      after.instalments.forEach((instalment, index) => {
        for (const payment of instalment.payments.filter((p) => p.txId === txId)) {
          const currency = terms.instalments[index]?.currency ?? '';
          facts.push(
            `instalment ${index}: ${formatAmount(payment.amount, currency)} (reference ` +
              `${payment.reference}) ${payment.source === 'payment' ? 'recorded' : 'confirmed'} ` +
              `by ${who(payment.by)}`,
          );
        }
      });
      break;
    case 'requestEnforcement':
      if (after.enforcement)
        facts.push(
          `enforcement requested by ${partyLabel(terms.parties[after.enforcement.requestedBy], after.enforcement.requestedBy)}, ` +
            `application ${after.enforcement.applicationDigest}`,
        );
      break;
    case 'acknowledgeFiling':
      if (after.enforcement?.caseNumber)
        facts.push(
          `enforcement case filed under ${after.enforcement.caseNumber}` +
            (after.enforcement.filedBy ? ` by ${who(after.enforcement.filedBy)}` : ''),
        );
      break;
    case 'reopenMediation': {
      const reopening = after.reopenings[after.reopenings.length - 1];
      if (reopening)
        facts.push(
          `mediation reopened by ${who(reopening.by)} (${reopening.reason})` +
            (reopening.documentDigest ? `, decision ${reopening.documentDigest}` : ''),
        );
      break;
    }
    case 'terminate': {
      const request = after.terminationRequests.find((r) => r.txId === txId);
      if (request)
        facts.push(
          `${partyLabel(terms.parties[request.party], request.party)} asked to terminate (${request.reason})`,
        );
      if (after.termination?.txId === txId)
        facts.push(
          after.termination.by === 'court'
            ? `terminated by court ${who(after.termination.principal)} (${after.termination.reason})`
            : `terminated: every party asked to`,
        );
      break;
    }
    case 'checkDue':
      break;
  }
  after.instalments.forEach((instalment, index) => {
    const previous = before?.instalments[index]?.status;
    if (before && previous !== instalment.status)
      facts.push(`instalment ${index}: ${previous ?? 'none'} -> ${instalment.status}`);
  });
  if (after.status === 'active' && before && before.status !== 'active') {
    if (action !== 'reopenMediation')
      facts.push(`activated at ${after.activatedAt ?? after.updatedAt}`);
  }
  if (after.status === 'awaiting-confirmation' && before?.status === 'draft')
    facts.push('every party signed; awaiting court confirmation');
  if (after.default && after.default.txId === txId)
    facts.push(
      `defaulted: instalment ${after.default.instalmentIndex} overdue since ${after.default.since}`,
    );
  if (after.status === 'completed' && before?.status !== 'completed')
    facts.push('completed: every instalment is paid');
  return facts;
}

/**
 * The history as a timeline, oldest first. Requires the entries of `agreementHistory` (oldest
 * first, values written by the agreement contract).
 */
export function agreementTimeline(history: readonly AgreementHistoryEntry[]): TimelineEntry[] {
  let before: AgreementState | null = null;
  return history.map((entry) => {
    if (entry.isDelete || entry.value === null) {
      const deleted: TimelineEntry = {
        txId: entry.txId,
        time: entry.time,
        action: 'delete',
        from: before?.status ?? null,
        to: null,
        details: ['the agreement key was deleted'],
      };
      before = null;
      return deleted;
    }
    const action = inferAction(before, entry.value, entry.txId);
    const timeline: TimelineEntry = {
      txId: entry.txId,
      time: entry.time,
      action,
      from: before?.status ?? null,
      to: entry.value.status,
      details: describeChange(before, entry.value, action, entry.txId),
    };
    before = entry.value;
    return timeline;
  });
}
