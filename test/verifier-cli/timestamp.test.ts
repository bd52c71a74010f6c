/**
 * `evidence trust add-authority` and `evidence timestamp` through `main()`, against a real RFC 3161
 * authority (OpenSSL's `ts -reply` behind HTTP): what is pinned, what is asked, what is refused
 * before anything is asked, and that a refused or failed stamp leaves the receipt as it was.
 */

import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyIdOf } from '../../core/signature';
import type { Receipt } from '../../core/receipt';
import type { TrustFile } from '../../core/trust';
import { makeFixture } from '../support/receipt-factory';
import {
  createTsaAuthority,
  startTsaServer,
  type TsaAuthority,
  type TsaServer,
} from '../support/openssl-tsa';
import { runCli, tempDir } from './cli-harness';

const temp = tempDir();
const fixture = makeFixture(3);
let authority: TsaAuthority;
let server: TsaServer;
const io = { cwd: temp.dir, fetch: (...args: Parameters<typeof fetch>) => fetch(...args) };

beforeAll(async () => {
  authority = await createTsaAuthority('ec');
  server = await startTsaServer(authority);
  temp.write('trust.json', JSON.stringify(fixture.trust));
  fixture.receipts.forEach((receipt, i) => temp.write(`r${i}.json`, JSON.stringify(receipt)));
  temp.write('tsa.pem', authority.certificatePem);
  temp.write('ca.pem', readFileSync(authority.caCertFile));
}, 60_000);
afterAll(async () => {
  await server.close();
  await authority.remove();
  temp.cleanup();
});

const readJson = <T>(name: string): T =>
  JSON.parse(readFileSync(`${temp.dir}/${name}`, 'utf8')) as T;

describe('evidence trust add-authority', () => {
  it("pins the certificate's key under the name, with its validity, and says the fingerprint", async () => {
    const run = await runCli(
      ['trust', 'add-authority', 'trust.json', '--name', 'tsa', '--cert', 'tsa.pem', '--json'],
      io,
    );
    expect(run.status, run.stderr).toBe(0);
    const keyId = keyIdOf(Buffer.from(authority.spkiBase64, 'base64'));
    expect(run.json()).toMatchObject({
      authority: 'tsa',
      keyId,
      algorithm: 'ecdsa-p256-sha256',
      added: true,
      certificateFingerprint: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
    });
    const trust = readJson<TrustFile>('trust.json');
    expect(trust.chains[1]).toMatchObject({
      kind: 'rfc3161',
      chainId: 'tsa',
      keys: [{ keyId, publicKey: authority.spkiBase64 }],
    });
    const again = await runCli(
      ['trust', 'add-authority', 'trust.json', '--name', 'tsa', '--cert', 'tsa.pem'],
      io,
    );
    expect(again.stdout).toContain('already pinned');
    expect(readJson<TrustFile>('trust.json').chains[1]?.keys).toHaveLength(1);
  });

  it('accepts only the policies named, added to those accepted before', async () => {
    const pin = (...policies: string[]) =>
      runCli(
        ['trust', 'add-authority', 'policies.json', '--name', 'tsa', '--cert', 'tsa.pem']
          .concat(policies.flatMap((p) => ['--policy', p]))
          .concat(['--json']),
        io,
      );
    expect((await pin('1.3.6.1.4.1.99999.1')).json()).toMatchObject({
      policies: ['1.3.6.1.4.1.99999.1'],
    });
    expect((await pin('0.4.0.2023.1.1')).json()).toMatchObject({
      policies: ['1.3.6.1.4.1.99999.1', '0.4.0.2023.1.1'],
    });
    const shown = await runCli(['trust', 'show', 'policies.json'], io);
    expect(shown.stdout).toContain('accepted policies 1.3.6.1.4.1.99999.1, 0.4.0.2023.1.1');
    const bad = await pin('not-an-oid');
    expect(bad.status).toBe(2);
    expect(bad.json()).toMatchObject({ error: { code: 'TRUST_MALFORMED' } });
  });

  it('creates a trust file that does not exist yet', async () => {
    const run = await runCli(
      ['trust', 'add-authority', 'tsa-only.json', '--name', 'tsa', '--cert', 'tsa.pem'],
      io,
    );
    expect(run.status, run.stderr).toBe(0);
    expect(readJson<TrustFile>('tsa-only.json').chains.map((c) => c.kind)).toEqual(['rfc3161']);
  });

  it('refuses a certificate not for time stamping, a chain name, a bad name, a missing flag', async () => {
    const cases: Array<[string[], string]> = [
      [['--name', 'x', '--cert', 'ca.pem'], 'not for time stamping'],
      [['--name', fixture.trust.chains[0]!.chainId, '--cert', 'tsa.pem'], 'already names chain'],
      [['--name', 'bad name', '--cert', 'tsa.pem'], 'not a name'],
      [['--cert', 'tsa.pem'], '--name'],
      [['--name', 'x', '--cert', 'trust.json'], 'not a certificate'],
    ];
    for (const [args, text] of cases) {
      const run = await runCli(['trust', 'add-authority', 'trust.json', ...args], io);
      expect(run.status, args.join(' ')).toBe(2);
      expect(run.stderr).toContain(text);
    }
  });
});

