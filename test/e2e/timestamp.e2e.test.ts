/**
 * Trusted time stamps end to end: the built node, the real CLI, and a real RFC 3161 time-stamp
 * authority (OpenSSL's `ts -reply` behind HTTP). A lawyer deposits exhibits, pins the authority
 * from its certificate, stamps the receipts; the judge verifies offline with the stamp required
 * and gets the authority's time in the verdict and the report; a node key later marked
 * compromised still leaves the stamped exhibits dated. An authority that refuses, answers
 * garbage or fails over HTTP changes no receipt. A node can also have the authority stamp its
 * tip itself (an anchor target of kind `rfc3161`): receipts then take the stamp by `evidence
 * upgrade`, with the header chain up to the stamped block.
 */

import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Receipt } from '../../core/receipt';
import type { TrustFile } from '../../core/trust';
import { ensureBuilt } from '../support/build';
import { cli } from '../support/cli-process';
import type { AnchoringStatus } from '../../gateway/anchoring/anchor-job';
import { adminKey, createKey, startNode, type NodeProcess } from '../support/node-process';
import { waitFor } from '../support/wait';
import {
  createTsaAuthority,
  startTsaServer,
  type TsaAuthority,
  type TsaServer,
} from '../support/openssl-tsa';

describe('receipts stamped by a trusted time-stamp authority', () => {
  let dir: string;
  let node: NodeProcess | undefined;
  let authority: TsaAuthority | undefined;
  let tsa: TsaServer | undefined;

  beforeAll(async () => {
    ensureBuilt();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'timestamp-e2e-'));
    authority = await createTsaAuthority('rsa');
    tsa = await startTsaServer(authority);
  }, 60_000);
  afterAll(async () => {
    await node?.stop();
    await tsa?.close();
    await authority?.remove();
    await fs.rm(dir, { recursive: true, force: true });
  });

  /** `evidence trust add-authority TRUST --name NAME --cert CERT MORE...`. */
  const pinAuthority = (trustFile: string, name: string, cert: string, ...more: string[]) =>
    cli(['trust', 'add-authority', trustFile, '--name', name, '--cert', cert, ...more]);

  it('stamps, verifies offline with the stamp required, and keeps receipts on failures', async () => {
    if (!authority || !tsa) throw new Error('no authority');
    const dataDir = path.join(dir, 'data');
    node = await startNode({ dataDir });
    const admin = await adminKey(dataDir);
    const key = await createKey(node.url, admin, {
      org: 'PlatformOrg',
      account: 'lawyer-ts',
      role: 'depositor',
    });
    const exhibits = path.join(dir, 'exhibits');
    await fs.mkdir(exhibits);
    const names = ['contract.pdf', 'chat.png'];
    for (const name of names) await fs.writeFile(path.join(exhibits, name), randomBytes(4000));
    const deposited = await cli(['deposit', exhibits, '--gateway', node.url, '--key', key]);
    expect(deposited.code, deposited.stderr).toBe(0);
    const trustFile = path.join(dir, 'trust.json');
    const fetched = await cli(['trust', 'fetch', '--gateway', node.url, '--out', trustFile]);
    expect(fetched.code, fetched.stderr).toBe(0);

    // Pin the authority from its certificate; a certificate not for time stamping is refused.
    const added = await pinAuthority(
      trustFile,
      'test-tsa',
      authority.certFile,
      '--operator',
      'Test Time Service',
      '--json',
    );
    expect(added.code, added.stderr).toBe(0);
    expect(JSON.parse(added.stdout)).toMatchObject({
      authority: 'test-tsa',
      algorithm: 'rsa-pkcs1-sha256',
      added: true,
    });
    const notTsa = await pinAuthority(trustFile, 'ca', authority.caCertFile);
    expect(notTsa.code).toBe(2);
    expect(notTsa.stderr).toContain('timeStamping');
    const trust = JSON.parse(await fs.readFile(trustFile, 'utf8')) as TrustFile;
    expect(trust.chains.map((c) => c.kind)).toEqual(['embedded', 'rfc3161']);

    const receipts = names.map((name) => path.join(exhibits, `${name}.receipt.json`));
    const before = await Promise.all(receipts.map((r) => fs.readFile(r, 'utf8')));
    const stampArgs = [
      'timestamp',
      ...receipts,
      '--tsa',
      tsa.url,
      '--authority',
      'test-tsa',
      '--trust',
      trustFile,
      '--json',
    ];

    // Failures first: nothing may change.
    for (const [mode, code, errorCode] of [
      ['reject', 1, 'TIMESTAMP_REFUSED'],
      ['garbage', 3, 'TSA_ERROR'],
      ['http-500', 3, 'TSA_ERROR'],
    ] as const) {
      tsa.setMode(mode);
      const failed = await cli(stampArgs);
      expect(failed.code, `${mode}: ${failed.stdout}${failed.stderr}`).toBe(code);
      expect(failed.stdout + failed.stderr).toContain(errorCode);
      const now = await Promise.all(receipts.map((r) => fs.readFile(r, 'utf8')));
      expect(now).toEqual(before);
    }
    tsa.setMode('ok');

    // Both receipts are of one batch, hence one block: one request stamps both.
    const asked = tsa.requests;
    const stamped = await cli(stampArgs);
    expect(stamped.code, stamped.stdout + stamped.stderr).toBe(0);
    expect(tsa.requests - asked).toBe(1);
    const result = JSON.parse(stamped.stdout) as {
      receipts: Array<{ status: string; existedBy: string; backup: string }>;
    };
    expect(result.receipts.map((r) => r.status)).toEqual(['stamped', 'stamped']);
    expect(result.receipts.every((r) => r.backup.endsWith('.bak'))).toBe(true);
    const again = await cli(stampArgs);
    expect(again.code).toBe(0);
    expect((JSON.parse(again.stdout) as typeof result).receipts.map((r) => r.status)).toEqual([
      'unchanged',
      'unchanged',
    ]);
    expect(tsa.requests - asked).toBe(1);

    const inspected = await cli(['inspect', receipts[0] as string]);
    expect(inspected.stdout).toMatch(/anchors +block \d+ time-stamped by test-tsa at \d{4}-/);

    // The judge, offline: the stamp required, its time in the verdict and in the report.
    const contract = path.join(exhibits, 'contract.pdf');
    const report = path.join(dir, 'report.html');
    const verified = await cli(
      [
        'verify',
        contract,
        '--receipt',
        receipts[0] as string,
        '--trust',
        trustFile,
        '--require-anchor=test-tsa',
        '--report',
        report,
        '--json',
      ],
      { offline: true },
    );
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
    const verdict = JSON.parse(verified.stdout) as {
      verdict: string;
      anchors: Array<{ kind: string; targetChainId: string; genTime: string }>;
      facts: { earliestAnchor: string };
    };
    expect(verdict.verdict).toBe('VERIFIED');
    expect(verdict.anchors[0]).toMatchObject({ kind: 'timestamp', targetChainId: 'test-tsa' });
    expect(verdict.facts.earliestAnchor).toBe(result.receipts[0]?.existedBy);
    const html = await fs.readFile(report, 'utf8');
    expect(html).toContain('可信时间戳');
    expect(html).toContain('Test Time Service');

    // Without the authority pinned, the stamped receipt does not verify.
    const bare = path.join(dir, 'bare-trust.json');
    await fs.writeFile(
      bare,
      JSON.stringify({ ...trust, chains: trust.chains.filter((c) => c.kind === 'embedded') }),
    );
    const unpinned = await cli(
      ['verify', contract, '--receipt', receipts[0] as string, '--trust', bare, '--json'],
      { offline: true },
    );
    expect(unpinned.code).toBe(1);
    expect(JSON.parse(unpinned.stdout)).toMatchObject({
      verdict: 'UNTRUSTED',
      code: 'ANCHOR_UNTRUSTED',
    });

    // The node key marked compromised from now on: the stamp still dates the exhibit before it.
    const stampedReceipt = JSON.parse(await fs.readFile(receipts[0] as string, 'utf8')) as Receipt;
    const since = new Date(Date.now() + 60_000).toISOString().replace(/\.\d+Z$/, 'Z');
    const marked = await cli([
      'trust',
      'compromise',
      trustFile,
      '--key',
      stampedReceipt.proof.block.signature.keyId,
      '--since',
      since,
    ]);
    expect(marked.code, marked.stderr).toBe(0);
    const caseReport = path.join(dir, 'case.html');
    const dated = await cli(
      ['verify-all', exhibits, '--trust', trustFile, '--report', caseReport],
      {
        offline: true,
      },
    );
    expect(dated.code, dated.stdout + dated.stderr).toBe(0);
    expect(dated.stdout).toMatch(
      /VERIFIED +\S*contract\.pdf .*; independently no later than \d{4}-/,
    );
    expect(await fs.readFile(caseReport, 'utf8')).toContain('Independently proven no later than');
  }, 120_000);

  it('a node has the authority stamp its tip; receipts take the stamp by upgrade', async () => {
    if (!authority || !tsa) throw new Error('no authority');
    tsa.setMode('ok');
    const dataDir = path.join(dir, 'stamping-node');
    const stamping = await startNode({
      dataDir,
      env: {
        EVIDENCE_ANCHOR_TARGETS: JSON.stringify([
          {
            name: 'test-tsa',
            kind: 'rfc3161',
            url: tsa.url,
            certFile: authority.certFile,
            operator: 'Test Time Service',
          },
        ]),
        EVIDENCE_ANCHOR_INTERVAL_MS: '200',
        EVIDENCE_ANCHOR_BACKOFF_MIN_MS: '50',
        EVIDENCE_ANCHOR_BACKOFF_MAX_MS: '200',
      },
    });
    try {
      const admin = await adminKey(dataDir);
      const key = await createKey(stamping.url, admin, {
        org: 'PlatformOrg',
        account: 'lawyer-node',
        role: 'depositor',
      });
      const status = async () => {
        const response = await fetch(`${stamping.url}/v1/anchoring/status`, {
          headers: { authorization: `Bearer ${admin}` },
        });
        return ((await response.json()) as AnchoringStatus).targets[0];
      };
      const exhibit = path.join(dir, 'node-stamped.pdf');
      await fs.writeFile(exhibit, randomBytes(3000));
      const deposited = await cli(['deposit', exhibit, '--gateway', stamping.url, '--key', key]);
      expect(deposited.code, deposited.stderr).toBe(0);
      const receiptFile = `${exhibit}.receipt.json`;
      const receipt = JSON.parse(await fs.readFile(receiptFile, 'utf8')) as Receipt;
      // More blocks after the deposit, so the stamp the upgrade uses may be of a later block.
      await fs.writeFile(path.join(dir, 'later.pdf'), randomBytes(100));
      await cli(['deposit', path.join(dir, 'later.pdf'), '--gateway', stamping.url, '--key', key]);
      const stamped = await waitFor('the tip stamped', async () => {
        const target = await status();
        return (target?.lastAnchoredBlock ?? -1) >= receipt.ledger.blockNumber ? target : undefined;
      });
      expect(stamped).toMatchObject({
        kind: 'rfc3161',
        targetChainId: 'test-tsa',
        trustPinned: true,
      });
      const dossier = (await (
        await fetch(`${stamping.url}/v1/admin/dossier`, {
          headers: { authorization: `Bearer ${admin}` },
        })
      ).json()) as {
        algorithms: Array<{ id: string; inUse: boolean; standard: string }>;
        anchors: Array<{ name: string; description: string }>;
      };
      expect(dossier.algorithms.find((a) => a.id === 'rfc3161')).toMatchObject({
        inUse: true,
        standard: 'RFC 3161 / GB/T 20520-2006',
      });
      expect(dossier.anchors[0]).toMatchObject({ name: 'test-tsa' });
      expect(dossier.anchors[0]?.description).toContain('time-stamp authority');
      const metrics = await (await fetch(`${stamping.url}/metrics`)).text();
      expect(metrics).toMatch(/evidence_last_anchor_age_seconds\{target="test-tsa"\} \d/);

      const upgraded = await cli([
        'upgrade',
        receiptFile,
        '--gateway',
        stamping.url,
        '--key',
        key,
        '--json',
      ]);
      expect(upgraded.code, upgraded.stdout + upgraded.stderr).toBe(0);
      expect(JSON.parse(upgraded.stdout)).toMatchObject({
        status: 'upgraded',
        added: [{ kind: 'timestamp', targetChainId: 'test-tsa', targetBlockNumber: null }],
      });
      const withStamp = JSON.parse(await fs.readFile(receiptFile, 'utf8')) as Receipt;
      const anchor = withStamp.anchors?.[0];
      expect(anchor?.kind).toBe('rfc3161-timestamp');

      const trustFile = path.join(dir, 'stamping-trust.json');
      await cli(['trust', 'fetch', '--gateway', stamping.url, '--out', trustFile]);
      const pinned = await pinAuthority(trustFile, 'test-tsa', authority.certFile);
      expect(pinned.code, pinned.stderr).toBe(0);
      const verified = await cli(
        [
          'verify',
          exhibit,
          '--receipt',
          receiptFile,
          '--trust',
          trustFile,
          '--require-anchor=test-tsa',
          '--json',
        ],
        { offline: true },
      );
      expect(verified.code, verified.stdout + verified.stderr).toBe(0);
      expect(JSON.parse(verified.stdout)).toMatchObject({
        verdict: 'VERIFIED',
        anchors: [{ kind: 'timestamp', targetChainId: 'test-tsa' }],
      });

      // The authority failing: the job backs off and says why; nothing else is held up.
      tsa.setMode('http-500');
      await fs.writeFile(path.join(dir, 'during-outage.pdf'), randomBytes(100));
      const during = await cli([
        'deposit',
        path.join(dir, 'during-outage.pdf'),
        '--gateway',
        stamping.url,
        '--key',
        key,
      ]);
      expect(during.code, during.stderr).toBe(0);
      const failing = await waitFor('a failed stamp', async () => {
        const target = await status();
        return (target?.consecutiveFailures ?? 0) > 0 ? target : undefined;
      });
      expect(failing?.lastErrorCode).toBe('LEDGER_UNAVAILABLE');
      tsa.setMode('ok');
      await waitFor('stamping to resume', async () => {
        const target = await status();
        return target?.consecutiveFailures === 0 ? target : undefined;
      });
    } finally {
      await stamping.stop();
    }
  }, 120_000);
});
