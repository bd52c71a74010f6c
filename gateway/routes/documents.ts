/**
 * Court-facing documents the node issues (documents/): the deposit certificate of a receipt, and
 * the compliance dossier (JSON and PDF).
 *
 * A certificate goes to the depositor whose receipt it summarises (their own deposit or
 * attestation), or to a court or an admin; it carries no real name (the node never has one). The
 * dossier is for admins: it names keys, software and the audit log's head.
 *
 * PDFs are rendered on the event loop (a certificate takes a few tens of milliseconds once the
 * fonts are loaded); the rate limits of plugins/limits.ts bound how often.
 */

import type { FastifyInstance, FastifyPluginAsync, FastifyReply } from 'fastify';
import { complianceDossierSchema } from '../../core/dossier';
import type { Digest } from '../../core/digest';
import { AccessError, StateError } from '../../core/errors';
import { certificateNumber } from '../../documents/certificate';
import { KEY_ROLES } from '../auth/api-keys';
import { ANY_DEPOSITOR_ROLES } from './evidence';
import type { Config } from '../config';
import { nodeNameOf, type DossierBuilder } from '../dossier';
import type { EvidenceService } from '../evidence-service';
import type { PdfRenderer } from '../pdf/pdf-renderer';
import { ERROR_RESPONSES, digestParamsSchema, schemaRef } from '../schemas';
import { SECURITY } from './security';
import { VERIFY_PAGE_PATH } from './verify-page';

export interface DocumentRoutesOptions {
  readonly service: EvidenceService;
  readonly dossier: DossierBuilder;
  readonly config: Pick<Config, 'org' | 'nodeName' | 'publicUrl'>;
  /** Where PDFs are rendered (the node: a thread of their own). */
  readonly pdf: PdfRenderer;
}

const PDF_RESPONSE = {
  description: 'A PDF document',
  content: { 'application/pdf': { schema: { type: 'string', format: 'binary' } } },
} as const;

function sendPdf(reply: FastifyReply, pdf: Buffer, filename: string): FastifyReply {
  return reply
    .type('application/pdf')
    .header('content-disposition', `attachment; filename="${filename}"`)
    .header('cache-control', 'no-store')
    .header('x-content-type-options', 'nosniff')
    .send(pdf);
}

const documentRoutes: FastifyPluginAsync<DocumentRoutesOptions> = async (
  app: FastifyInstance,
  options,
) => {
  const { service, dossier, config } = options;
  app.addSchema(complianceDossierSchema);

  app.get<{ Params: { digest: Digest } }>(
    '/evidence/:digest/certificate.pdf',
    {
      onRequest: app.requireRoles(...KEY_ROLES),
      schema: {
        tags: ['evidence'],
        summary: 'The deposit certificate (PDF) of your receipt of a digest',
        description:
          "One A4 page summarising the caller's receipt: certificate number, digests, chain facts, " +
          'issuing node, QR code to the public verification page. A depositor gets the certificate ' +
          'of their own deposit or attestation only (403 FORBIDDEN otherwise); a court or an admin ' +
          'gets that of the first deposit.',
        security: SECURITY,
        params: digestParamsSchema,
        response: { 200: PDF_RESPONSE, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const principal = request.principal;
      if (!principal) throw new AccessError('UNAUTHENTICATED', 'an API key is required');
      const receipt = await service.receipt(request.params.digest, principal);
      if (!receipt)
        throw new StateError('EVIDENCE_NOT_FOUND', `${request.params.digest} is not on chain`);
      const { depositor } = receipt.record;
      const own = depositor.org === principal.org && depositor.account === principal.account;
      if (!own && !ANY_DEPOSITOR_ROLES.includes(principal.role)) {
        throw new AccessError(
          'FORBIDDEN',
          'a certificate is issued to the depositor of the evidence, a court or an admin',
        );
      }
      const pdf = await options.pdf.certificate({
        receipt,
        issuingNode: {
          name: nodeNameOf(config),
          chainId: receipt.ledger.chainId,
          ...(config.publicUrl !== undefined ? { url: config.publicUrl } : {}),
        },
        ...(config.publicUrl !== undefined
          ? { publicVerifyUrl: `${config.publicUrl}${VERIFY_PAGE_PATH}` }
          : {}),
      });
      return sendPdf(reply, pdf, `certificate-${certificateNumber(receipt)}.pdf`);
    },
  );

  const dossierSchema = (summary: string, ok: object) => ({
    tags: ['admin'],
    summary,
    description:
      "The node's own statement for a court examining the platform: node and organisation " +
      'identities, algorithms and standards and where they are used, software version and code ' +
      'digest, chain statistics, anchor targets, audit summary.',
    security: SECURITY,
    response: { 200: ok, ...ERROR_RESPONSES },
  });

  app.get(
    '/admin/dossier',
    {
      onRequest: app.requireRoles('admin'),
      schema: dossierSchema('The compliance dossier (JSON)', schemaRef('compliance-dossier')),
    },
    async (_request, reply) =>
      reply.header('cache-control', 'no-store').send(await dossier.build()),
  );

  app.get(
    '/admin/dossier.pdf',
    {
      onRequest: app.requireRoles('admin'),
      schema: dossierSchema('The compliance dossier (PDF)', PDF_RESPONSE),
    },
    async (_request, reply) => {
      const built = await dossier.build();
      const day = built.generatedAt.slice(0, 10);
      return sendPdf(
        reply,
        await options.pdf.dossier(built),
        `dossier-${built.node.chainId}-${day}.pdf`,
      );
    },
  );
};

export default documentRoutes;
