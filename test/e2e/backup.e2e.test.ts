/**
 * Online backup of the real node, taken while deposits stream in, then restored by starting a
 * second node on the backup folder: every deposit acknowledged before the backup was asked for is
 * there with a receipt that verifies against the original trust file; none acknowledged after it
 * completed is (it is a snapshot, not a link); the chain verifies; the audit log's chain is
 * intact; the API keys work; the restored node takes deposits. The manifest's digests match the
 * stores on disk, and a backup folder is refused as a data directory for a second backup of the
 * same id.
 */

import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestBytes } from '../../core/digest';
import { parseTrustFile, type TrustFile } from '../../core/trust';
import { verifyReceipt } from '../../core/verify';
import type { BackupView } from '../../gateway/backup';
import { openEmbeddedLedger } from '../../gateway/ledger/embedded-ledger';
import { digestStore } from '../../gateway/storage/store-copy';
import { ensureBuilt } from '../support/build';
import { streamDeposits } from '../support/deposit-stream';
import {
  adminKey,
  createKey,
  startNode,
  takeBackup,
  type NodeProcess,
} from '../support/node-process';

const WRITERS = 8;

/** Deposits `batches` batches of 1,000 fresh digests, acknowledged without receipts; their digests. */
async function depositBatches(url: string, key: string, batches: number): Promise<string[]> {
  const deposited: string[] = [];
  for (let batch = 0; batch < batches; batch++) {
    const items = Array.from({ length: 1000 }, () => digestBytes(randomBytes(32)));
    const response = await fetch(`${url}/v1/evidence/batch?receipts=none`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ items: items.map((item) => ({ digests: [item.sha256] })) }),
    });
    expect(response.status).toBe(200);
    const { results } = (await response.json()) as { results: Array<{ status: string }> };
    expect(results.filter((result) => result.status === 'created')).toHaveLength(1000);
    deposited.push(...items.map((item) => item.sha256));
  }
  return deposited;
}

/** `evidence-node check-backup FOLDER --json`: its exit status and report. */
function checkBackup(folder: string): { status: number | null; report: Record<string, unknown> } {
  const run = spawnSync(
    process.execPath,
    ['bin/evidence-node.js', 'check-backup', folder, '--json'],
    { encoding: 'utf8' },
  );
  return { status: run.status, report: JSON.parse(run.stdout) as Record<string, unknown> };
}
/** Records deposited in batches first, so the stores span many copy chunks. */
const PREFILL_BATCHES = 6;
const ENV = { EVIDENCE_RATE_LIMIT_MAX: '1000000' };

