import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestBytes } from '../../core/digest';
import { trustFingerprint } from '../../core/trust';
import { makeFixture, makeNodeKey, signBlock, trustFor } from '../support/receipt-factory';
import { forbiddenFetch, runCli, startServer, tempDir, type TestServer } from './cli-harness';

const temp = tempDir();
afterAll(() => temp.cleanup());

const content = Buffer.from('signed mediation agreement, 2026-11-28, page 1 of 1\n');
const fixture = makeFixture([content, Buffer.from('another file of the same batch')], {
  otherTxs: 4,
});
const receipt = fixture.receipts[0];

temp.write('agreement.pdf', content);
temp.write('agreement.pdf.receipt.json', JSON.stringify(receipt));
temp.write('trust.json', JSON.stringify(fixture.trust, null, 2));

interface VerifyJson {
  verdict: string;
  code?: string;
  file: { path: string; size: number; digests: Record<string, string> };
  checks: { step: string; status: string; code?: string }[];
  facts?: { chainId: string; blockNumber: number; txId: string; existedBy: string };
  trustFingerprint?: string;
  verifier: { name: string; version: string };
}

const offline = [
  'verify',
  'agreement.pdf',
  '--receipt',
  'agreement.pdf.receipt.json',
  '--trust',
  'trust.json',
];

