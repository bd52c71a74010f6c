/**
 * Judicial smart contracts over HTTP: mediation agreements (docs/agreements.md). Each transition is
 * submitted as the calling principal, so the chaincode checks roles and parties again behind the
 * role gate each route lists here. Reads show an agreement only to those who may see it (see
 * agreement-service.ts); to anyone else it does not exist.
 *
 * `GET /v1/agreements/events` is a server-sent event stream of committed transitions: `id:` lines
 * for resuming with `Last-Event-ID`, comment heartbeats, and an `event: gap` notice when events
 * may have been missed. It is registered before `/agreements/:id`, so the id `events` cannot be
 * read through this API (it can still be created and used).
 */

import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ReopenNote } from '../../core/agreement';
import { AccessError, AgreementError } from '../../core/errors';
import { KEY_ROLES, type KeyRole, type Principal } from '../auth/api-keys';
import type { StreamRecord } from '../agreement-events';
import {
  agreementParamsSchema,
  agreementWithHistorySchema,
  applicationSchema,
  caseNumberBodySchema,
  emptyBodySchema,
  enforcedSchema,
  partyAgreementsSchema,
  partyQuerySchema,
  paymentBodySchema,
  reopenBodySchema,
  signBodySchema,
  termsBodySchema,
  terminateBodySchema,
  transitionedSchema,
} from '../agreement-schemas';
import type { AgreementService, PaymentInput } from '../agreement-service';
import { ERROR_RESPONSES, OPTIONAL_BODY, noBodyAsEmpty, schemaRef } from '../schemas';
import { SECURITY } from './security';

/** Roles that act on agreements as parties, creators or courts (the chaincode decides which). */
export const AGREEMENT_ACTOR_ROLES: readonly KeyRole[] = [
  'depositor',
  'platform',
  'court',
  'admin',
];
export const COURT_ROLES: readonly KeyRole[] = ['court'];
export const PAYMENT_ROLES: readonly KeyRole[] = ['payment'];

export interface AgreementRoutesOptions {
  readonly agreements: AgreementService;
  /** Milliseconds between comment lines on an idle event stream. */
  readonly heartbeatMs: number;
}

interface IdParams {
  readonly id: string;
}

function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new AccessError('UNAUTHENTICATED', 'an API key is required');
  return request.principal;
}

/** One server-sent event (WHATWG HTML §9.2): data is one line of JSON. */
/** One event of the stream, as its fields are read (the first block sets only `retry`). */
const sseEventSchema = {
  type: 'object',
  properties: {
    event: { type: 'string', description: '`transition`, or `gap` when events may be lost' },
    data: {
      type: 'string',
      description:
        'JSON: `{agreementId, from, to, action, txId, time, blockNumber}` for a transition, ' +
        '`{lastEventId}` for a gap',
    },
    id: { type: 'string', description: 'Give it back as `Last-Event-ID` to resume' },
    retry: { type: 'integer', minimum: 0, description: 'Milliseconds before reconnecting' },
  },
} as const;