describe('online backup and restore', () => {
  let dir: string;
  const nodes: NodeProcess[] = [];

  beforeAll(async () => {
    ensureBuilt();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'backup-e2e-'));
  });

  afterAll(async () => {
    for (const node of nodes) await node.kill9();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('is taken under load and a node started on it holds what was acknowledged before', async () => {
    const dataDir = path.join(dir, 'data');
    const backupDir = path.join(dir, 'backups');
    const node = await startNode({ dataDir, env: { ...ENV, EVIDENCE_BACKUP_DIR: backupDir } });
    nodes.push(node);
    const admin = await adminKey(dataDir);
    const key = await createKey(node.url, admin, {
      org: 'PlatformOrg',
      account: 'backup-test',
      role: 'platform',
    });
    const auditor = await createKey(node.url, admin, {
      org: 'NodeOrg',
      account: 'auditor',
      role: 'auditor',
    });
    const trust = parseTrustFile(await (await fetch(`${node.url}/v1/trust`)).json()) as TrustFile;
    const auth = (k: string) => ({ authorization: `Bearer ${k}` });

    const prefilled = await depositBatches(node.url, key, PREFILL_BATCHES);

    // Deposits stream in on WRITERS connections for the whole backup.
    const stream = streamDeposits(node.url, key, WRITERS);
    const streamed = stream.acknowledged;
    await new Promise((resolve) => setTimeout(resolve, 500));

    const before = prefilled.length + streamed.length;
    const started = await fetch(`${node.url}/v1/admin/backups`, {
      method: 'POST',
      headers: auth(admin),
    });
    expect(started.status).toBe(202);
    const running = (await started.json()) as BackupView;
    expect(running.state).toBe('running');
    expect(started.headers.get('location')).toBe(`/v1/admin/backups/${running.id}`);

    let backup = running;
    const deadline = Date.now() + 60_000;
    while (backup.state === 'running' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      const polled = await fetch(`${node.url}${started.headers.get('location')}`, {
        headers: auth(admin),
      });
      expect(polled.status).toBe(200);
      backup = (await polled.json()) as BackupView;
    }
    const after = prefilled.length + streamed.length;
    // Deposits acknowledged from here on were made after the snapshot.
    await new Promise((resolve) => setTimeout(resolve, 300));
    await stream.stop();
    const later = streamed.slice(after - prefilled.length);

    expect(backup.state, JSON.stringify(backup.error)).toBe('completed');
    expect(backup.error).toBeNull();
    expect(backup.ledger?.verifiedBlocks).toBe(backup.ledger?.height);
    expect(backup.chainId).toBe(trust.chains[0]?.chainId);
    expect(Object.keys(backup.stores).sort()).toEqual(['agreements', 'audit']);
    expect([...backup.files].sort()).toEqual(['keys.json', 'node-key.pem']);
    expect(later.length).toBeGreaterThan(0);

    const listed = await fetch(`${node.url}/v1/admin/backups`, { headers: auth(admin) });
    expect(((await listed.json()) as { backups: BackupView[] }).backups).toEqual([backup]);
    // The audit log records the backup's outcome (it holds the node key), not only the request.
    type Entry = { type: string; params?: Record<string, string> };
    const readAudit = async (): Promise<Entry[]> => {
      const entries: Entry[] = [];
      let from: number | null = 0;
      while (from !== null) {
        const read = await fetch(`${node.url}/v1/audit?from=${from}&limit=1000`, {
          headers: auth(auditor),
        });
        const page = (await read.json()) as { entries: Entry[]; next: number | null };
        entries.push(...page.entries);
        from = page.next;
      }
      return entries;
    };
    let audited: Entry[] = [];
    for (let i = 0; i < 50 && !audited.some((e) => e.type === 'backup'); i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      audited = await readAudit();
    }
    expect(audited.filter((entry) => entry.type === 'backup')).toEqual([
      expect.objectContaining({ params: { id: backup.id, state: 'completed' } }),
    ]);
    // Not for other roles.
    const refused = await fetch(`${node.url}/v1/admin/backups`, {
      method: 'POST',
      headers: auth(key),
    });
    expect(refused.status).toBe(403);
    expect(await node.stop()).toBe(0);

    // The folder is whole: a manifest, no partial folder, and each store as the manifest says.
    const folder = path.join(backupDir, backup.id);
    expect(await fs.readdir(backupDir)).toEqual([backup.id]);
    const manifest = JSON.parse(await fs.readFile(path.join(folder, 'backup.json'), 'utf8'));
    expect(manifest).toEqual({ type: 'evidence-node-backup', version: 1, ...backup });
    expect(await digestStore(path.join(folder, 'ledger'))).toEqual(backup.ledger?.store);
    for (const [name, copy] of Object.entries(backup.stores)) {
      expect(await digestStore(path.join(folder, name)), name).toEqual(copy);
    }
    expect((await fs.stat(path.join(folder, 'node-key.pem'))).mode & 0o777).toBe(0o600);
    const copy = await openEmbeddedLedger({ dataDir: folder, org: 'NodeOrg' });
    expect(await copy.verifyChain()).toBe(backup.ledger?.height);
    await copy.close();
    // The operator's offline check says the same.
    expect(checkBackup(folder)).toEqual({
      status: 0,
      report: {
        intact: true,
        id: backup.id,
        verifiedBlocks: backup.ledger?.height,
        problems: [],
      },
    });

    // Restore: a node started on the folder.
    const restored = await startNode({ dataDir: folder, env: ENV });
    nodes.push(restored);
    const restoredTrust = await (await fetch(`${restored.url}/v1/trust`)).json();
    expect(restoredTrust).toEqual(trust);
    const info = (await (await fetch(`${restored.url}/v1/chain`)).json()) as { height: number };
    expect(info.height).toBe(backup.ledger?.height);

    // Every one before the backup was asked for; the receipts of one in 20 of the batches'.
    const checked = [...prefilled, ...streamed]
      .slice(0, before)
      .filter((_, index) => index >= PREFILL_BATCHES * 1000 || index % 20 === 0);
    for (const digest of checked) {
      const response = await fetch(`${restored.url}/v1/evidence/${digest}/receipt`, {
        headers: auth(key),
      });
      expect(response.status, digest).toBe(200);
      expect(verifyReceipt(await response.json(), trust).verdict, digest).toBe('VERIFIED');
    }
    for (const digest of later) {
      const response = await fetch(`${restored.url}/v1/evidence/${digest}`, {
        headers: auth(key),
      });
      expect(response.status, digest).toBe(404);
      await response.arrayBuffer();
    }

    const audit = await fetch(`${restored.url}/v1/audit/verify`, { headers: auth(auditor) });
    expect(audit.status).toBe(200);
    expect(((await audit.json()) as { intact: boolean }).intact).toBe(true);

    const item = digestBytes(randomBytes(32));
    const deposit = await fetch(`${restored.url}/v1/evidence`, {
      method: 'POST',
      headers: { ...auth(key), 'content-type': 'application/json' },
      body: JSON.stringify({ digests: [item.sha256] }),
    });
    expect(deposit.status).toBe(201);
    const receipt = ((await deposit.json()) as { receipt: unknown }).receipt;
    expect(verifyReceipt(receipt, trust).verdict).toBe('VERIFIED');
    expect(await restored.stop()).toBe(0);
    // The folder now holds a deposit the backup did not: the check says which store changed.
    const changed = checkBackup(folder);
    expect(changed.status).toBe(1);
    expect(changed.report.intact).toBe(false);
    expect(changed.report.problems).toEqual(
      expect.arrayContaining([expect.stringMatching(/^ledger\/ holds \d+ entries/)]),
    );
    console.log(
      `backup under load: ${before} deposits before it was asked for, ${after - before} while it ran, ${later.length} after; ` +
        `ledger ${backup.ledger?.height} blocks, ${backup.ledger?.store.entries} entries, ${backup.ledger?.store.bytes} bytes; ` +
        `${Date.parse(backup.finishedAt ?? '') - Date.parse(backup.startedAt)} ms`,
    );
  }, 180_000);

  it('takes backups on its own every EVIDENCE_BACKUP_INTERVAL_MS and keeps EVIDENCE_BACKUP_KEEP', async () => {
    const dataDir = path.join(dir, 'scheduled-data');
    const backupDir = path.join(dir, 'scheduled-backups');
    const node = await startNode({
      dataDir,
      env: {
        ...ENV,
        EVIDENCE_BACKUP_DIR: backupDir,
        EVIDENCE_BACKUP_INTERVAL_MS: '300',
        EVIDENCE_BACKUP_KEEP: '2',
      },
    });
    nodes.push(node);
    const completed = async () => {
      const text = await (await fetch(`${node.url}/metrics`)).text();
      const line = text
        .split('\n')
        .find((l) => l.startsWith('evidence_backups_total{outcome="completed"}'));
      return Number(line?.split(' ').pop() ?? 0);
    };
    const deadline = Date.now() + 30_000;
    while ((await completed()) < 4 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await completed()).toBeGreaterThanOrEqual(4);
    expect(await node.stop()).toBe(0);
    const folders = (await fs.readdir(backupDir)).sort();
    expect(folders).toHaveLength(2);
    for (const folder of folders) {
      expect(checkBackup(path.join(backupDir, folder)).report.intact, folder).toBe(true);
    }
  }, 60_000);
});

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

