/**
 * What each exhibit of a case folder came to, as `evidence verify-all` reports it and the case
 * report (./case-report.ts) prints it; pure, so the CLI uses it without loading the PDF code.
 */

import type { ReportVerdictName } from './labels';

/** Every outcome, in the order counts are listed: the verifier's verdicts, then the others. */
export const CASE_OUTCOMES = [
  'VERIFIED',
  'MISMATCH',
  'PROOF_INVALID',
  'UNTRUSTED',
  'NOT_ON_CHAIN',
  'ON_CHAIN_UNVERIFIED',
  'UNREADABLE',
  'FILE_MISSING',
  'NO_RECEIPT',
] as const satisfies readonly (ReportVerdictName | 'UNREADABLE' | 'FILE_MISSING' | 'NO_RECEIPT')[];

/** An item's outcome: a verifier verdict, or why the file was not verified. */
export type CaseItemOutcome = (typeof CASE_OUTCOMES)[number];

export interface CaseSummary {
  /** Items per outcome, in {@link CASE_OUTCOMES} order; outcomes no item had are absent. */
  readonly counts: Partial<Record<CaseItemOutcome, number>>;
  /** Every receipt verified: a file without a receipt is listed, not counted against. */
  readonly allVerified: boolean;
}

export function summarizeCase(outcomes: readonly CaseItemOutcome[]): CaseSummary {
  const counts: Partial<Record<CaseItemOutcome, number>> = {};
  for (const outcome of CASE_OUTCOMES) {
    const n = outcomes.filter((o) => o === outcome).length;
    if (n > 0) counts[outcome] = n;
  }
  return {
    counts,
    allVerified: outcomes.every((o) => o === 'VERIFIED' || o === 'NO_RECEIPT'),
  };
}
