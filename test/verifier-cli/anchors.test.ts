/**
 * The CLI's half of anchors: `evidence upgrade` (the flag plumbing, the checks on the gateway's
 * answer, safe writing) against a local HTTP server, and `evidence verify --require-anchor`
 * offline, on receipts anchored on a court chain (test/support/receipt-factory.ts).
 */

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Receipt } from '../../core/receipt';
import { makeAnchoredFixture } from '../support/receipt-factory';
import {
  forbiddenFetch,
  runCli,
  startServer,
  tempDir,
  type Handler,
  type TestServer,
} from './cli-harness';

const temp = tempDir();
const content = Buffer.from('mediation agreement, signed 2026-11-28\n');
const fixture = makeAnchoredFixture([content, Buffer.from('another file')], {
  courtOperator: 'Hangzhou Internet Court',
  distance: 4,
});
const plain = fixture.plain[0] as Receipt;
const anchored = fixture.receipts[0] as Receipt;
const KEY = 'ek_test-key';

temp.write('agreement.pdf', content);
temp.write('evidence.json', JSON.stringify(fixture.evidenceTrust));
temp.write('court.json', JSON.stringify(fixture.courtTrust));

let handler: Handler;
let server: TestServer;
beforeAll(async () => {
  server = await startServer((request) => handler(request));
});
beforeEach(() => {
  handler = (request) =>
    request.url === '/v1/receipts/upgrade'
      ? {
          status: 200,
          body: { ...(JSON.parse(request.body) as Receipt), anchors: anchored.anchors },
        }
      : { status: 404, body: { statusCode: 404, code: 'NOT_FOUND', message: 'no route' } };
});
afterAll(async () => {
  await server.close();
  temp.cleanup();
});

const read = (name: string): unknown => JSON.parse(readFileSync(join(temp.dir, name), 'utf8'));

interface UpgradeJson {
  status: string;
  out: string | null;
  backup: string | null;
  anchors: number;
  added: { targetChainId: string; sourceBlockNumber: number; headers: number }[];
}

describe('evidence upgrade', () => {
  it('adds the anchors in place, keeping the receipt as it was in .bak, and sends the key', async () => {
    const original = `${JSON.stringify(plain, null, 2)}\n`;
    temp.write('a.receipt.json', original);
    const run = await runCli(
      ['upgrade', 'a.receipt.json', '--gateway', server.url, '--key', KEY, '--json'],
      { cwd: temp.dir, fetch },
    );
    expect(run.status, run.stderr).toBe(0);
    expect(run.json<UpgradeJson>()).toMatchObject({
      status: 'upgraded',
      out: 'a.receipt.json',
      backup: 'a.receipt.json.bak',
      anchors: 1,
      added: [
        {
          targetChainId: fixture.courtChainId,
          sourceBlockNumber: fixture.evidenceBlock + 4,
          headers: 4,
        },
      ],
    });
    expect(read('a.receipt.json')).toEqual(anchored);
    expect(readFileSync(join(temp.dir, 'a.receipt.json.bak'), 'utf8')).toBe(original);
    const request = server.requests.at(-1);
    expect(request).toMatchObject({ method: 'POST', url: '/v1/receipts/upgrade' });
    expect(request?.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(JSON.parse(request?.body ?? '')).toEqual(plain);
  });

  it('keeps an older backup of the same receipt, and writes nothing when nothing is new', async () => {
    // a.receipt.json is upgraded now; upgrading again adds nothing.
    const run = await runCli(['upgrade', 'a.receipt.json', '--gateway', server.url, '--key', KEY], {
      cwd: temp.dir,
      fetch,
    });
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^unchanged a\.receipt\.json/);
    expect(read('a.receipt.json.bak')).toEqual(plain);
  });

  it('writes to --out and leaves the receipt alone; refuses a different existing --out', async () => {
    temp.write('b.receipt.json', JSON.stringify(plain));
    const env = { EVIDENCE_API_KEY: KEY };
    const run = await runCli(
      ['upgrade', 'b.receipt.json', '--gateway', server.url, '--out', 'b.anchored.json'],
      { cwd: temp.dir, fetch, env },
    );
    expect(run.status, run.stderr).toBe(0);
    expect(read('b.receipt.json')).toEqual(plain);
    expect(read('b.anchored.json')).toEqual(anchored);
    expect(existsSync(join(temp.dir, 'b.receipt.json.bak'))).toBe(false);
    writeFileSync(join(temp.dir, 'b.other.json'), '{}');
    const refused = await runCli(
      ['upgrade', 'b.receipt.json', '--gateway', server.url, '--out', 'b.other.json'],
      { cwd: temp.dir, fetch, env },
    );
    expect(refused.status).toBe(2);
    expect(refused.errorCodes).toEqual(['OUTPUT_EXISTS']);
    expect(readFileSync(join(temp.dir, 'b.other.json'), 'utf8')).toBe('{}');
  });

  it('refuses an answer that changes anything but the anchors (exit 3), writing nothing', async () => {
    temp.write('c.receipt.json', JSON.stringify(plain));
    handler = () => ({
      status: 200,
      body: { ...anchored, ledger: { ...anchored.ledger, time: '2020-01-01T00:00:00.000Z' } },
    });
    const run = await runCli(['upgrade', 'c.receipt.json', '--gateway', server.url, '--key', KEY], {
      cwd: temp.dir,
      fetch,
    });
    expect(run.status).toBe(3);
    expect(run.errorCodes).toEqual(['GATEWAY_RESPONSE_INVALID']);
    expect(read('c.receipt.json')).toEqual(plain);
    expect(existsSync(join(temp.dir, 'c.receipt.json.bak'))).toBe(false);
  });

  it('exits 1 with ANCHOR_PENDING while no anchor covers the receipt', async () => {
    temp.write('d.receipt.json', JSON.stringify(plain));
    handler = () => ({
      status: 404,
      body: { statusCode: 404, code: 'ANCHOR_PENDING', message: 'no anchor covers block 5 yet' },
    });
    const run = await runCli(['upgrade', 'd.receipt.json', '--gateway', server.url, '--key', KEY], {
      cwd: temp.dir,
      fetch,
    });
    expect(run.status).toBe(1);
    expect(run.errorCodes).toEqual(['ANCHOR_PENDING']);
  });

  it('checks its input before any network use', async () => {
    const network = forbiddenFetch();
    temp.write('e.receipt.json', JSON.stringify({ ...plain, version: 9 }));
    const cases: [string[], number, string][] = [
      [
        ['upgrade', 'e.receipt.json', '--gateway', server.url, '--key', KEY],
        2,
        'RECEIPT_MALFORMED',
      ],
      [['upgrade', 'missing.json', '--gateway', server.url, '--key', KEY], 3, 'IO_ERROR'],
      [['upgrade', 'a.receipt.json', '--key', KEY], 2, 'USAGE'],
      [['upgrade', 'a.receipt.json', '--gateway', server.url], 2, 'USAGE'],
      [['upgrade', '--gateway', server.url, '--key', KEY], 2, 'USAGE'],
    ];
    for (const [argv, status, code] of cases) {
      const run = await runCli(argv, { cwd: temp.dir, fetch: network });
      expect(run.status, argv.join(' ')).toBe(status);
      expect(run.errorCodes, argv.join(' ')).toEqual([code]);
    }
    expect(network.calls).toHaveLength(0);
  });
});

