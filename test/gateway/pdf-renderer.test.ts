/**
 * PDFs rendered on a thread of their own give the bytes rendering on the caller's thread gives,
 * errors cross with their codes, a thread that dies is replaced, and a closed renderer refuses.
 */

import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LedgerError, ValidationError } from '../../core/errors';
import {
  inlinePdfRenderer,
  threadedPdfRenderer,
  type PdfRenderer,
} from '../../gateway/pdf/pdf-renderer';
import { ensureBuilt } from '../support/build';
import { rejectionOf } from '../support/rejection';
import { makeFixture } from '../support/receipt-factory';

const PDF_THREAD = path.resolve('dist/gateway/pdf/pdf-thread.js');

describe('PDF renderers', () => {
  const renderers: PdfRenderer[] = [];
  const dirs: string[] = [];
  beforeAll(() => ensureBuilt());
  afterEach(async () => {
    for (const renderer of renderers.splice(0)) await renderer.close();
    for (const dir of dirs.splice(0)) await fs.rm(dir, { recursive: true, force: true });
  });

  it('renders on its thread the same certificate bytes as on this one', async () => {
    const threaded = threadedPdfRenderer(PDF_THREAD);
    renderers.push(threaded);
    const receipt = makeFixture(1).receipts[0]!;
    const input = { receipt, issuingNode: { name: 'Court node', chainId: receipt.ledger.chainId } };
    const [there, here] = await Promise.all([
      threaded.certificate(input),
      inlinePdfRenderer().certificate(input),
    ]);
    expect(Buffer.isBuffer(there)).toBe(true);
    expect(there.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(there.equals(here)).toBe(true);
  });

  it('refuses a malformed receipt with its code, and renders again afterwards', async () => {
    const threaded = threadedPdfRenderer(PDF_THREAD);
    renderers.push(threaded);
    const receipt = makeFixture(1).receipts[0]!;
    const error = await rejectionOf(
      threaded.certificate({
        receipt: { ...receipt, version: 9 } as unknown as typeof receipt,
        issuingNode: { name: 'n', chainId: receipt.ledger.chainId },
      }),
    );
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).code).toBe('RECEIPT_MALFORMED');
    const pdf = await threaded.certificate({
      receipt,
      issuingNode: { name: 'n', chainId: receipt.ledger.chainId },
    });
    expect(pdf.length).toBeGreaterThan(1000);
  });

  /**
   * A stand-in thread script in a fresh folder: its first thread misbehaves at its first call
   * (`exit`: the thread exits with code 9; `hang`: it never answers); every later thread answers
   * each call with the bytes `%PDF`.
   */
  async function onceFaultyThread(fault: 'exit' | 'hang'): Promise<string> {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pdf-thread-'));
    dirs.push(dir);
    const script = path.join(dir, 'thread.js');
    await fs.writeFile(
      script,
      [
        "const fs = require('node:fs');",
        "const { parentPort } = require('node:worker_threads');",
        `const marker = ${JSON.stringify(path.join(dir, 'faulted'))};`,
        'const first = !fs.existsSync(marker);',
        'if (first) fs.writeFileSync(marker, "");',
        'parentPort.on("message", (call) => {',
        `  if (first) { if (${JSON.stringify(fault)} === 'exit') process.exit(9); return; }`,
        '  parentPort.postMessage({ id: call.id, value: new Uint8Array([37, 80, 68, 70]) });',
        '});',
        'parentPort.postMessage({ ready: true });',
      ].join('\n'),
    );
    return script;
  }

  it('replaces a thread that died; the call it took fails with RENDERER_UNAVAILABLE', async () => {
    const renderer = threadedPdfRenderer(await onceFaultyThread('exit'));
    renderers.push(renderer);
    const receipt = makeFixture(1).receipts[0]!;
    const input = { receipt, issuingNode: { name: 'n', chainId: receipt.ledger.chainId } };
    const died = await rejectionOf(renderer.certificate(input));
    expect((died as LedgerError).code).toBe('RENDERER_UNAVAILABLE');
    expect((died as LedgerError).message).toMatch(/exit code 9/);
    expect((await renderer.certificate(input)).toString('latin1')).toBe('%PDF');
  });

  it('fails with RENDERER_UNAVAILABLE when the thread cannot start, each call trying again', async () => {
    const renderer = threadedPdfRenderer(path.join(os.tmpdir(), 'no-such-pdf-thread.js'));
    renderers.push(renderer);
    const receipt = makeFixture(1).receipts[0]!;
    const input = { receipt, issuingNode: { name: 'n', chainId: receipt.ledger.chainId } };
    for (let attempt = 0; attempt < 2; attempt++) {
      const failed = await rejectionOf(renderer.certificate(input));
      expect((failed as LedgerError).code).toBe('RENDERER_UNAVAILABLE');
      expect((failed as LedgerError).message).toMatch(/PDF thread/);
    }
  });

  it('ends a thread that does not answer in time with OVERLOADED, and renders on a new one', async () => {
    const renderer = threadedPdfRenderer(await onceFaultyThread('hang'), 300);
    renderers.push(renderer);
    const receipt = makeFixture(1).receipts[0]!;
    const input = { receipt, issuingNode: { name: 'n', chainId: receipt.ledger.chainId } };
    const late = await rejectionOf(renderer.certificate(input));
    expect(late).toBeInstanceOf(LedgerError);
    expect((late as LedgerError).code).toBe('OVERLOADED');
    expect((await renderer.certificate(input)).toString('latin1')).toBe('%PDF');
  });

  it('refuses to render once closed', async () => {
    const threaded = threadedPdfRenderer(PDF_THREAD);
    await threaded.close();
    await threaded.close();
    const receipt = makeFixture(1).receipts[0]!;
    const error = await rejectionOf(
      threaded.certificate({
        receipt,
        issuingNode: { name: 'n', chainId: receipt.ledger.chainId },
      }),
    );
    expect(error).toBeInstanceOf(LedgerError);
    expect((error as LedgerError).code).toBe('LEDGER_CLOSED');
  });
});
