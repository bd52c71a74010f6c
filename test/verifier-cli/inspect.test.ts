import { afterAll, describe, expect, it } from 'vitest';
import { blockHash } from '../../core/block';
import { makeFixture } from '../support/receipt-factory';
import { runCli, tempDir } from './cli-harness';

const temp = tempDir();
afterAll(() => temp.cleanup());

const fixture = makeFixture(3, {
  item: {
    evidenceType: 'web-capture',
    mediaType: 'text/html',
    process: { token: 'order-42', phase: 'during' },
  },
});
const receipt = fixture.receipts[2]!;
const text = JSON.stringify(receipt, null, 2);
temp.write('r.json', text);

describe('evidence inspect', () => {
  it('prints the claims of a receipt as JSON', async () => {
    const run = await runCli(['inspect', 'r.json', '--json'], { cwd: temp.dir });
    expect(run.status).toBe(0);
    expect(run.json()).toEqual({
      receipt: {
        path: 'r.json',
        bytes: Buffer.byteLength(text),
        type: 'judicial-evidence-receipt',
        version: 1,
      },
      digests: receipt.record.digests,
      evidenceType: 'web-capture',
      mediaType: 'text/html',
      depositor: receipt.record.depositor,
      process: { token: 'order-42', phase: 'during' },
      ledger: receipt.ledger,
      batch: { leafIndex: 2, size: 3, root: receipt.inclusion.root },
      block: {
        number: 7,
        hash: blockHash(receipt.proof.block.header),
        txIndex: receipt.proof.txIndex,
        txCount: receipt.proof.block.header.txCount,
      },
      signer: { keyId: fixture.key.keyId, algorithm: 'ed25519' },
      anchors: [],
    });
  });

  it('prints one line per claim for people', async () => {
    const run = await runCli(['inspect', 'r.json'], { cwd: temp.dir });
    expect(run.status).toBe(0);
    for (const label of [
      'digests',
      'depositor',
      'chain',
      'block',
      'transaction',
      'time',
      'batch',
      'signer key',
    ]) {
      expect(run.stdout).toMatch(new RegExp(`^${label} +\\S`, 'm'));
    }
    expect(run.stdout).toContain(receipt.ledger.txId);
  });

  it('exits 2 (RECEIPT_MALFORMED) for a receipt of the wrong shape and lists every bad field', async () => {
    const broken = {
      ...receipt,
      version: 9,
      ledger: { ...receipt.ledger, blockNumber: -1 },
    } as Record<string, unknown>;
    delete broken.proof;
    temp.write('broken.json', JSON.stringify(broken));
    const run = await runCli(['inspect', 'broken.json'], { cwd: temp.dir });
    expect(run.status).toBe(2);
    expect(run.errorCodes).toEqual(['RECEIPT_MALFORMED']);
    const fields = [...run.stderr.matchAll(/^ {2}(\S+) \((\w+)\): /gm)].map(
      (m) => `${m[1]} ${m[2]}`,
    );
    expect(fields).toEqual(
      expect.arrayContaining(['/version const', '/ledger/blockNumber minimum', '/proof required']),
    );
  });

  it('lists the fields in the JSON error with --json', async () => {
    const run = await runCli(['inspect', 'broken.json', '--json'], { cwd: temp.dir });
    expect(run.status).toBe(2);
    const { error } = run.json<{ error: { code: string; fields: { path: string }[] } }>();
    expect(error.code).toBe('RECEIPT_MALFORMED');
    expect(error.fields.map((f) => f.path)).toContain('/proof');
  });

  it('exits 2 (INVALID_JSON) for a file that is not JSON', async () => {
    temp.write('garbage.json', '\u0000\u0001 not json');
    const run = await runCli(['inspect', 'garbage.json'], { cwd: temp.dir });
    expect(run.status).toBe(2);
    expect(run.errorCodes).toEqual(['INVALID_JSON']);
  });

  it('exits 3 (IO_ERROR) for a missing file', async () => {
    const run = await runCli(['inspect', 'nowhere.json'], { cwd: temp.dir });
    expect(run.status).toBe(3);
    expect(run.errorCodes).toEqual(['IO_ERROR']);
  });

  it('exits 2 (USAGE) without a receipt or with two', async () => {
    expect((await runCli(['inspect'], { cwd: temp.dir })).status).toBe(2);
    expect((await runCli(['inspect', 'r.json', 'r.json'], { cwd: temp.dir })).status).toBe(2);
  });
});
