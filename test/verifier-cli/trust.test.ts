import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseTrustFile, trustFingerprint } from '../../core/trust';
import { makeAnchoredFixture, makeNodeKey, trustFor } from '../support/receipt-factory';
import {
  deadUrl,
  runCli,
  startServer,
  tempDir,
  type Handler,
  type TestServer,
} from './cli-harness';

const temp = tempDir();
const trust = trustFor('evidence-chain', makeNodeKey(), 'Hangzhou Internet Court');
const fingerprint = trustFingerprint(trust);

let handler: Handler;
let server: TestServer;
beforeAll(async () => {
  server = await startServer((request) => handler(request));
});
beforeEach(() => {
  handler = (request) =>
    request.url === '/v1/trust'
      ? { status: 200, body: trust }
      : { status: 404, body: { code: 'NOT_FOUND' } };
});
afterAll(async () => {
  await server.close();
  temp.cleanup();
});

describe('evidence trust fetch', () => {
  it('writes trust.json, validated, and prints its fingerprint', async () => {
    const run = await runCli(['trust', 'fetch', '--gateway', server.url], { cwd: temp.dir, fetch });
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(`fingerprint ${fingerprint}`);
    expect(run.stdout).toMatch(/another channel/);
    const written = parseTrustFile(JSON.parse(readFileSync(join(temp.dir, 'trust.json'), 'utf8')));
    expect(trustFingerprint(written)).toBe(fingerprint);
    expect(server.requests.at(-1)).toMatchObject({ method: 'GET', url: '/v1/trust' });
  });

  it('exits 3 (IO_ERROR) when --out names a missing directory', async () => {
    const run = await runCli(
      ['trust', 'fetch', '--gateway', server.url, '--out', 'pinned/court.json', '--json'],
      {
        cwd: temp.dir,
        fetch,
      },
    );
    expect(run.status).toBe(3);
    expect(run.json<{ error: { code: string } }>().error.code).toBe('IO_ERROR');
  });

  it('writes to --out and reports as JSON', async () => {
    const ok = await runCli(
      ['trust', 'fetch', '--gateway', server.url, '--out', 'court.json', '--json'],
      {
        cwd: temp.dir,
        fetch,
      },
    );
    expect(ok.status).toBe(0);
    expect(ok.json()).toMatchObject({ file: 'court.json', fingerprint, unchanged: false });
    expect(existsSync(join(temp.dir, 'court.json'))).toBe(true);
  });

  it('leaves an identical pinned file alone and refuses to replace a different one without --force', async () => {
    const same = await runCli(['trust', 'fetch', '--gateway', server.url, '--json'], {
      cwd: temp.dir,
      fetch,
    });
    expect(same.json()).toMatchObject({ unchanged: true });
    const other = trustFor('evidence-chain', makeNodeKey());
    handler = () => ({ status: 200, body: other });
    const refused = await runCli(['trust', 'fetch', '--gateway', server.url], {
      cwd: temp.dir,
      fetch,
    });
    expect(refused.status).toBe(2);
    expect(refused.errorCodes).toEqual(['OUTPUT_EXISTS']);
    const forced = await runCli(['trust', 'fetch', '--gateway', server.url, '--force'], {
      cwd: temp.dir,
      fetch,
    });
    expect(forced.status).toBe(0);
    expect(forced.stdout).toContain(trustFingerprint(other));
  });

  it('exits 2 (TRUST_MALFORMED) for a trust file of the wrong shape and writes nothing', async () => {
    handler = () => ({
      status: 200,
      body: { ...trust, chains: [{ kind: 'fabric', chainId: 'x', keys: [] }] },
    });
    const run = await runCli(['trust', 'fetch', '--gateway', server.url, '--out', 'bad.json'], {
      cwd: temp.dir,
      fetch,
    });
    expect(run.status).toBe(2);
    expect(run.errorCodes).toEqual(['TRUST_MALFORMED']);
    expect(run.stderr).toMatch(/^ {2}\/chains\/0\/kind \(enum\)/m);
    expect(existsSync(join(temp.dir, 'bad.json'))).toBe(false);
  });

  it('exits 2 (INVALID_JSON) for an answer that is not JSON', async () => {
    handler = () => ({ status: 200, body: 'not json' });
    const run = await runCli(['trust', 'fetch', '--gateway', server.url, '--out', 'bad.json'], {
      cwd: temp.dir,
      fetch,
    });
    expect(run.status).toBe(2);
    expect(run.errorCodes).toEqual(['INVALID_JSON']);
  });

  it('exits 3 (NETWORK_ERROR) when the gateway is down', async () => {
    const run = await runCli(['trust', 'fetch', '--gateway', await deadUrl()], {
      cwd: temp.dir,
      fetch,
    });
    expect(run.status).toBe(3);
    expect(run.errorCodes).toEqual(['NETWORK_ERROR']);
  });

  it.each([
    [['trust']],
    [['trust', 'fetch']],
    [['trust', 'pin']],
    [['trust', 'fetch', '--gateway', 'x', 'extra']],
  ])('exits 2 (USAGE) for %j', async (argv) => {
    const run = await runCli(argv, { cwd: temp.dir });
    expect(run.status).toBe(2);
    expect(run.errorCodes).toEqual(['USAGE']);
  });
});