describe('evidence verify (offline)', () => {
  it('answers VERIFIED with exit 0 and every check passed, without touching the network', async () => {
    const fetch = forbiddenFetch();
    const run = await runCli([...offline, '--json'], { cwd: temp.dir, fetch });
    expect(run.status).toBe(0);
    const report = run.json<VerifyJson>();
    expect(report.verdict).toBe('VERIFIED');
    expect(report.code).toBeUndefined();
    expect(report.file).toEqual({
      path: 'agreement.pdf',
      size: content.length,
      digests: digestBytes(content),
    });
    expect(report.checks.map((c) => [c.step, c.status])).toEqual([
      ['receipt', 'pass'],
      ['digest', 'pass'],
      ['inclusion', 'pass'],
      ['transaction', 'pass'],
      ['block', 'pass'],
      ['signature', 'pass'],
    ]);
    expect(report.facts).toMatchObject({
      chainId: 'test-chain',
      blockNumber: 7,
      txId: receipt?.ledger.txId,
      existedBy: receipt?.ledger.time,
    });
    expect(report.trustFingerprint).toBe(trustFingerprint(fixture.trust));
    expect(report.verifier.name).toBe('judicial-evidence-node');
    expect(fetch.calls).toHaveLength(0);
  });

  it('prints a checklist, the verdict and the time bound for people', async () => {
    const run = await runCli(offline, { cwd: temp.dir });
    expect(run.status).toBe(0);
    expect(run.stdout.match(/^ {2}✓ /gm)).toHaveLength(6);
    expect(run.stdout).toMatch(/^VERIFIED$/m);
    expect(run.stdout).toContain(
      `existed no later than ${receipt?.ledger.time} on chain test-chain, block 7, tx ${receipt?.ledger.txId}`,
    );
    expect(run.stdout).toContain(trustFingerprint(fixture.trust));
  });

  it('answers MISMATCH (exit 1) when one byte of the file changed', async () => {
    const changed = Buffer.from(content);
    changed[3] = (changed[3] ?? 0) ^ 0x01;
    temp.write('changed.pdf', changed);
    const run = await runCli(
      [
        'verify',
        'changed.pdf',
        '--receipt',
        'agreement.pdf.receipt.json',
        '--trust',
        'trust.json',
        '--json',
      ],
      { cwd: temp.dir },
    );
    expect(run.status).toBe(1);
    const report = run.json<VerifyJson & { claims?: unknown }>();
    expect(report).toMatchObject({ verdict: 'MISMATCH', code: 'DIGEST_MISMATCH' });
    // The receipt's claims are not facts unless verified.
    expect(report.facts).toBeUndefined();
    expect(report.claims).toMatchObject({ txId: receipt?.ledger.txId });
  });

  it('shows the steps after a failure as not checked', async () => {
    const run = await runCli(
      ['verify', 'changed.pdf', '--receipt', 'agreement.pdf.receipt.json', '--trust', 'trust.json'],
      { cwd: temp.dir },
    );
    expect(run.stdout).toMatch(/^ {2}✗ digest +DIGEST_MISMATCH: /m);
    expect(run.stdout.match(/^ {2}– /gm)).toHaveLength(5);
    expect(run.stdout).toMatch(/^MISMATCH \(DIGEST_MISMATCH\)$/m);
  });

  it('answers UNTRUSTED (exit 1) against a trust file pinning another key', async () => {
    temp.write('other-trust.json', JSON.stringify(trustFor('test-chain', makeNodeKey())));
    const args = ['verify', 'agreement.pdf', '--receipt', 'agreement.pdf.receipt.json'];
    const run = await runCli([...args, '--trust', 'other-trust.json', '--json'], {
      cwd: temp.dir,
    });
    expect(run.status).toBe(1);
    expect(run.json<VerifyJson>()).toMatchObject({ verdict: 'UNTRUSTED', code: 'KEY_NOT_TRUSTED' });
    // In words, with the way out when the node rotated its key.
    const text = await runCli([...args, '--trust', 'other-trust.json'], { cwd: temp.dir });
    expect(text.status).toBe(1);
    expect(text.stdout).toContain('UNTRUSTED (KEY_NOT_TRUSTED)');
    expect(text.stdout).toContain('evidence trust update');
  });

  it('merges several trust files (later files win per chain)', async () => {
    temp.write('court-chain.json', JSON.stringify(trustFor('court-chain', makeNodeKey())));
    const run = await runCli(
      [...offline.slice(0, 4), '--trust', 'court-chain.json', '--trust', 'trust.json', '--json'],
      { cwd: temp.dir },
    );
    expect(run.status).toBe(0);
    const report = run.json<VerifyJson & { trustFiles: { path: string }[] }>();
    expect(report.trustFiles.map((t) => t.path)).toEqual(['court-chain.json', 'trust.json']);
    const untrusted = await runCli(
      [...offline.slice(0, 4), '--trust', 'trust.json', '--trust', 'other-trust.json', '--json'],
      { cwd: temp.dir },
    );
    expect(untrusted.json<VerifyJson>().verdict).toBe('UNTRUSTED');
  });

  it('treats a receipt that is not JSON as an input error (exit 2, INVALID_JSON)', async () => {
    temp.write('broken.receipt.json', JSON.stringify(receipt).slice(0, 200));
    const run = await runCli(
      ['verify', 'agreement.pdf', '--receipt', 'broken.receipt.json', '--trust', 'trust.json'],
      { cwd: temp.dir },
    );
    expect(run.status).toBe(2);
    expect(run.errorCodes).toEqual(['INVALID_JSON']);
    expect(run.stdout).toBe('');
  });

  it('answers PROOF_INVALID (exit 1) for JSON that is not a valid receipt', async () => {
    temp.write(
      'schema-broken.receipt.json',
      JSON.stringify({ ...receipt, version: 2, extra: true }),
    );
    const run = await runCli(
      [
        'verify',
        'agreement.pdf',
        '--receipt',
        'schema-broken.receipt.json',
        '--trust',
        'trust.json',
        '--json',
      ],
      { cwd: temp.dir },
    );
    expect(run.status).toBe(1);
    expect(run.json<VerifyJson>()).toMatchObject({
      verdict: 'PROOF_INVALID',
      code: 'RECEIPT_MALFORMED',
    });
  });

  it('answers PROOF_INVALID (exit 1) for a receipt whose proof was tampered with', async () => {
    const tampered = structuredClone(receipt) as unknown as { inclusion: { path: string[] } };
    tampered.inclusion.path[0] = '0'.repeat(64);
    temp.write('tampered.receipt.json', JSON.stringify(tampered));
    const run = await runCli(
      [
        'verify',
        'agreement.pdf',
        '--receipt',
        'tampered.receipt.json',
        '--trust',
        'trust.json',
        '--json',
      ],
      { cwd: temp.dir },
    );
    expect(run.status).toBe(1);
    expect(run.json<VerifyJson>()).toMatchObject({
      verdict: 'PROOF_INVALID',
      code: 'INCLUSION_INVALID',
    });
  });

  it('treats a trust file that is not JSON as an input error (exit 2)', async () => {
    temp.write('broken-trust.json', '{ "type": ');
    const run = await runCli([...offline.slice(0, 4), '--trust', 'broken-trust.json'], {
      cwd: temp.dir,
    });
    expect(run.status).toBe(2);
    expect(run.errorCodes).toEqual(['INVALID_JSON']);
  });

  it('treats a trust file of the wrong shape as TRUST_MALFORMED (exit 2) and names the fields', async () => {
    temp.write(
      'bad-trust.json',
      JSON.stringify({ ...fixture.trust, version: 3, chains: [{ kind: 'embedded' }] }),
    );
    const run = await runCli([...offline.slice(0, 4), '--trust', 'bad-trust.json'], {
      cwd: temp.dir,
    });
    expect(run.status).toBe(2);
    expect(run.errorCodes).toEqual(['TRUST_MALFORMED']);
    expect(run.stderr).toMatch(/^ {2}\/version \(const\): /m);
    expect(run.stderr).toMatch(/^ {2}\/chains\/0\/keys \(required\): /m);
  });

  it('prints errors as a JSON object on stdout with --json', async () => {
    const run = await runCli([...offline.slice(0, 4), '--trust', 'bad-trust.json', '--json'], {
      cwd: temp.dir,
    });
    expect(run.status).toBe(2);
    expect(run.json<{ error: { code: string; fields: unknown[] } }>().error.code).toBe(
      'TRUST_MALFORMED',
    );
    expect(run.stderr).toBe('');
  });

  it('exits 2 for an unknown flag', async () => {
    const run = await runCli([...offline, '--lenient'], { cwd: temp.dir });
    expect(run.status).toBe(2);
    expect(run.errorCodes).toEqual(['USAGE']);
  });

  it('exits 2 without --receipt', async () => {
    const run = await runCli(['verify', 'agreement.pdf', '--trust', 'trust.json'], {
      cwd: temp.dir,
    });
    expect(run.status).toBe(2);
    expect(run.errorCodes).toEqual(['USAGE']);
  });

  it('exits 2 without --trust', async () => {
    const run = await runCli(
      ['verify', 'agreement.pdf', '--receipt', 'agreement.pdf.receipt.json'],
      {
        cwd: temp.dir,
      },
    );
    expect(run.status).toBe(2);
    expect(run.errorCodes).toEqual(['USAGE']);
  });

  it('exits 2 for --gateway without --online', async () => {
    const run = await runCli([...offline, '--gateway', 'http://127.0.0.1:1'], { cwd: temp.dir });
    expect(run.status).toBe(2);
    expect(run.errorCodes).toEqual(['USAGE']);
  });

  it('exits 3 (IO_ERROR) when the file is missing', async () => {
    const run = await runCli(['verify', 'nowhere.pdf', ...offline.slice(2)], { cwd: temp.dir });
    expect(run.status).toBe(3);
    expect(run.errorCodes).toEqual(['IO_ERROR']);
  });

  it('exits 3 (IO_ERROR) when the receipt is missing', async () => {
    const run = await runCli(
      ['verify', 'agreement.pdf', '--receipt', 'nowhere.json', '--trust', 'trust.json'],
      {
        cwd: temp.dir,
      },
    );
    expect(run.status).toBe(3);
    expect(run.errorCodes).toEqual(['IO_ERROR']);
  });
});