// Mounting needs root. CI runs as root, so there the suite must run: never skip it under CI.
describe.skipIf(!isRoot && process.env.CI !== 'true')(
  'a backup directory that fills up (a real 1 MiB tmpfs, root)',
  () => {
    let dir: string;
    let mount: string | undefined;
    let node: NodeProcess | undefined;

    beforeAll(async () => {
      ensureBuilt();
      dir = await fs.mkdtemp(path.join(os.tmpdir(), 'backup-full-'));
    });

    afterAll(async () => {
      await node?.kill9();
      if (mount) {
        try {
          execFileSync('umount', [mount]);
        } catch {
          execFileSync('umount', ['-l', mount]);
        }
      }
      await fs.rm(dir, { recursive: true, force: true });
    });

    it('fails with STORAGE_FULL, leaves nothing behind, and the node serves on', async () => {
      mount = path.join(dir, 'mnt');
      await fs.mkdir(mount);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0700', 'tmpfs', mount]);
      const backupDir = path.join(mount, 'backups');
      const dataDir = path.join(dir, 'data');
      node = await startNode({ dataDir, env: { ...ENV, EVIDENCE_BACKUP_DIR: backupDir } });
      const admin = await adminKey(dataDir);
      const key = await createKey(node.url, admin, {
        org: 'PlatformOrg',
        account: 'backup-full',
        role: 'platform',
      });
      const auth = (k: string) => ({ authorization: `Bearer ${k}` });
      // About 1.7 KB of ledger entries per record: 3,000 records do not fit in 1 MiB.
      await depositBatches(node.url, key, 3);

      const backup = await takeBackup(node.url, admin);
      expect(backup.state).toBe('failed');
      expect(backup.error?.code, backup.error?.message).toBe('STORAGE_FULL');
      expect(await fs.readdir(backupDir)).toEqual([]);
      const metrics = await (await fetch(`${node.url}/metrics`)).text();
      expect(metrics).toMatch(/^evidence_backups_total\{outcome="failed"\} 1$/m);

      // The node's own disk was never touched: deposits go on.
      const item = digestBytes(randomBytes(32));
      const deposit = await fetch(`${node.url}/v1/evidence`, {
        method: 'POST',
        headers: { ...auth(key), 'content-type': 'application/json' },
        body: JSON.stringify({ digests: [item.sha256] }),
      });
      expect(deposit.status).toBe(201);
      console.log(`backup to a full disk: ${backup.error?.code}: ${backup.error?.message}`);
      expect(await node.stop()).toBe(0);
      node = undefined;
    }, 120_000);
  },
);
