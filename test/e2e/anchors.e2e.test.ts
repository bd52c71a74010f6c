/**
 * Cross-chain anchors end to end, with two real node processes: a court node (CourtOrg, its chain
 * signed with SM2), where the admin creates an `anchor` principal for the evidence node, and an
 * evidence node (PlatformOrg, Ed25519) that anchors its tip there. Files are deposited and receipts upgraded with the
 * real CLI; receipts are verified offline inside `unshare -n`. Then the court node goes away for
 * a while and comes back on the same data directory: anchoring resumes, and receipts deposited
 * during the outage upgrade and verify (no gap in the header chains). Finally a contradicting
 * anchor submitted over HTTP is refused with 409 ANCHOR_CONFLICT and listed as a fork.
 */

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnchorFork, AnchorRecord } from '../../core/anchor';
import type { Receipt } from '../../core/receipt';
import type { AnchoringStatus, TargetStatus } from '../../gateway/anchoring/anchor-job';
import { ensureBuilt } from '../support/build';
import { cli } from '../support/cli-process';
import { adminKey, createKey, startNode, type NodeProcess } from '../support/node-process';
import { waitFor } from '../support/wait';

type Json = Record<string, unknown>;

describe('cross-chain anchors between two nodes, end to end', () => {
  let dir: string;
  let court: NodeProcess | undefined;
  let evidence: NodeProcess | undefined;

  beforeAll(async () => {
    ensureBuilt();
    // dist/ may predate the anchoring code; build once more if so.
    if (!existsSync('dist/gateway/anchoring/anchor-job.js')) {
      execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
    }
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'e2e-anchors-'));
  }, 120_000);

  afterAll(async () => {
    await evidence?.stop();
    await court?.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('anchors, upgrades and verifies offline, resumes after an outage without a gap, and records a fork', async () => {
    // The court node, and an `anchor` principal on it for the evidence node.
    const courtDir = path.join(dir, 'court');
    // The court's chain signs with SM2 (courts' chains use national cryptography); the
    // evidence node's with Ed25519: anchors are checked across the two algorithms.
    court = await startNode({
      dataDir: courtDir,
      env: { EVIDENCE_ORG: 'CourtOrg', EVIDENCE_NODE_KEY_ALGORITHM: 'sm2-sm3' },
    });
    const courtTrust = (await (await fetch(`${court.url}/v1/trust`)).json()) as {
      chains: Array<{ keys: Array<{ algorithm: string }> }>;
    };
    expect(courtTrust.chains[0]!.keys.map((k) => k.algorithm)).toEqual(['sm2-sm3']);
    const courtPort = new URL(court.url).port;
    const courtUrl = court.url;
    const anchorKey = await createKey(court.url, await adminKey(courtDir), {
      org: 'PlatformOrg',
      account: 'evidence-anchoring',
      role: 'anchor',
    });
    const keyFile = path.join(dir, 'court-anchor.key');
    await fs.writeFile(keyFile, `${anchorKey}\n`, { mode: 0o600 });

    // The evidence node, anchoring on the court node every 3 blocks or 300 ms.
    const evidenceDir = path.join(dir, 'evidence');
    evidence = await startNode({
      dataDir: evidenceDir,
      env: {
        EVIDENCE_ORG: 'PlatformOrg',
        EVIDENCE_ANCHOR_TARGETS: JSON.stringify([
          { name: 'court', kind: 'http', url: courtUrl, apiKeyFile: keyFile },
        ]),
        EVIDENCE_ANCHOR_INTERVAL_MS: '300',
        EVIDENCE_ANCHOR_EVERY_BLOCKS: '3',
        EVIDENCE_ANCHOR_BACKOFF_MIN_MS: '200',
        EVIDENCE_ANCHOR_BACKOFF_MAX_MS: '800',
        EVIDENCE_ANCHOR_TIMEOUT_MS: '2000',
      },
    });
    const evidenceUrl = evidence.url;
    const evidenceAdmin = await adminKey(evidenceDir);
    const depositKey = await createKey(evidenceUrl, evidenceAdmin, {
      org: 'PlatformOrg',
      account: 'lawyer-1',
      role: 'depositor',
    });
    const chainOf = async (url: string) =>
      ((await (await fetch(`${url}/v1/chain`)).json()) as { chainId: string }).chainId;
    const evidenceChain = await chainOf(evidenceUrl);
    const courtChain = await chainOf(courtUrl);
    expect(evidenceChain).not.toBe(courtChain);

    const status = async (): Promise<TargetStatus> => {
      const response = await fetch(`${evidenceUrl}/v1/anchoring/status`, {
        headers: { authorization: `Bearer ${evidenceAdmin}` },
      });
      expect(response.status).toBe(200);
      const body = (await response.json()) as AnchoringStatus;
      expect(body.sourceChainId).toBe(evidenceChain);
      return body.targets[0] as TargetStatus;
    };
    const deposit = async (names: string[]): Promise<Map<string, Receipt>> => {
      for (const name of names) await fs.writeFile(path.join(dir, name), randomBytes(2048));
      const result = await cli([
        'deposit',
        ...names.map((name) => path.join(dir, name)),
        '--gateway',
        evidenceUrl,
        '--key',
        depositKey,
        '--json',
      ]);
      expect(result.code, result.stderr).toBe(0);
      const receipts = new Map<string, Receipt>();
      for (const name of names) {
        const text = await fs.readFile(path.join(dir, `${name}.receipt.json`), 'utf8');
        receipts.set(name, JSON.parse(text) as Receipt);
      }
      return receipts;
    };
    const highest = (receipts: Map<string, Receipt>) =>
      Math.max(...[...receipts.values()].map((r) => r.ledger.blockNumber));
    const upgrade = (name: string) =>
      cli([
        'upgrade',
        path.join(dir, `${name}.receipt.json`),
        '--gateway',
        evidenceUrl,
        '--key',
        depositKey,
        '--json',
      ]);
    const verify = (name: string, trusts: string[], extra: string[] = []) =>
      cli(
        [
          'verify',
          path.join(dir, name),
          '--receipt',
          path.join(dir, `${name}.receipt.json`),
          ...trusts.flatMap((t) => ['--trust', path.join(dir, t)]),
          '--require-anchor',
          ...extra,
        ],
        { offline: true },
      );

    // Deposit, wait for the anchor, upgrade.
    const first = await deposit(['contract.pdf', 'chat.txt', 'photo.jpg']);
    await waitFor('the first anchor', async () => {
      const shown = await status();
      return (shown.lastAnchoredBlock ?? -1) >= highest(first) ? shown : undefined;
    });
    const metrics = await (await fetch(`${evidenceUrl}/metrics`)).text();
    expect(metrics).toMatch(/^evidence_last_anchor_age_seconds\{target="court"\} \d/m);
    const upgraded = await upgrade('contract.pdf');
    expect(upgraded.code, upgraded.stderr).toBe(0);
    expect(JSON.parse(upgraded.stdout)).toMatchObject({
      status: 'upgraded',
      backup: expect.stringMatching(/contract\.pdf\.receipt\.json\.bak$/),
      added: [{ targetChainId: courtChain }],
    });
    await fs.access(path.join(dir, 'contract.pdf.receipt.json.bak'));

    // Pin both chains' trust, then verify offline.
    for (const [url, out] of [
      [evidenceUrl, 'evidence.json'],
      [courtUrl, 'court.json'],
    ] as const) {
      const fetched = await cli(['trust', 'fetch', '--gateway', url, '--out', path.join(dir, out)]);
      expect(fetched.code, fetched.stderr).toBe(0);
    }
    const verified = await verify('contract.pdf', ['evidence.json', 'court.json'], ['--json']);
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
    const report = JSON.parse(verified.stdout) as Json;
    expect(report).toMatchObject({
      verdict: 'VERIFIED',
      vouchedBy: [evidenceChain, courtChain],
      anchors: [{ targetChainId: courtChain }],
      facts: { chainId: evidenceChain, earliestAnchor: expect.any(String) },
    });
    const human = await verify('contract.pdf', ['evidence.json', 'court.json']);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`Vouched for by: ${evidenceChain}, ${courtChain}.`);
    const onlyOwn = await verify('contract.pdf', ['evidence.json'], ['--json']);
    expect(onlyOwn.code).toBe(1);
    expect(JSON.parse(onlyOwn.stdout)).toMatchObject({
      verdict: 'UNTRUSTED',
      code: 'ANCHOR_UNTRUSTED',
    });

    // The court node goes away; deposits go on; anchoring fails and backs off.
    expect(await court.stop()).toBe(0);
    court = undefined;
    const during = await deposit(['during-1.bin', 'during-2.bin']);
    const failing = await waitFor('anchoring failures', async () => {
      const shown = await status();
      return shown.consecutiveFailures >= 2 ? shown : undefined;
    });
    expect(failing).toMatchObject({
      lastErrorCode: 'LEDGER_UNAVAILABLE',
      nextAttemptAt: expect.any(String),
    });
    expect(failing.blocksBehind).toBeGreaterThan(0);
    expect(failing.lastAnchoredBlock).toBeLessThan(highest(during));
    const pending = await upgrade('during-1.bin');
    expect(pending.code).toBe(1);
    expect(JSON.parse(pending.stdout)).toMatchObject({ error: { code: 'ANCHOR_PENDING' } });

    // Back on the same data directory and port: anchoring resumes.
    court = await startNode({
      dataDir: courtDir,
      env: { EVIDENCE_ORG: 'CourtOrg', EVIDENCE_PORT: courtPort },
    });
    expect(court.url).toBe(courtUrl);
    const resumed = await waitFor('anchoring to resume', async () => {
      const shown = await status();
      return shown.consecutiveFailures === 0 && (shown.lastAnchoredBlock ?? -1) >= highest(during)
        ? shown
        : undefined;
    });
    expect(resumed.lastErrorCode).toBe('LEDGER_UNAVAILABLE'); // the last error is kept for reading

    // Every receipt, from before and during the outage, upgrades and verifies offline; each
    // header chain runs from its block to an anchored block.
    for (const name of ['chat.txt', 'photo.jpg', 'during-1.bin', 'during-2.bin']) {
      const result = await upgrade(name);
      expect(result.code, `${name}: ${result.stdout}${result.stderr}`).toBe(0);
      const receipt = JSON.parse(
        await fs.readFile(path.join(dir, `${name}.receipt.json`), 'utf8'),
      ) as Receipt;
      const anchor = receipt.anchors?.[0];
      if (anchor?.kind !== 'embedded-anchor') throw new Error(`${name}: no chain anchor`);
      expect(anchor.targetChainId).toBe(courtChain);
      expect(anchor?.anchorTx.block.signature.algorithm).toBe('sm2-sm3');
      expect(receipt.proof.block.signature.algorithm).toBe('ed25519');
      const anchored = anchor?.anchorTx.result.anchor.blockNumber ?? -1;
      expect(anchored).toBe(receipt.ledger.blockNumber + (anchor?.headers.length ?? 0));
      expect(anchor?.headers.map((h) => h.number)).toEqual(
        Array.from(
          { length: anchor?.headers.length ?? 0 },
          (_, i) => receipt.ledger.blockNumber + 1 + i,
        ),
      );
      const checked = await verify(
        name,
        ['evidence.json', 'court.json'],
        [`--require-anchor=${courtChain}`, '--json'],
      );
      expect(checked.code, `${name}: ${checked.stdout} ${checked.stderr}`).toBe(0);
      expect(JSON.parse(checked.stdout)).toMatchObject({ verdict: 'VERIFIED' });
    }

    // A contradicting anchor is refused, and the fork stays on record.
    const summaryOf = async () =>
      (await (await fetch(`${courtUrl}/v1/anchors/${evidenceChain}`)).json()) as {
        latest: AnchorRecord;
        forks: number;
      };
    const before = await summaryOf();
    expect(before.latest.blockNumber).toBeGreaterThanOrEqual(highest(during));
    expect(before.forks).toBe(0);
    const forged = await fetch(`${courtUrl}/v1/anchors`, {
      method: 'POST',
      headers: { authorization: `Bearer ${anchorKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        sourceChainId: evidenceChain,
        blockNumber: before.latest.blockNumber,
        headerHash: `sha256:${'ab'.repeat(32)}`,
      }),
    });
    expect(forged.status).toBe(409);
    expect(await forged.json()).toMatchObject({ code: 'ANCHOR_CONFLICT' });
    const forks = (await (await fetch(`${courtUrl}/v1/anchors/${evidenceChain}/forks`)).json()) as {
      forks: AnchorFork[];
    };
    expect(forks.forks).toEqual([
      expect.objectContaining({
        code: 'ANCHOR_CONFLICT',
        blockNumber: before.latest.blockNumber,
        headerHash: `sha256:${'ab'.repeat(32)}`,
        recorded: expect.objectContaining({ headerHash: before.latest.headerHash }),
        reportedBy: { org: 'PlatformOrg', account: 'evidence-anchoring' },
      }),
    ]);
    expect((await summaryOf()).forks).toBe(1);
    await waitFor('the fork warning in the court log', async () =>
      court?.output().includes('anchor refused') ? true : undefined,
    );
  }, 90_000);
});
