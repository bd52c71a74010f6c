/**
 * `evidence agreement show ID --gateway URL`: a mediation agreement as the chain holds it, for
 * people: status, parties (identifiers and identity commitments, never names), the schedule with
 * each instalment's status and payments, default and enforcement facts, and the history as a
 * timeline with transaction ids. The gateway's answer is validated against core's state schema
 * before anything is printed from it; nothing here is verified cryptographically.
 */

import type { AgreementHistoryEntry, AgreementState } from '../../core/agreement';
import {
  agreementTimeline,
  formatAmount,
  partyLabel,
  type TimelineEntry,
} from '../../core/agreement-timeline';
import {
  agreementHistoryEntrySchema,
  agreementStateSchema,
} from '../../core/agreement-state-schema';
import { AGREEMENT_ID_PATTERN } from '../../core/agreement';
import type { FieldError } from '../../core/errors';
import { schemaErrors } from '../../core/schema';
import { CliError } from '../cli-error';
import type { CliIo } from '../cli-io';
import { jsonText, parseCommandLine, usage, type Command } from '../command';
import { EXIT_OK, type ExitStatus } from '../exit-codes';
import { createGatewayClient, parseGatewayUrl } from '../node-client';

const OPTIONS = {
  gateway: { type: 'string' },
  key: { type: 'string' },
  json: { type: 'boolean' },
} as const;

const HELP = `Usage: evidence agreement show ID --gateway URL [--key KEY] [--json]

Prints a mediation agreement and its history as the gateway reads them from the chain: status,
parties (organisation, account and identity commitment; the chain holds no names), the schedule
with each instalment's status and payments, default and enforcement facts, and a timeline of
every transaction with its id. Only the agreement's parties, its mediation body, courts and
admins may see it.

Options:
  --gateway URL  the gateway, e.g. https://evidence.example.org
  --key KEY      API key (default: $EVIDENCE_API_KEY, which keeps it out of the process list)
  --json         print { gateway, agreement, timeline: [{ txId, time, action, from, to, details }] }

Exit status: 0 shown, 1 no such agreement (or not visible to this key), 2 usage error,
3 network or gateway error.
`;

/** What the gateway answered, once validated. */
export interface ShownAgreement {
  readonly agreement: AgreementState;
  readonly history: readonly AgreementHistoryEntry[];
}

function invalid(detail: string, fields?: readonly FieldError[]): CliError {
  return new CliError(
    'GATEWAY_RESPONSE_INVALID',
    `the gateway's agreement answer is not as documented: ${detail}`,
    fields,
  );
}

/**
 * Checks `{ agreement, history }` against core's schemas (extra properties on history entries,
 * such as the gateway's `action`, are ignored) and that it is the agreement asked for.
 * @throws CliError `GATEWAY_RESPONSE_INVALID` listing every bad field.
 */
export function parseAgreementAnswer(body: unknown, id: string): ShownAgreement {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw invalid('not an object');
  const { agreement, history } = body as { agreement?: unknown; history?: unknown };
  const fields = schemaErrors(agreementStateSchema, agreement).map((f) => ({
    ...f,
    path: `/agreement${f.path}`,
  }));
  if (!Array.isArray(history)) {
    fields.push({ path: '/history', rule: 'type', message: 'must be array' });
  } else {
    history.forEach((entry: unknown, index) => {
      const { action: _action, ...rest } = (entry ?? {}) as Record<string, unknown>;
      for (const f of schemaErrors(agreementHistoryEntrySchema, rest))
        fields.push({ ...f, path: `/history/${index}${f.path}` });
    });
  }
  if (fields.length > 0) throw invalid(`${fields.length} bad field(s)`, fields);
  const state = agreement as AgreementState;
  if (state.agreementId !== id) throw invalid(`it is agreement ${state.agreementId}, not ${id}`);
  if (state.instalments.length !== state.terms.instalments.length)
    throw invalid('instalment states do not match the terms');
  const entries = (history as Record<string, unknown>[]).map(
    ({ action: _action, ...entry }) => entry as unknown as AgreementHistoryEntry,
  );
  return { agreement: state, history: entries };
}

function abbreviated(digest: string): string {
  return digest.length > 23 ? `${digest.slice(0, 19)}…${digest.slice(-4)}` : digest;
}