function sseEvent(name: string, data: unknown, id?: string): string {
  return `${id === undefined ? '' : `id: ${id}\n`}event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}

const agreementRoutes: FastifyPluginAsync<AgreementRoutesOptions> = async (
  app: FastifyInstance,
  options,
) => {
  const { agreements, heartbeatMs } = options;
  const tags = ['agreements'];

  const transitionRoute = (summary: string, body: object, roles: readonly KeyRole[]) => ({
    onRequest: app.requireRoles(...roles),
    ...(body === emptyBodySchema ? { preValidation: noBodyAsEmpty } : {}),
    schema: {
      tags,
      summary,
      security: SECURITY,
      params: agreementParamsSchema,
      body,
      ...(body === emptyBodySchema ? { [OPTIONAL_BODY]: true as const } : {}),
      response: { 200: transitionedSchema, ...ERROR_RESPONSES },
    },
  });

  app.post<{ Body: unknown }>(
    '/agreements',
    {
      onRequest: app.requireRoles(...AGREEMENT_ACTOR_ROLES),
      schema: {
        tags,
        summary: 'Create a draft agreement from its terms (a party, the mediation body or a court)',
        description:
          'Only identifiers, digests, enumerations and case numbers are accepted: names, ID-card ' +
          'numbers, phone numbers and e-mail addresses are refused with VALIDATION_FAILED.',
        security: SECURITY,
        body: termsBodySchema,
        response: { 201: transitionedSchema, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await agreements.create(request.body, principalOf(request))),
  );

  app.get<{ Querystring: { org?: string; account?: string } }>(
    '/agreements',
    {
      onRequest: app.requireRoles(...KEY_ROLES),
      schema: {
        tags,
        summary: "A party's agreements (the party itself, a court or an admin)",
        description: 'Without org and account: the caller’s own agreements.',
        security: SECURITY,
        querystring: partyQuerySchema,
        response: { 200: partyAgreementsSchema, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const org = request.query.org ?? principal.org;
      const account = request.query.account ?? principal.account;
      return { org, account, agreements: await agreements.ofParty(org, account, principal) };
    },
  );

  app.get(
    '/agreements/events',
    {
      onRequest: app.requireRoles(...KEY_ROLES),
      schema: {
        tags,
        summary: 'Server-sent events: committed transitions of the agreements the caller may see',
        description:
          'text/event-stream. Each event is `id: <id>`, `event: transition`, `data: ' +
          '{agreementId, from, to, action, txId, time, blockNumber}`. Reconnect with ' +
          '`Last-Event-ID` to receive the events missed while they are still held; `event: gap` ' +
          'says some may be lost (re-read the agreements). Comment lines are heartbeats.',
        security: SECURITY,
        headers: {
          type: 'object',
          properties: { 'last-event-id': { type: 'string', maxLength: 64 } },
        },
        response: {
          200: {
            description: 'an event stream',
            // OpenAPI 3.1 has no item schema for streams: `schema` describes each event.
            content: { 'text/event-stream': { schema: sseEventSchema } },
          },
          ...ERROR_RESPONSES,
        },
      },
    },
    async (request, reply) => stream(request, reply),
  );

  /** Writes the stream on the raw socket; Fastify lets go of the reply (hijack). */
  function stream(request: FastifyRequest, reply: FastifyReply): void {
    const principal = principalOf(request);
    const lastEventId = request.headers['last-event-id'];
    const raw = reply.raw;
    reply.hijack();
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    let open = true;
    const write = (text: string) => {
      if (open && !raw.destroyed) raw.write(text);
    };
    const send = (record: StreamRecord) => write(sseEvent('transition', record.event, record.id));
    const subscription = agreements.events.subscribe(
      (record) => record.audience(principal),
      { send, end: () => finish() },
      typeof lastEventId === 'string' ? lastEventId.trim() : undefined,
    );
    const heartbeat = setInterval(
      () => write(`: heartbeat ${new Date().toISOString()}\n\n`),
      heartbeatMs,
    );
    heartbeat.unref();
    function finish(): void {
      if (!open) return;
      open = false;
      clearInterval(heartbeat);
      subscription.unsubscribe();
      if (!raw.destroyed) raw.end();
    }
    raw.on('close', finish);
    write(`retry: 3000\n: connected\n\n`);
    if (subscription.gap) write(sseEvent('gap', { lastEventId }));
    for (const record of subscription.replay) send(record);
  }

  app.get<{ Params: IdParams }>(
    '/agreements/:id',
    {
      onRequest: app.requireRoles(...KEY_ROLES),
      schema: {
        tags,
        summary: 'An agreement and its whole history (the transactions that wrote it)',
        security: SECURITY,
        params: agreementParamsSchema,
        response: { 200: agreementWithHistorySchema, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const found = await agreements.read(request.params.id, principalOf(request));
      if (!found)
        throw new AgreementError('AGREEMENT_NOT_FOUND', `no agreement ${request.params.id}`);
      return found;
    },
  );

  app.post<{ Params: IdParams; Body: { documentDigest: string } }>(
    '/agreements/:id/sign',
    transitionRoute(
      'Sign, naming the digest of the signed document (each party once)',
      signBodySchema,
      AGREEMENT_ACTOR_ROLES,
    ),
    async (request) =>
      agreements.sign(request.params.id, request.body.documentDigest, principalOf(request)),
  );

  app.post<{ Params: IdParams; Body: { caseNumber: string } }>(
    '/agreements/:id/confirm',
    transitionRoute(
      'Confirm the agreement under the ruling’s case number (court)',
      caseNumberBodySchema,
      COURT_ROLES,
    ),
    async (request) =>
      agreements.confirm(request.params.id, request.body.caseNumber, principalOf(request)),
  );

  app.post<{ Params: IdParams; Body: PaymentInput }>(
    '/agreements/:id/payments',
    transitionRoute(
      'Record a payment of one instalment (role payment: a bank or payment platform)',
      paymentBodySchema,
      PAYMENT_ROLES,
    ),
    async (request) =>
      agreements.recordPayment(request.params.id, request.body, principalOf(request)),
  );

  app.post<{ Params: IdParams; Body: PaymentInput }>(
    '/agreements/:id/payment-confirmations',
    transitionRoute(
      'Confirm receipt of a payment of one instalment (a creditor party)',
      paymentBodySchema,
      AGREEMENT_ACTOR_ROLES,
    ),
    async (request) =>
      agreements.confirmPayment(request.params.id, request.body, principalOf(request)),
  );

  app.post<{ Params: IdParams; Body: Record<string, never> | undefined }>(
    '/agreements/:id/check-due',
    transitionRoute(
      'Apply chain time now (a party, a court or an admin; the node does it on its own)',
      emptyBodySchema,
      AGREEMENT_ACTOR_ROLES,
    ),
    async (request) => agreements.checkDue(request.params.id, principalOf(request)),
  );

  app.post<{ Params: IdParams; Body: Record<string, never> | undefined }>(
    '/agreements/:id/enforcement',
    {
      onRequest: app.requireRoles(...AGREEMENT_ACTOR_ROLES),
      preValidation: noBodyAsEmpty,
      schema: {
        tags,
        summary: 'Request enforcement of a defaulted agreement (a creditor party)',
        description:
          'The node generates the enforcement application from the chain, deposits its digests ' +
          'as evidence (type application) and links its sha256 digest from the agreement. The ' +
          'answer carries the document (base64 of the deposited bytes) and its receipt.',
        security: SECURITY,
        params: agreementParamsSchema,
        body: emptyBodySchema,
        [OPTIONAL_BODY]: true,
        response: { 200: enforcedSchema(schemaRef('receipt')), ...ERROR_RESPONSES },
      },
    },
    async (request) => agreements.requestEnforcement(request.params.id, principalOf(request)),
  );

  app.get<{ Params: IdParams }>(
    '/agreements/:id/enforcement-application',
    {
      onRequest: app.requireRoles(...KEY_ROLES),
      schema: {
        tags,
        summary: 'The enforcement application linked from the agreement, with its receipt',
        security: SECURITY,
        params: agreementParamsSchema,
        response: { 200: applicationSchema(schemaRef('receipt')), ...ERROR_RESPONSES },
      },
    },
    async (request) => agreements.enforcementApplication(request.params.id, principalOf(request)),
  );

  app.post<{ Params: IdParams; Body: { caseNumber: string } }>(
    '/agreements/:id/filing',
    transitionRoute(
      'Acknowledge the enforcement filing under its case number (court)',
      caseNumberBodySchema,
      COURT_ROLES,
    ),
    async (request) =>
      agreements.acknowledgeFiling(
        request.params.id,
        request.body.caseNumber,
        principalOf(request),
      ),
  );

  app.post<{ Params: IdParams; Body: ReopenNote }>(
    '/agreements/:id/reopen',
    transitionRoute(
      'Send a defaulted agreement back to mediation (court)',
      reopenBodySchema,
      COURT_ROLES,
    ),
    async (request) =>
      agreements.reopenMediation(request.params.id, request.body, principalOf(request)),
  );

  app.post<{ Params: IdParams; Body: { reason: string } }>(
    '/agreements/:id/terminate',
    transitionRoute(
      'Terminate (a court at once; otherwise when every party has asked)',
      terminateBodySchema,
      AGREEMENT_ACTOR_ROLES,
    ),
    async (request) =>
      agreements.terminate(request.params.id, request.body.reason, principalOf(request)),
  );
};

export default agreementRoutes;
