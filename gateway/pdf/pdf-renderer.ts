/**
 * Where the node renders the PDFs it serves (deposit certificates, the compliance dossier). A
 * certificate takes tens of milliseconds of CPU (hundreds for the first, which loads the fonts); on
 * the thread that answers HTTP every deposit waiting behind it would wait that long too. The node
 * therefore renders on a thread of its own (`threadedPdfRenderer`), started at the first PDF and
 * started again after a failure; `inlinePdfRenderer` renders on the caller's thread (tests, and the
 * CLI, which has nothing else to do meanwhile). Both give the same bytes: rendering is
 * deterministic (documents/).
 */

import * as path from 'node:path';
import type { ComplianceDossier } from '../../core/dossier';
import { renderCertificatePdf, type CertificateInput } from '../../documents/certificate';
import { renderDossierPdf } from '../../documents/dossier';
import { LedgerError } from '../../core/errors';
import { startThread, ThreadCaller } from '../threads/rpc';

export interface PdfRenderer {
  certificate(input: CertificateInput): Promise<Buffer>;
  dossier(dossier: ComplianceDossier): Promise<Buffer>;
  /** Ends a thread it started; safe to call twice. */
  close(): Promise<void>;
}

/** The methods the PDF thread serves. */
export const PDF_METHODS = ['certificate', 'dossier'] as const;

/** The default thread script, next to this module once compiled. */
export const PDF_THREAD_SCRIPT = path.join(__dirname, 'pdf-thread.js');

/** Renders on the caller's thread. */
export function inlinePdfRenderer(): PdfRenderer {
  return {
    certificate: renderCertificatePdf,
    dossier: renderDossierPdf,
    close: async () => undefined,
  };
}

/** A Buffer over the bytes a thread sent (structured clone delivers a plain Uint8Array). */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A PDF thread that is gone is the renderer's failure, not the ledger's. */
const PDF_THREAD = { unavailable: 'RENDERER_UNAVAILABLE' } as const;

/** How long one PDF may take before its thread is ended and the request refused. */
export const PDF_TIMEOUT_MS = 30_000;

/**
 * Renders on a thread of its own, started at the first call; a call that finds it dead starts a
 * new one (the call that was waiting when it died fails with `RENDERER_UNAVAILABLE`). A PDF not
 * rendered within `timeoutMs` fails with `OVERLOADED` and its thread is ended, so a render that
 * hangs holds neither the request nor the next one.
 */
export function threadedPdfRenderer(
  script: string = PDF_THREAD_SCRIPT,
  timeoutMs: number = PDF_TIMEOUT_MS,
): PdfRenderer {
  let thread: Promise<ThreadCaller> | undefined;
  let closed = false;
  const caller = (): Promise<ThreadCaller> => {
    if (thread === undefined) {
      const starting = startThread<object>(script, null, 'PDF', PDF_THREAD).then(
        ({ worker }) => new ThreadCaller(worker, 'PDF', PDF_THREAD),
      );
      // A failed start is not kept: the next call tries again.
      starting.catch(() => {
        if (thread === starting) thread = undefined;
      });
      thread = starting;
    }
    return thread;
  };
  const call = async (method: (typeof PDF_METHODS)[number], arg: unknown): Promise<Buffer> => {
    if (closed) throw new LedgerError('LEDGER_CLOSED', 'the node is shutting down');
    let starting = caller();
    let current = await starting;
    if (!current.alive && !closed) {
      if (thread === starting) thread = undefined;
      starting = caller();
      current = await starting;
    }
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        // Only this call's thread: another call may have started a new one meanwhile.
        if (thread === starting) thread = undefined;
        void current.close();
        reject(
          new LedgerError('OVERLOADED', `the PDF was not rendered in ${timeoutMs / 1000} s; retry`),
        );
      }, timeoutMs);
    });
    try {
      return asBuffer(await Promise.race([current.call<Uint8Array>(method, [arg]), late]));
    } finally {
      clearTimeout(timer);
    }
  };
  return {
    certificate: (input) => call('certificate', input),
    dossier: (dossier) => call('dossier', dossier),
    close: async () => {
      closed = true;
      const running = thread;
      thread = undefined;
      if (running) await (await running.catch(() => undefined))?.close();
    },
  };
}