describe('evidence trust show', () => {
  it('prints the fingerprint of a local trust file', async () => {
    temp.write('local.json', JSON.stringify(trust));
    const run = await runCli(['trust', 'show', 'local.json', '--json'], { cwd: temp.dir });
    expect(run.status).toBe(0);
    expect(run.json()).toEqual({ file: 'local.json', fingerprint, chains: trust.chains });
  });
});

describe('evidence trust compromise', () => {
  // Evidence block at 10:00, anchored on the court chain at 10:10 (the fixture's times).
  const anchored = makeAnchoredFixture(1, { time: '2026-11-28T10:00:00.000Z' });
  const keyId = anchored.key.keyId;
  beforeEach(() => {
    temp.write('exhibit.bin', anchored.files[0]!);
    temp.write('plain.receipt.json', JSON.stringify(anchored.plain[0]));
    temp.write('anchored.receipt.json', JSON.stringify(anchored.receipts[0]));
    temp.write('both.json', JSON.stringify(anchored.trust));
  });
  const compromise = (...options: string[]) =>
    runCli(['trust', 'compromise', 'both.json', ...options], { cwd: temp.dir });
  const verify = (receipt: string, trustFile: string) =>
    runCli(['verify', 'exhibit.bin', '--receipt', receipt, '--trust', trustFile, '--json'], {
      cwd: temp.dir,
    });

  it('marks the key; a receipt it signed then verifies only with an anchor from before', async () => {
    expect((await verify('plain.receipt.json', 'both.json')).status).toBe(0);
    const run = await compromise('--key', keyId, '--since', '2026-12-01T00:00:00Z');
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain(`marked compromised since 2026-12-01T00:00:00Z`);
    const marked = parseTrustFile(JSON.parse(readFileSync(join(temp.dir, 'both.json'), 'utf8')));
    expect(marked.chains[0]!.keys[0]!.compromisedSince).toBe('2026-12-01T00:00:00Z');
    expect(run.stdout).toContain(`fingerprint ${trustFingerprint(marked)}`);

    const plain = await verify('plain.receipt.json', 'both.json');
    expect(plain.status).toBe(1);
    expect(plain.json<{ verdict: string; code: string }>()).toMatchObject({
      verdict: 'UNTRUSTED',
      code: 'KEY_COMPROMISED',
    });
    const told = await runCli(
      ['verify', 'exhibit.bin', '--receipt', 'plain.receipt.json', '--trust', 'both.json'],
      { cwd: temp.dir },
    ); // without --json: the advice is for people
    expect(told.stdout).toContain('UNTRUSTED (KEY_COMPROMISED)');
    expect(told.stdout).toContain('evidence upgrade');
    const withAnchor = await verify('anchored.receipt.json', 'both.json');
    expect(withAnchor.status, withAnchor.stdout).toBe(0);
    expect(withAnchor.json<{ facts: { existedBy: string } }>().facts.existedBy).toBe(
      '2026-11-28T10:10:00.000Z',
    );

    // The anchor is from after the compromise began: refused too.
    const earlier = await compromise('--key', keyId, '--since', '2026-11-28T10:05:00Z', '--json');
    expect(earlier.json()).toMatchObject({
      compromisedSince: '2026-11-28T10:05:00Z',
      previousCompromisedSince: '2026-12-01T00:00:00Z',
    });
    expect((await verify('anchored.receipt.json', 'both.json')).status).toBe(1);

    // Cleared: as before.
    const cleared = await compromise('--key', keyId, '--clear');
    expect(cleared.status).toBe(0);
    expect(readFileSync(join(temp.dir, 'both.json'), 'utf8')).toBe(
      `${JSON.stringify(anchored.trust, null, 2)}\n`,
    );
    expect((await verify('plain.receipt.json', 'both.json')).status).toBe(0);
  });

  it('writes --out and leaves the pinned file as it was', async () => {
    const before = readFileSync(join(temp.dir, 'both.json'), 'utf8');
    const run = await compromise(
      '--key',
      keyId,
      '--since',
      '2026-12-01T00:00:00Z',
      '--out',
      'marked.json',
    );
    expect(run.status).toBe(0);
    expect(readFileSync(join(temp.dir, 'both.json'), 'utf8')).toBe(before);
    expect(existsSync(join(temp.dir, 'marked.json'))).toBe(true);
  });

  it.each([
    [['--since', '2026-12-01T00:00:00Z'], '--key'],
    [['--key', 'sha256:' + '0'.repeat(64), '--since', '2026-12-01T00:00:00Z'], 'pins no key'],
    [['--key', 'KEY', '--since', '2026-12-01 00:00'], 'RFC 3339'],
    [['--key', 'KEY', '--since', '2026-12-01T00:00:00+08:00'], 'RFC 3339'],
    [['--key', 'KEY', '--since', '2026-13-45T00:00:00Z'], 'RFC 3339'],
    [['--key', 'KEY'], 'either --since TIME or --clear'],
    [['--key', 'KEY', '--since', '2026-12-01T00:00:00Z', '--clear'], 'either'],
  ])('exits 2 (USAGE) for %j and writes nothing', async (options, message) => {
    const before = readFileSync(join(temp.dir, 'both.json'), 'utf8');
    const args = options.map((o) => (o === 'KEY' ? keyId : o));
    const run = await compromise(...args, '--json');
    expect(run.status).toBe(2);
    const error = run.json<{ error: { code: string; message: string } }>().error;
    expect(error.code).toBe('USAGE');
    expect(error.message).toContain(message);
    expect(readFileSync(join(temp.dir, 'both.json'), 'utf8')).toBe(before);
  });
});
