import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { digestBytes } from '../../core/digest';
import type { Receipt } from '../../core/receipt';
import { makeFixture } from '../support/receipt-factory';
import {
  deadUrl,
  runCli,
  startServer,
  tempDir,
  type Handler,
  type TestServer,
} from './cli-harness';

const temp = tempDir();
const files = {
  'contract.pdf': Buffer.from(
    'PLAINTEXT-CONTRACT-BYTES the parties agree to pay in four instalments',
  ),
  'photo.jpg': Buffer.from('PLAINTEXT-PHOTO-BYTES \u00ff\u00d8 a photograph of the damaged goods'),
  'chat.txt': Buffer.from('PLAINTEXT-CHAT-BYTES seller: the goods left the warehouse intact'),
};
for (const [name, data] of Object.entries(files)) temp.write(name, data);
const fixture = makeFixture(Object.values(files));
const receiptBySha256 = new Map<string, Receipt>(
  fixture.receipts.map((receipt) => [receipt.record.digests[0] as string, receipt]),
);
const sha256Of = (name: keyof typeof files) => digestBytes(files[name]).sha256;

interface BatchBody {
  items: { digests: string[]; size: number; evidenceType?: string; mediaType?: string }[];
}

/** A gateway that answers each item from the fixture, refusing the digests in `refuse`. */
function batchGateway(refuse: Set<string> = new Set()): Handler {
  return (request) => {
    if (request.method !== 'POST' || request.url !== '/v1/evidence/batch') {
      return { status: 404, body: { statusCode: 404, code: 'NOT_FOUND', message: 'no route' } };
    }
    const { items } = JSON.parse(request.body) as BatchBody;
    return {
      status: 200,
      body: {
        results: items.map((item, index) => {
          const digest = item.digests[0] as string;
          if (refuse.has(digest)) {
            return {
              index,
              error: { code: 'FORBIDDEN', message: 'this principal may not deposit here' },
            };
          }
          return { index, status: 'created', digest, receipt: receiptBySha256.get(digest) };
        }),
      },
    };
  };
}

let handler: Handler;
let server: TestServer;
beforeAll(async () => {
  server = await startServer((request) => handler(request));
});
beforeEach(() => {
  handler = batchGateway();
  server.requests.length = 0;
});
afterAll(async () => {
  await server.close();
  temp.cleanup();
});

const env = { EVIDENCE_API_KEY: 'test-key-0123456789' };

