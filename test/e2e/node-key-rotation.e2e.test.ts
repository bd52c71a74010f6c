/**
 * Rotating the node key of the real node while deposits stream in, then `kill -9` and a restart:
 * every deposit acknowledged is there, and its receipt verifies against the new trust file, from
 * before the rotation and after; the judge's `evidence verify` (offline) accepts receipts of both
 * keys with the new file and names why the old file refuses a receipt of the new key; only the new
 * private key is left in the data directory; a backup taken after it checks out through the
 * rotation. The court's old trust file is brought up to date by `evidence trust update`, which
 * follows the signed rotation; a file of another chain is not.
 */

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTrustFile, trustFingerprint, type TrustFile } from '../../core/trust';
import { verifyReceipt } from '../../core/verify';
import { ensureBuilt } from '../support/build';
import { streamDeposits } from '../support/deposit-stream';
import { cli } from '../support/cli-process';
import {
  adminKey,
  createKey,
  startNode,
  takeBackup,
  type NodeProcess,
} from '../support/node-process';

const WRITERS = 4;
const ENV = { EVIDENCE_RATE_LIMIT_MAX: '1000000' };

describe('node key rotation on the real node', () => {
  let dir: string;
  let node: NodeProcess | undefined;

  beforeAll(async () => {
    ensureBuilt();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rotation-e2e-'));
  });
  afterAll(async () => {
    await node?.kill9();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('rotates under load; after kill -9 every receipt verifies with the new trust file', async () => {
    const dataDir = path.join(dir, 'data');
    const backupDir = path.join(dir, 'backups');
    const env = { ...ENV, EVIDENCE_BACKUP_DIR: backupDir };
    node = await startNode({ dataDir, env });
    const admin = await adminKey(dataDir);
    const key = await createKey(node.url, admin, {
      org: 'PlatformOrg',
      account: 'rotation-test',
      role: 'platform',
    });
    const auth = (k: string) => ({ authorization: `Bearer ${k}` });
    const url = node.url;

    // An exhibit deposited with the CLI, and the trust file a court pinned at the time.
    const before = path.join(dir, 'before.pdf');
    await fs.writeFile(before, randomBytes(4096));
    const first = await cli(['deposit', before, '--gateway', url, '--key', key]);
    expect(first.code, first.stderr).toBe(0);
    const oldTrust = path.join(dir, 'trust-before.json');
    expect((await cli(['trust', 'fetch', '--gateway', url, '--out', oldTrust])).code).toBe(0);

    // Deposits stream in on WRITERS connections around the rotation.
    const stream = streamDeposits(url, key, WRITERS);
    const acknowledged = stream.acknowledged;
    await new Promise((resolve) => setTimeout(resolve, 300));
    const rotated = await fetch(`${url}/v1/admin/node-keys`, {
      method: 'POST',
      headers: auth(admin),
    });
    expect(rotated.status).toBe(201);
    const rotation = (await rotated.json()) as {
      previousKeyId: string;
      keyId: string;
      blockNumber: number;
      trustFingerprint: string;
    };
    const atRotation = acknowledged.length;
    await new Promise((resolve) => setTimeout(resolve, 300));
    await stream.stop();
    expect(atRotation).toBeGreaterThan(0);
    expect(acknowledged.length).toBeGreaterThan(atRotation);

    const after = path.join(dir, 'after.pdf');
    await fs.writeFile(after, randomBytes(4096));
    const second = await cli(['deposit', after, '--gateway', url, '--key', key]);
    expect(second.code, second.stderr).toBe(0);

    // Crash, then restart on the same directory.
    await node.kill9();
    node = await startNode({ dataDir, env });
    expect((await fs.readdir(dataDir)).filter((name) => name.startsWith('node-key'))).toEqual([
      'node-key.pem',
    ]);
    const newTrust = path.join(dir, 'trust-after.json');
    expect((await cli(['trust', 'fetch', '--gateway', node.url, '--out', newTrust])).code).toBe(0);
    const trust = parseTrustFile(JSON.parse(await fs.readFile(newTrust, 'utf8'))) as TrustFile;
    expect(trustFingerprint(trust)).toBe(rotation.trustFingerprint);
    expect(trust.chains[0]!.keys.map((k) => k.keyId)).toEqual([
      rotation.previousKeyId,
      rotation.keyId,
    ]);
    // The court's pinned file follows the signed rotation, with no out-of-band comparison.
    const updated = path.join(dir, 'trust-updated.json');
    const update = await cli([
      'trust',
      'update',
      oldTrust,
      '--gateway',
      node.url,
      '--out',
      updated,
      '--json',
    ]);
    expect(update.code, update.stderr).toBe(0);
    const report = JSON.parse(update.stdout) as { fingerprint: string; added: unknown[] };
    expect(report.fingerprint).toBe(rotation.trustFingerprint);
    expect(report.added).toEqual([
      expect.objectContaining({ keyId: rotation.keyId, algorithm: 'ed25519' }),
    ]);
    // A file that pins another chain is not updated from this one.
    const foreign = path.join(dir, 'trust-foreign.json');
    const pinnedBefore = JSON.parse(await fs.readFile(oldTrust, 'utf8')) as TrustFile;
    const foreignText = JSON.stringify({
      ...pinnedBefore,
      chains: [{ ...pinnedBefore.chains[0], chainId: 'another-chain' }],
    });
    await fs.writeFile(foreign, foreignText);
    const refused = await cli(['trust', 'update', foreign, '--gateway', node.url]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('TRUST_NOT_VOUCHED');
    expect(await fs.readFile(foreign, 'utf8')).toBe(foreignText);

    const keys = (await (
      await fetch(`${node.url}/v1/admin/node-keys`, { headers: auth(admin) })
    ).json()) as { keys: Array<{ keyId: string; lastBlock?: number; current: boolean }> };
    expect(keys.keys.map((k) => [k.keyId, k.lastBlock, k.current])).toEqual([
      [rotation.previousKeyId, rotation.blockNumber, false],
      [rotation.keyId, undefined, true],
    ]);

    // Every acknowledged deposit is there and verifies against the new trust file.
    const signers = new Set<string>();
    for (const digest of acknowledged) {
      const response = await fetch(`${node.url}/v1/evidence/${digest}/receipt`, {
        headers: auth(key),
      });
      expect(response.status).toBe(200);
      const receipt = (await response.json()) as {
        proof: { block: { signature: { keyId: string } } };
      };
      signers.add(receipt.proof.block.signature.keyId);
      expect(verifyReceipt(receipt, trust).verdict).toBe('VERIFIED');
    }
    expect([...signers].sort()).toEqual([rotation.previousKeyId, rotation.keyId].sort());
    console.log(
      `rotation under load: ${acknowledged.length} deposits acknowledged (${atRotation} before the rotation answered), ${acknowledged.length} found, each verified`,
    );

    // The judge, offline: both exhibits with the new file; the old file refuses the later one.
    for (const file of [before, after]) {
      for (const trustFile of [newTrust, updated]) {
        const verified = await cli(
          ['verify', file, '--receipt', `${file}.receipt.json`, '--trust', trustFile, '--json'],
          { offline: true },
        );
        expect(verified.code, verified.stderr + verified.stdout).toBe(0);
      }
    }
    const old = await cli(
      ['verify', before, '--receipt', `${before}.receipt.json`, '--trust', oldTrust],
      { offline: true },
    );
    expect(old.code, old.stderr + old.stdout).toBe(0);
    const stale = await cli(
      ['verify', after, '--receipt', `${after}.receipt.json`, '--trust', oldTrust, '--json'],
      { offline: true },
    );
    expect(stale.code).not.toBe(0);
    expect(stale.stdout).toContain('KEY_NOT_TRUSTED');

    // A backup after the rotation: its own check and check-backup follow the chain through it.
    const backup = await takeBackup(node.url, admin);
    const { id } = backup;
    expect(backup.state).toBe('completed');
    const check = spawnSync(
      process.execPath,
      ['bin/evidence-node.js', 'check-backup', path.join(backupDir, id), '--json'],
      { encoding: 'utf8' },
    );
    expect(check.status, check.stdout + check.stderr).toBe(0);
    expect(await node.stop()).toBe(0);
    node = undefined;
  }, 300_000);
});