describe('evidence timestamp', () => {
  interface StampOptions {
    readonly tsa?: string;
    readonly authority?: string;
    readonly trust?: string;
    readonly fetch?: typeof fetch;
  }
  /** `evidence timestamp NAMES... MORE...` against the test authority unless `options` say otherwise. */
  const stampWith = (options: StampOptions, names: string[], ...more: string[]) =>
    runCli(
      ['timestamp', ...names, '--tsa', options.tsa ?? server.url]
        .concat([
          '--authority',
          options.authority ?? 'tsa',
          '--trust',
          options.trust ?? 'trust.json',
        ])
        .concat(more),
      { ...io, ...(options.fetch ? { fetch: options.fetch } : {}) },
    );
  const stamp = (names: string[], ...more: string[]) => stampWith({}, names, ...more);

  it('refuses before asking: no such authority pinned, a receipt that does not verify, usage', async () => {
    const asked = server.requests;
    const unpinned = await stampWith({ authority: 'nobody' }, ['r0.json']);
    expect([unpinned.status, unpinned.errorCodes]).toEqual([1, ['ANCHOR_UNTRUSTED']]);
    const other = makeFixture(1);
    temp.write('foreign.json', JSON.stringify(other.receipts[0]));
    const foreign = await stamp(['foreign.json']);
    expect([foreign.status, foreign.errorCodes]).toEqual([2, ['RECEIPT_MALFORMED']]);
    expect((await stamp(['r0.json', 'r1.json'], '--out', 'x.json')).status).toBe(2);
    expect((await stampWith({ tsa: 'ftp://x' }, ['r0.json'])).status).toBe(2);
    expect(server.requests).toBe(asked);
  });

  it('stamps receipts of one block with one request, writes a backup, and verifies', async () => {
    const asked = server.requests;
    const run = await stamp(['r0.json', 'r1.json'], '--json');
    expect(run.status, run.stderr).toBe(0);
    expect(server.requests - asked).toBe(1);
    const result = run.json<{
      receipts: Array<{ status: string; backup: string; serialNumber: string }>;
    }>();
    expect(result.receipts.map((r) => [r.status, r.backup])).toEqual([
      ['stamped', 'r0.json.bak'],
      ['stamped', 'r1.json.bak'],
    ]);
    expect(result.receipts[0]?.serialNumber).toBe(result.receipts[1]?.serialNumber);
    expect(readJson<Receipt>('r0.json.bak')).toEqual(fixture.receipts[0]);
    const stamped = readJson<Receipt>('r0.json');
    expect(stamped.anchors).toEqual([
      expect.objectContaining({ kind: 'rfc3161-timestamp', authority: 'tsa', headers: [] }),
    ]);
    temp.write('file0', fixture.files[0] as Buffer);
    const verified = await runCli(
      [
        'verify',
        'file0',
        '--receipt',
        'r0.json',
        '--trust',
        'trust.json',
        '--require-anchor=tsa',
        '--json',
      ],
      { cwd: temp.dir },
    );
    expect(verified.status, verified.stdout).toBe(0);
    temp.write('chain-only.json', JSON.stringify(fixture.trust));
    const unpinned = await runCli(
      ['verify', 'file0', '--receipt', 'r0.json', '--trust', 'chain-only.json'],
      { cwd: temp.dir },
    );
    expect(unpinned.status).toBe(1);
    expect(unpinned.stdout).toContain('UNTRUSTED (ANCHOR_UNTRUSTED)');
    expect(unpinned.stdout).toContain('evidence trust add-authority');
    const again = await stamp(['r0.json']);
    expect(again.stdout).toContain('unchanged r0.json: already stamped by tsa');
    const shown = (await stamp(['r0.json'], '--json')).json<typeof result>();
    expect(shown.receipts[0]).toMatchObject({
      status: 'unchanged',
      serialNumber: result.receipts[0]?.serialNumber,
    });
    expect(server.requests - asked).toBe(1);
  });

  it('stamps every receipt under a folder, and refuses a folder without one', async () => {
    const other = makeFixture(2);
    temp.write('other-trust.json', JSON.stringify(other.trust));
    await runCli(
      ['trust', 'add-authority', 'other-trust.json', '--name', 'tsa', '--cert', 'tsa.pem'],
      io,
    );
    temp.write('case/b.pdf.receipt.json', JSON.stringify(other.receipts[0]));
    temp.write('case/sub/a.pdf.receipt.json', JSON.stringify(other.receipts[1]));
    temp.write('case/c.pdf.receipt.json.bak', 'not read');
    temp.write('case/notes.txt', 'not a receipt');
    temp.write('empty/notes.txt', 'not a receipt');
    const run = await stampWith({ trust: 'other-trust.json' }, ['case'], '--json');
    expect(run.status, run.stdout + run.stderr).toBe(0);
    expect(run.json<{ receipts: Array<{ receipt: string; status: string }> }>().receipts).toEqual([
      expect.objectContaining({ receipt: 'case/b.pdf.receipt.json', status: 'stamped' }),
      expect.objectContaining({ receipt: 'case/sub/a.pdf.receipt.json', status: 'stamped' }),
    ]);
    expect(readFileSync(`${temp.dir}/case/c.pdf.receipt.json.bak`, 'utf8')).toBe('not read');
    const empty = await stampWith({ trust: 'other-trust.json' }, ['empty']);
    expect([empty.status, empty.errorCodes]).toEqual([2, ['USAGE']]);
  });

  it('leaves the receipt as it was when the authority refuses, fails or answers garbage', async () => {
    const before = readFileSync(`${temp.dir}/r2.json`, 'utf8');
    for (const [mode, status, code] of [
      ['reject', 1, 'TIMESTAMP_REFUSED'],
      ['garbage', 3, 'TSA_ERROR'],
      ['http-500', 3, 'TSA_ERROR'],
    ] as const) {
      server.setMode(mode);
      const run = await stamp(['r2.json']);
      expect([run.status, run.errorCodes], mode).toEqual([status, [code]]);
      expect(readFileSync(`${temp.dir}/r2.json`, 'utf8')).toBe(before);
    }
    server.setMode('ok');
    const down = await stampWith({ tsa: 'http://127.0.0.1:1/' }, ['r2.json']);
    expect([down.status, down.errorCodes]).toEqual([3, ['NETWORK_ERROR']]);
    expect(down.stderr).toContain('time-stamp authority');
    // An answer that never ends is cut off, whether or not it declares its length.
    let pulled = 0;
    const endless = async () =>
      new Response(
        new ReadableStream({
          pull(controller) {
            pulled += 1;
            controller.enqueue(new Uint8Array(64 * 1024));
          },
        }),
        { status: 200, headers: { 'content-type': 'application/timestamp-reply' } },
      );
    const flooded = await stampWith(
      { tsa: 'http://tsa.test/', fetch: endless as unknown as typeof fetch },
      ['r2.json'],
    );
    expect([flooded.status, flooded.errorCodes]).toEqual([3, ['TSA_ERROR']]);
    expect(flooded.stderr).toContain('more than');
    expect(pulled).toBeLessThan(10);
    expect(readFileSync(`${temp.dir}/r2.json`, 'utf8')).toBe(before);
  });
});