/** The agreement and its timeline as text. */
export function renderAgreement(shown: ShownAgreement, timeline: readonly TimelineEntry[]): string {
  const { agreement: a } = shown;
  const { terms } = a;
  const lines: string[] = [
    `agreement    ${a.agreementId}`,
    `status       ${a.status}`,
    `document     ${terms.documentDigest}`,
    `mediation    ${terms.mediationBody.org}${terms.mediationBody.reference ? `, ${terms.mediationBody.reference}` : ''}`,
    `created      ${a.createdAt} by ${a.createdBy.org}/${a.createdBy.account}`,
    `updated      ${a.updatedAt} (tx ${a.updatedTxId})`,
    `grace        ${terms.gracePeriodSeconds} s${terms.requiresCourtConfirmation ? ', court confirmation required' : ''}`,
  ];
  if (a.activatedAt) lines.push(`activated    ${a.activatedAt}`);
  if (a.confirmation)
    lines.push(
      `confirmed    ${a.confirmation.caseNumber} at ${a.confirmation.time} (tx ${a.confirmation.txId})`,
    );
  if (a.completedAt) lines.push(`completed    ${a.completedAt}`);
  lines.push('', 'Parties (identifiers and identity commitments only)');
  terms.parties.forEach((party, index) => {
    const signed = a.signatures.find((s) => s.party === index);
    lines.push(
      `  ${index}  ${party.role.padEnd(8)} ${party.org}/${party.account}  ${abbreviated(party.identityCommitment)}  ` +
        (signed ? `signed ${signed.time} (tx ${signed.txId})` : 'not signed'),
    );
  });
  lines.push('', 'Schedule');
  terms.instalments.forEach((instalment, index) => {
    const state = a.instalments[index]!;
    lines.push(
      `  #${index}  due ${instalment.dueTime}  ${formatAmount(instalment.amount, instalment.currency).padStart(16)}  ` +
        `${state.status.padEnd(11)} paid ${formatAmount(state.paidAmount, instalment.currency)}` +
        (state.settledAt ? `, settled ${state.settledAt}` : ''),
    );
    for (const payment of state.payments) {
      lines.push(
        `        ${payment.time}  ${formatAmount(payment.amount, instalment.currency)}  ref ${payment.reference}  ` +
          `${payment.source === 'payment' ? 'recorded' : 'confirmed'} by ${payment.by.org}/${payment.by.account}  tx ${payment.txId}`,
      );
    }
  });
  if (a.default) {
    lines.push(
      '',
      'Default',
      `  instalment ${a.default.instalmentIndex} overdue beyond grace since ${a.default.since}`,
      `  recorded ${a.default.detectedAt} (tx ${a.default.txId})`,
    );
  }
  if (a.enforcement) {
    const e = a.enforcement;
    lines.push(
      '',
      'Enforcement',
      `  requested by ${partyLabel(terms.parties[e.requestedBy], e.requestedBy)} at ${e.requestedAt} (tx ${e.requestTxId})`,
      `  application ${e.applicationDigest}`,
    );
    if (e.caseNumber)
      lines.push(
        `  filed under ${e.caseNumber} at ${e.filedAt ?? '?'} (tx ${e.filingTxId ?? '?'})`,
      );
  }
  for (const r of a.reopenings)
    lines.push(`reopened     ${r.time} by ${r.by.org}/${r.by.account} (${r.reason}, tx ${r.txId})`);
  if (a.terminationRequests.length > 0 || a.termination) {
    lines.push('', 'Termination');
    for (const r of a.terminationRequests)
      lines.push(
        `  ${partyLabel(terms.parties[r.party], r.party)} asked at ${r.time} (${r.reason}, tx ${r.txId})`,
      );
    if (a.termination)
      lines.push(
        `  terminated by ${a.termination.by} at ${a.termination.time} (${a.termination.reason}, tx ${a.termination.txId})`,
      );
  }
  lines.push('', 'History');
  for (const entry of timeline) {
    lines.push(
      `  ${entry.time}  ${entry.action.padEnd(18)} ${(entry.from ?? '-').padEnd(21)} -> ${entry.to ?? '-'}`,
      `      tx ${entry.txId}`,
      ...entry.details.map((detail) => `      ${detail}`),
    );
  }
  return `${lines.join('\n')}\n`;
}

async function run(args: readonly string[], io: CliIo): Promise<ExitStatus> {
  const { values, positionals } = parseCommandLine(args, OPTIONS);
  const [action, id, ...extra] = positionals;
  if (action !== 'show')
    throw usage(
      action === undefined
        ? 'agreement needs a subcommand: show'
        : `unknown agreement subcommand ${JSON.stringify(action)}`,
    );
  if (id === undefined) throw usage('agreement show needs the agreement ID');
  if (extra.length > 0) throw usage(`agreement show takes one ID; also got ${extra.join(' ')}`);
  if (!new RegExp(AGREEMENT_ID_PATTERN).test(id))
    throw usage(`${JSON.stringify(id)} is not an agreement id`);
  if (values.gateway === undefined) throw usage('agreement show needs --gateway URL');
  const apiKey = (values.key ?? io.env.EVIDENCE_API_KEY)?.trim();
  if (apiKey === undefined || apiKey === '')
    throw usage('agreement show needs an API key: --key KEY or the EVIDENCE_API_KEY variable');
  if (/[\r\n]/.test(apiKey)) throw usage('the API key must be one line');
  const client = createGatewayClient(io, parseGatewayUrl(values.gateway));
  const body = await client.agreement(id, apiKey);
  if (body === undefined)
    throw new CliError('AGREEMENT_NOT_FOUND', `the gateway shows no agreement ${id} to this key`);
  const shown = parseAgreementAnswer(body, id);
  const timeline = agreementTimeline(shown.history);
  io.stdout(
    values.json === true
      ? jsonText({ gateway: client.url, agreement: shown.agreement, timeline })
      : renderAgreement(shown, timeline),
  );
  return EXIT_OK;
}

export const agreementCommand: Command = {
  name: 'agreement',
  summary: 'show a mediation agreement and its history (from a gateway)',
  help: HELP,
  run,
};