interface VerifyJson {
  verdict: string;
  code?: string;
  checks: { step: string; status: string; code?: string }[];
  anchors: { targetChainId: string; anchoredAt: string; operator?: string }[];
  vouchedBy?: string[];
  facts?: { chainId: string; earliestAnchor?: string };
}

describe('evidence verify --require-anchor', () => {
  temp.write('anchored.json', JSON.stringify(anchored));
  temp.write('plain.json', JSON.stringify(plain));
  const verify = (receipt: string, ...extra: string[]) =>
    runCli(
      ['verify', 'agreement.pdf', '--receipt', receipt, '--trust', 'evidence.json', ...extra],
      { cwd: temp.dir },
    );

  it('is VERIFIED with both chains pinned, naming the chains that vouch and the earliest anchor', async () => {
    for (const flag of ['--require-anchor', `--require-anchor=${fixture.courtChainId}`]) {
      const run = await verify('anchored.json', '--trust', 'court.json', flag, '--json');
      expect(run.status, flag).toBe(0);
      const report = run.json<VerifyJson>();
      expect(report.verdict).toBe('VERIFIED');
      expect(report.vouchedBy).toEqual([plain.ledger.chainId, fixture.courtChainId]);
      expect(report.anchors).toEqual([
        expect.objectContaining({
          targetChainId: fixture.courtChainId,
          operator: 'Hangzhou Internet Court',
        }),
      ]);
      expect(report.facts?.earliestAnchor).toBe(report.anchors[0]?.anchoredAt);
      expect(report.checks.filter((c) => c.step === 'anchor').map((c) => c.status)).toEqual([
        'pass',
        'pass',
      ]);
    }
    const human = await verify('anchored.json', '--trust', 'court.json', '--require-anchor');
    expect(human.stdout).toMatch(/^ {2}✓ anchor +anchor 0: /m);
    expect(human.stdout).toContain(
      `Vouched for by: ${plain.ledger.chainId}, ${fixture.courtChainId}.`,
    );
    expect(human.stdout).toMatch(/existed no later than .* \(earliest anchor\)/);
  });

  it('is UNTRUSTED with only the evidence chain pinned', async () => {
    const run = await verify('anchored.json', '--require-anchor', '--json');
    expect(run.status).toBe(1);
    expect(run.json<VerifyJson>()).toMatchObject({
      verdict: 'UNTRUSTED',
      code: 'ANCHOR_UNTRUSTED',
    });
  });

  it('is UNTRUSTED (ANCHOR_REQUIRED) for a receipt without anchors, or without one on a named chain', async () => {
    const none = await verify('plain.json', '--require-anchor', '--json');
    expect(none.status).toBe(1);
    expect(none.json<VerifyJson>()).toMatchObject({
      verdict: 'UNTRUSTED',
      code: 'ANCHOR_REQUIRED',
    });
    const elsewhere = await verify(
      'anchored.json',
      '--trust',
      'court.json',
      '--require-anchor=other-court',
      '--json',
    );
    expect(elsewhere.json<VerifyJson>()).toMatchObject({ code: 'ANCHOR_REQUIRED' });
    // Without the flag, a receipt without anchors verifies as before, and says so.
    const plainRun = await verify('plain.json');
    expect(plainRun.status).toBe(0);
    expect(plainRun.stdout).toMatch(
      /^ {2}– anchor +the receipt carries no anchor \(none required\)$/m,
    );
  });

  it('refuses bad --require-anchor values and a value given as the next word (USAGE)', async () => {
    for (const flag of ['--require-anchor=', '--require-anchor=a:b', '--require-anchor=ok,']) {
      const run = await verify('anchored.json', flag);
      expect(run.status, flag).toBe(2);
      expect(run.errorCodes, flag).toEqual(['USAGE']);
    }
    const spaced = await verify('anchored.json', '--require-anchor', 'court-chain');
    expect(spaced.status).toBe(2);
    expect(spaced.stderr).toContain('--require-anchor=ID');
  });
});
