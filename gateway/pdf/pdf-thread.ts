/**
 * The PDF thread (see ./pdf-renderer.ts): renders certificates and dossiers for the node, off the
 * thread that answers HTTP.
 */

import { parentPort } from 'node:worker_threads';
import type { ComplianceDossier } from '../../core/dossier';
import { renderCertificatePdf, type CertificateInput } from '../../documents/certificate';
import { renderDossierPdf } from '../../documents/dossier';
import { serveCalls, type ThreadReady } from '../threads/rpc';
import { nameThisThread, PDF_THREAD_NAME } from '../threads/thread-name';
import { PDF_METHODS } from './pdf-renderer';

if (parentPort) {
  nameThisThread(PDF_THREAD_NAME);
  serveCalls(parentPort, PDF_METHODS, (method, [arg]) =>
    method === 'certificate'
      ? renderCertificatePdf(arg as CertificateInput)
      : renderDossierPdf(arg as ComplianceDossier),
  );
  parentPort.postMessage({ ready: true } satisfies ThreadReady<object>);
}