describe('evidence deposit', () => {
  it('sends only digests and sizes, authenticates, and writes each receipt next to its file', async () => {
    const run = await runCli(
      [
        'deposit',
        'contract.pdf',
        'photo.jpg',
        '--gateway',
        server.url,
        '--type',
        'contract',
        '--force',
      ],
      { cwd: temp.dir, env, fetch },
    );
    expect(run.status).toBe(0);
    expect(server.requests).toHaveLength(1);
    const [request] = server.requests;
    expect(request?.method).toBe('POST');
    expect(request?.url).toBe('/v1/evidence/batch');
    expect(request?.headers.authorization).toBe(`Bearer ${env.EVIDENCE_API_KEY}`);
    expect(request?.headers['content-type']).toBe('application/json');
    const body = JSON.parse(request?.body ?? '') as BatchBody;
    expect(body).toEqual({
      items: [
        {
          digests: [sha256Of('contract.pdf'), digestBytes(files['contract.pdf']).sm3],
          size: files['contract.pdf'].length,
          evidenceType: 'contract',
        },
        {
          digests: [sha256Of('photo.jpg'), digestBytes(files['photo.jpg']).sm3],
          size: files['photo.jpg'].length,
          evidenceType: 'contract',
        },
      ],
    });
    expect(request?.body).not.toContain('PLAINTEXT');
    for (const data of [files['contract.pdf'], files['photo.jpg']]) {
      expect(request?.body).not.toContain(data.toString('base64').slice(0, 16));
      expect(request?.body).not.toContain(data.toString('hex').slice(0, 16));
    }
    const written = JSON.parse(
      readFileSync(join(temp.dir, 'contract.pdf.receipt.json'), 'utf8'),
    ) as unknown;
    expect(written).toEqual(receiptBySha256.get(sha256Of('contract.pdf')));
    expect(run.stdout).toMatch(/^created +contract\.pdf -> contract\.pdf\.receipt\.json$/m);
  });

  it('writes receipts that `evidence verify` accepts', async () => {
    temp.write('trust.json', JSON.stringify(fixture.trust));
    await runCli(['deposit', 'chat.txt', '--gateway', server.url, '--force'], {
      cwd: temp.dir,
      env,
      fetch,
    });
    const run = await runCli(
      ['verify', 'chat.txt', '--receipt', 'chat.txt.receipt.json', '--trust', 'trust.json'],
      {
        cwd: temp.dir,
      },
    );
    expect(run.status).toBe(0);
  });

  it('takes --key over EVIDENCE_API_KEY and writes into --out DIR', async () => {
    const run = await runCli(
      [
        'deposit',
        'chat.txt',
        '--gateway',
        `${server.url}/`,
        '--key',
        'flag-key',
        '--out',
        'receipts/today',
        '--json',
      ],
      { cwd: temp.dir, env, fetch },
    );
    expect(run.status).toBe(0);
    expect(server.requests[0]?.headers.authorization).toBe('Bearer flag-key');
    expect(existsSync(join(temp.dir, 'receipts/today/chat.txt.receipt.json'))).toBe(true);
    expect(run.json()).toEqual({
      gateway: `${server.url}/`,
      results: [
        {
          file: 'chat.txt',
          size: files['chat.txt'].length,
          digests: digestBytes(files['chat.txt']),
          status: 'created',
          receipt: join('receipts/today', 'chat.txt.receipt.json'),
        },
      ],
    });
  });

  it('deposits every file of a FOLDER and its subfolders, leaving its receipts out', async () => {
    const folder = tempDir();
    try {
      folder.write('case/contract.pdf', files['contract.pdf']);
      folder.write('case/media/photo.jpg', files['photo.jpg']);
      folder.write('case/old.pdf.receipt.json', '{}');
      folder.write('case/media/photo.jpg.receipt.json.bak', '{}');
      const run = await runCli(['deposit', 'case', '--gateway', server.url, '--json'], {
        cwd: folder.dir,
        env,
        fetch,
      });
      expect(run.status, run.stderr).toBe(0);
      const body = JSON.parse(server.requests[0]?.body ?? '{}') as BatchBody;
      expect(body.items.map((item) => item.digests[0])).toEqual([
        sha256Of('contract.pdf'),
        sha256Of('photo.jpg'),
      ]);
      expect(
        run
          .json<{ results: { file: string; receipt: string }[] }>()
          .results.map((r) => [r.file, r.receipt]),
      ).toEqual([
        [join('case', 'contract.pdf'), join('case', 'contract.pdf.receipt.json')],
        [join('case', 'media/photo.jpg'), join('case', 'media/photo.jpg.receipt.json')],
      ]);
      expect(existsSync(join(folder.dir, 'case/media/photo.jpg.receipt.json'))).toBe(true);
      // ... which verify-all then checks, offline.
      folder.write('trust.json', JSON.stringify(fixture.trust));
      const verified = await runCli(['verify-all', 'case', '--trust', 'trust.json', '--json'], {
        cwd: folder.dir,
      });
      expect(verified.json<{ counts: Record<string, number> }>().counts).toEqual({
        VERIFIED: 2,
        FILE_MISSING: 1,
      });
      const empty = tempDir();
      empty.write('only/x.receipt.json', '{}');
      const none = await runCli(['deposit', 'only', '--gateway', server.url], {
        cwd: empty.dir,
        env,
        fetch,
      });
      expect(none.status).toBe(2);
      expect(none.stderr).toContain('only holds no file to deposit');
      empty.cleanup();
    } finally {
      folder.cleanup();
    }
  });

  it('exits 1 when some items are refused, and writes the receipts of the others only', async () => {
    const dir = 'partial';
    handler = batchGateway(new Set([sha256Of('photo.jpg')]));
    const run = await runCli(
      ['deposit', 'contract.pdf', 'photo.jpg', '--gateway', server.url, '--out', dir, '--json'],
      { cwd: temp.dir, env, fetch },
    );
    expect(run.status).toBe(1);
    const results = run.json<{
      results: { file: string; status?: string; error?: { code: string } }[];
    }>().results;
    expect(results.map((r) => [r.file, r.status ?? r.error?.code])).toEqual([
      ['contract.pdf', 'created'],
      ['photo.jpg', 'FORBIDDEN'],
    ]);
    expect(existsSync(join(temp.dir, dir, 'contract.pdf.receipt.json'))).toBe(true);
    expect(existsSync(join(temp.dir, dir, 'photo.jpg.receipt.json'))).toBe(false);
  });

  it('exits 3 (NETWORK_ERROR) when the gateway is down, having written nothing', async () => {
    const run = await runCli(
      ['deposit', 'contract.pdf', 'photo.jpg', '--gateway', await deadUrl(), '--out', 'down'],
      { cwd: temp.dir, env, fetch },
    );
    expect(run.status).toBe(3);
    expect(run.errorCodes).toEqual(['NETWORK_ERROR']); // once for the whole request
    expect(run.stderr).toMatch(/^error NETWORK_ERROR: contract\.pdf, photo\.jpg: .*ECONNREFUSED/m);
    expect(existsSync(join(temp.dir, 'down', 'contract.pdf.receipt.json'))).toBe(false);
  });

  it('exits 3 on a gateway 5xx, keeping its ledger code', async () => {
    handler = () => ({
      status: 503,
      body: { statusCode: 503, code: 'LEDGER_UNAVAILABLE', message: 'ledger down' },
    });
    const run = await runCli(['deposit', 'contract.pdf', '--gateway', server.url, '--force'], {
      cwd: temp.dir,
      env,
      fetch,
    });
    expect(run.status).toBe(3);
    expect(run.errorCodes).toEqual(['LEDGER_UNAVAILABLE']);
  });

  it('exits 3 (GATEWAY_ERROR) on a 5xx that is not JSON', async () => {
    handler = () => ({ status: 502, body: '<html>bad gateway</html>' });
    const run = await runCli(['deposit', 'contract.pdf', '--gateway', server.url, '--force'], {
      cwd: temp.dir,
      env,
      fetch,
    });
    expect(run.status).toBe(3);
    expect(run.errorCodes).toEqual(['GATEWAY_ERROR']);
  });

  it('exits 2 when the gateway rejects the API key', async () => {
    handler = () => ({
      status: 401,
      body: { statusCode: 401, code: 'UNAUTHENTICATED', message: 'bad key' },
    });
    const run = await runCli(['deposit', 'contract.pdf', '--gateway', server.url, '--force'], {
      cwd: temp.dir,
      env,
      fetch,
    });
    expect(run.status).toBe(2);
    expect(run.errorCodes).toEqual(['UNAUTHENTICATED']);
  });

  it('refuses a receipt that is not for the file (exit 3) and does not write it', async () => {
    handler = (request) => {
      const { items } = JSON.parse(request.body) as BatchBody;
      const wrong = receiptBySha256.get(sha256Of('photo.jpg'));
      return {
        status: 200,
        body: { results: items.map((_, index) => ({ index, status: 'created', receipt: wrong })) },
      };
    };
    const run = await runCli(
      ['deposit', 'contract.pdf', '--gateway', server.url, '--out', 'wrong'],
      { cwd: temp.dir, env, fetch },
    );
    expect(run.status).toBe(3);
    expect(run.errorCodes).toEqual(['GATEWAY_RESPONSE_INVALID']);
    expect(existsSync(join(temp.dir, 'wrong', 'contract.pdf.receipt.json'))).toBe(false);
  });

  it('marks items the gateway did not answer as GATEWAY_RESPONSE_INVALID', async () => {
    handler = () => ({ status: 200, body: { results: [] } });
    const run = await runCli(
      ['deposit', 'contract.pdf', '--gateway', server.url, '--out', 'omitted', '--json'],
      {
        cwd: temp.dir,
        env,
        fetch,
      },
    );
    expect(run.status).toBe(3);
    expect(run.json<{ results: { error: { code: string } }[] }>().results[0]?.error.code).toBe(
      'GATEWAY_RESPONSE_INVALID',
    );
  });

  it('sends one item for two files with the same content and writes both receipts', async () => {
    temp.write('copy-of-contract.pdf', files['contract.pdf']);
    const run = await runCli(
      ['deposit', 'contract.pdf', 'copy-of-contract.pdf', '--gateway', server.url, '--out', 'same'],
      {
        cwd: temp.dir,
        env,
        fetch,
      },
    );
    expect(run.status).toBe(0);
    expect((JSON.parse(server.requests[0]?.body ?? '') as BatchBody).items).toHaveLength(1);
    expect(existsSync(join(temp.dir, 'same', 'copy-of-contract.pdf.receipt.json'))).toBe(true);
  });

  it('halves the batch when the gateway allows fewer items per request', async () => {
    const answer = batchGateway();
    handler = (request) => {
      const { items } = JSON.parse(request.body) as BatchBody;
      if (items.length > 1) {
        const message = 'a batch request holds at most 1 items';
        return { status: 400, body: { statusCode: 400, code: 'BATCH_TOO_LARGE', message } };
      }
      return answer(request);
    };
    const run = await runCli(
      [
        'deposit',
        'contract.pdf',
        'photo.jpg',
        'chat.txt',
        '--gateway',
        server.url,
        '--out',
        'small',
      ],
      { cwd: temp.dir, env, fetch },
    );
    expect(run.status).toBe(0);
    const sizes = server.requests.map((r) => (JSON.parse(r.body) as BatchBody).items.length);
    expect(sizes).toEqual([3, 2, 1, 1, 1]);
  });

  it('will not overwrite a receipt for other content (exit 2, OUTPUT_EXISTS) and sends nothing', async () => {
    temp.write(
      'keep/contract.pdf.receipt.json',
      JSON.stringify(receiptBySha256.get(sha256Of('photo.jpg'))),
    );
    const run = await runCli(
      ['deposit', 'contract.pdf', '--gateway', server.url, '--out', 'keep'],
      { cwd: temp.dir, env, fetch },
    );
    expect(run.status).toBe(2);
    expect(run.errorCodes).toEqual(['OUTPUT_EXISTS']);
    expect(server.requests).toHaveLength(0);
  });

  it('refreshes a receipt for the same content without --force', async () => {
    const run = await runCli(['deposit', 'contract.pdf', '--gateway', server.url], {
      cwd: temp.dir,
      env,
      fetch,
    });
    expect(run.status).toBe(0);
  });

  it.each([
    [['deposit', 'contract.pdf', '--gateway', 'http://127.0.0.1:1'], {}],
    [['deposit', 'contract.pdf'], env],
    [['deposit', '--gateway', 'http://127.0.0.1:1'], env],
    [['deposit', 'contract.pdf', '--gateway', 'ftp://example.org'], env],
    [['deposit', 'contract.pdf', '--gateway', 'http://127.0.0.1:1', '--type', 'novel'], env],
    [['deposit', 'contract.pdf', '--gateway', 'http://127.0.0.1:1', '--media-type', 'PDF'], env],
    [['deposit', 'contract.pdf', '--gateway', 'http://127.0.0.1:1', '--quietly'], env],
  ])('exits 2 (USAGE) before any request for %j', async (argv, variables) => {
    const run = await runCli(argv, { cwd: temp.dir, env: variables });
    expect(run.status).toBe(2);
    expect(run.errorCodes).toEqual(['USAGE']);
  });

  it('exits 3 (IO_ERROR) for a missing file, before any request', async () => {
    const run = await runCli(['deposit', 'contract.pdf', 'missing.pdf', '--gateway', server.url], {
      cwd: temp.dir,
      env,
      fetch,
    });
    expect(run.status).toBe(3);
    expect(run.errorCodes).toEqual(['IO_ERROR']);
    expect(server.requests).toHaveLength(0);
  });
});
