import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseTrustFile, trustFingerprint } from '../../core/trust';
import { makeNodeKey, trustFor } from '../support/receipt-factory';
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
    expect(run.stderr).toMatch(/^ {2}\/chains\/0\/kind \(const\)/m);
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