describe('evidence verify --online', () => {
  let known: Set<string>;
  let server: TestServer;
  /** What GET /v1/forks answers; `undefined`: 404, as an older node. */
  let forked: unknown;
  beforeAll(async () => {
    known = new Set([digestBytes(content).sha256]);
    server = await startServer((request) => {
      if (request.url === '/v1/forks') {
        return forked === undefined
          ? { status: 404, body: { statusCode: 404, code: 'NOT_FOUND', message: 'no route' } }
          : { status: 200, body: { chainId: receipt!.ledger.chainId, forked, notices: [] } };
      }
      const digest = decodeURIComponent(request.url.replace('/v1/public/evidence/', ''));
      if (request.method === 'GET' && known.has(digest)) {
        const { txId, time, chainId } = receipt?.ledger ?? {};
        return {
          status: 200,
          body: { digest, onChain: true, time, txId, chainId, attestations: 0 },
        };
      }
      if (
        request.url ===
        '/v1/public/evidence/' + digestBytes(Buffer.from('route-missing')).sha256
      ) {
        return {
          status: 404,
          body: { statusCode: 404, code: 'NOT_FOUND', message: 'no such route' },
        };
      }
      return {
        status: 404,
        body: { statusCode: 404, code: 'EVIDENCE_NOT_FOUND', message: 'unknown digest' },
      };
    });
  });
  afterAll(() => server.close());

  const online = () => ['--online', '--gateway', server.url, '--json'];

  it('answers VERIFIED when the receipt verifies and the gateway knows the digest', async () => {
    const run = await runCli([...offline, ...online()], { cwd: temp.dir, fetch });
    expect(run.status).toBe(0);
    const report = run.json<VerifyJson & { online: { found: boolean } }>();
    expect(report.verdict).toBe('VERIFIED');
    expect(report.online.found).toBe(true);
    expect(report.checks.at(-1)).toMatchObject({ step: 'online', status: 'pass' });
    expect(server.requests.slice(-2)).toEqual([
      expect.objectContaining({
        method: 'GET',
        url: `/v1/public/evidence/${digestBytes(content).sha256}`,
      }),
      expect.objectContaining({ method: 'GET', url: '/v1/forks' }),
    ]);
  });

  describe('a gateway that holds proof its chain signed two histories', () => {
    const held = receipt!.proof.block;
    /** Another block at the receipt's height, signed by `key` (the fixture's own by default). */
    const proofBy = (key = fixture.key) => ({
      type: 'judicial-evidence-fork',
      chainId: held.header.chainId,
      number: held.header.number,
      held,
      served: signBlock({ ...held.header, time: '2026-11-28T11:00:00.000Z' }, key),
      detectedAt: '2026-11-28T12:00:00.000Z',
    });
    afterAll(() => {
      forked = undefined;
    });

    it('makes a verified receipt signed by the forking key UNTRUSTED (CHAIN_FORKED), and says what to do', async () => {
      forked = proofBy();
      const run = await runCli([...offline, ...online()], { cwd: temp.dir, fetch });
      expect(run.status).toBe(1);
      const report = run.json<VerifyJson & { online: { fork: unknown } }>();
      expect(report).toMatchObject({ verdict: 'UNTRUSTED', code: 'CHAIN_FORKED' });
      expect(report.online.fork).toEqual(forked);
      const check = report.checks.at(-1) as unknown as { detail: string };
      expect(check).toMatchObject({ step: 'online', status: 'fail', code: 'CHAIN_FORKED' });
      expect(check.detail).toContain(`evidence trust compromise TRUST --key ${fixture.key.keyId}`);
      expect(check.detail).toContain('no later than 2026-11-28T12:00:00.000Z');
      const human = await runCli([...offline, '--online', '--gateway', server.url], {
        cwd: temp.dir,
        fetch,
      });
      expect(human.stdout).toContain('UNTRUSTED (CHAIN_FORKED)');
    });

    it('counts it as the court decided once the trust file marks the key compromised', async () => {
      forked = proofBy();
      const marked = structuredClone(fixture.trust);
      (marked.chains[0]!.keys[0] as { compromisedSince?: string }).compromisedSince =
        '2026-11-28T09:00:00.000Z';
      temp.write('marked-trust.json', JSON.stringify(marked));
      const run = await runCli(
        [
          'verify',
          'agreement.pdf',
          '--receipt',
          'agreement.pdf.receipt.json',
          '--trust',
          'marked-trust.json',
          ...online(),
        ],
        { cwd: temp.dir, fetch },
      );
      // The mark, not the fork, decides: no anchor from before it, so KEY_COMPROMISED.
      const report = run.json<VerifyJson>();
      expect(report).toMatchObject({ verdict: 'UNTRUSTED', code: 'KEY_COMPROMISED' });
      expect(report.checks.at(-1)).toMatchObject({ step: 'online', status: 'pass' });
    });

    it('keeps VERIFIED for a proof the trust file does not confirm, or one of no receipt', async () => {
      forked = proofBy(makeNodeKey());
      const run = await runCli([...offline, ...online()], { cwd: temp.dir, fetch });
      expect(run.status).toBe(0);
      const report = run.json<VerifyJson>();
      expect(report.verdict).toBe('VERIFIED');
      expect(report.checks.at(-1)).toMatchObject({ step: 'online', status: 'skip' });
      forked = proofBy();
      const bare = await runCli(['verify', 'agreement.pdf', ...online()], {
        cwd: temp.dir,
        fetch,
      });
      expect(bare.json<VerifyJson>().verdict).toBe('ON_CHAIN_UNVERIFIED');
      expect(bare.json<VerifyJson>().checks.at(-1)).toMatchObject({ status: 'skip' });
    });

    it('refuses a gateway whose proof is malformed (exit 3)', async () => {
      forked = { type: 'judicial-evidence-fork', number: -1 };
      const run = await runCli([...offline, ...online()], { cwd: temp.dir, fetch });
      expect(run.status).toBe(3);
      expect(run.json<{ error: { code: string } }>().error.code).toBe('GATEWAY_RESPONSE_INVALID');
    });
  });

  it('answers NOT_ON_CHAIN (exit 1) when the gateway does not know a verified receipt', async () => {
    known.clear();
    try {
      const run = await runCli([...offline, ...online()], { cwd: temp.dir, fetch });
      expect(run.status).toBe(1);
      expect(run.json<VerifyJson>()).toMatchObject({
        verdict: 'NOT_ON_CHAIN',
        code: 'NOT_ON_CHAIN',
      });
    } finally {
      known.add(digestBytes(content).sha256);
    }
  });

  it('answers ON_CHAIN_UNVERIFIED (exit 1) without a receipt when the gateway knows the file', async () => {
    const run = await runCli(['verify', 'agreement.pdf', ...online()], { cwd: temp.dir, fetch });
    expect(run.status).toBe(1);
    const report = run.json<VerifyJson>();
    expect(report.verdict).toBe('ON_CHAIN_UNVERIFIED');
    expect(report.checks).toEqual([expect.objectContaining({ step: 'online', status: 'pass' })]);
    expect(server.requests.at(-1)?.headers.authorization).toBeUndefined();
  });

  it('answers NOT_ON_CHAIN (exit 1) without a receipt when the gateway does not know the file', async () => {
    const run = await runCli(['verify', 'changed.pdf', ...online()], { cwd: temp.dir, fetch });
    expect(run.status).toBe(1);
    expect(run.json<VerifyJson>()).toMatchObject({ verdict: 'NOT_ON_CHAIN', code: 'NOT_ON_CHAIN' });
  });

  it('does not read a 404 of another kind as NOT_ON_CHAIN', async () => {
    temp.write('route-missing', 'route-missing');
    const run = await runCli(['verify', 'route-missing', ...online()], { cwd: temp.dir, fetch });
    expect(run.status).toBe(2);
    expect(run.json<{ error: { code: string } }>().error.code).toBe('NOT_FOUND');
  });

  it('keeps the offline verdict when it is not VERIFIED', async () => {
    const run = await runCli(
      [
        'verify',
        'agreement.pdf',
        '--receipt',
        'agreement.pdf.receipt.json',
        '--trust',
        'other-trust.json',
        ...online(),
      ],
      { cwd: temp.dir, fetch },
    );
    expect(run.json<VerifyJson>()).toMatchObject({ verdict: 'UNTRUSTED', code: 'KEY_NOT_TRUSTED' });
  });

  it('needs --gateway with --online', async () => {
    const run = await runCli(['verify', 'agreement.pdf', '--online'], { cwd: temp.dir, fetch });
    expect(run.status).toBe(2);
    expect(run.errorCodes).toEqual(['USAGE']);
  });
});
