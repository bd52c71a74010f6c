/**
 * Online backups (gateway/backup.ts, routes/admin-backups.ts): the service over sources it is
 * given (one at a time, failures recorded and their folder removed, manifests read back, ids in
 * order), and the routes over the app (admin only, 202 and Location, 404, 409 codes). The real
 * stores and the real node: store-copy.test.ts and test/e2e/backup.e2e.test.ts.
 */

import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LedgerError } from '../../core/errors';
import {
  createBackupService,
  type BackupService,
  type BackupSources,
  type BackupView,
} from '../../gateway/backup';
import type { LedgerBackup } from '../../gateway/ledger/ledger';
import type { StoreCopy } from '../../gateway/storage/store-copy';
import { FakeLedger } from './fake-ledger';
import { getWith, makeTestApp, tempDir, type TestApp } from './helpers';

const COPY: StoreCopy = { entries: 1, bytes: 2, digest: `sha256:${'0'.repeat(64)}` };

/** A gate a test opens when it wants a copy to finish. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

/** Writes a marker file where a store would be, so the folder's content can be checked. */
async function fakeCopy(location: string): Promise<StoreCopy> {
  await fs.mkdir(location);
  await fs.writeFile(path.join(location, 'CURRENT'), 'copy');
  return COPY;
}

async function until(service: BackupService, id: string): Promise<BackupView> {
  for (;;) {
    const view = await service.get(id);
    if (view && view.state !== 'running') return view;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('backup service', () => {
  let dir: string;
  let keysFile: string;
  let ledger: FakeLedger & { backup?: (dir: string) => Promise<LedgerBackup> };
  let clock: number;

  beforeEach(async () => {
    dir = await tempDir('backup-');
    keysFile = path.join(dir, 'keys.json');
    await fs.writeFile(keysFile, '{"keys":[]}\n');
    ledger = new FakeLedger();
    clock = Date.parse('2026-11-28T08:00:00.000Z');
  });

  afterEach(async () => {
    await ledger.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  let finished: BackupView[];
  function service(overrides: Partial<BackupSources> = {}, errors: unknown[] = []) {
    finished = [];
    return createBackupService({
      dir: path.join(dir, 'backups'),
      sources: {
        ledger,
        agreements: { copyStore: fakeCopy },
        anchoring: { copyStore: async () => undefined },
        audit: { copyTo: fakeCopy },
        keysFile,
        ...overrides,
      },
      clock: () => clock,
      onError: (error) => errors.push(error),
      onFinished: (view) => finished.push(view),
    });
  }

  it('copies the ledger first, then the stores and the keys file, and writes the manifest last', async () => {
    const order: string[] = [];
    const ledgerCopy: LedgerBackup = {
      store: COPY,
      height: 3,
      tipHash: `sha256:${'1'.repeat(64)}`,
      tipTime: '2026-11-28T07:59:00.000Z',
      verifiedBlocks: 3,
    };
    ledger.backup = async (folder) => {
      order.push(`ledger ${path.basename(folder)}`);
      await fs.writeFile(path.join(folder, 'node-key.pem'), 'key', { mode: 0o600 });
      return ledgerCopy;
    };
    const backups = service({
      agreements: { copyStore: (l) => (order.push('agreements'), fakeCopy(l)) },
      audit: { copyTo: (l) => (order.push('audit'), fakeCopy(l)) },
    });
    const running = backups.start();
    expect(running).toMatchObject({
      id: '20261128T080000000Z',
      state: 'running',
      startedAt: '2026-11-28T08:00:00.000Z',
      finishedAt: null,
      ledger: null,
      error: null,
    });
    clock += 1_500;
    const done = await until(backups, running.id);
    expect(order).toEqual([`ledger ${running.id}.partial`, 'agreements', 'audit']);
    expect(done).toEqual({
      ...running,
      state: 'completed',
      finishedAt: '2026-11-28T08:00:01.500Z',
      chainId: ledger.chainId,
      ledger: { kind: 'embedded', ...ledgerCopy },
      stores: { agreements: COPY, audit: COPY },
      files: ['node-key.pem', 'keys.json'],
    });
    const folder = path.join(dir, 'backups', running.id);
    expect((await fs.readdir(folder)).sort()).toEqual([
      'agreements',
      'audit',
      'backup.json',
      'keys.json',
      'node-key.pem',
    ]);
    expect(await fs.readFile(path.join(folder, 'keys.json'), 'utf8')).toBe('{"keys":[]}\n');
    expect((await fs.stat(path.join(folder, 'keys.json'))).mode & 0o777).toBe(0o600);
    expect((await fs.stat(path.join(dir, 'backups'))).mode & 0o777).toBe(0o700);
    expect(JSON.parse(await fs.readFile(path.join(folder, 'backup.json'), 'utf8'))).toEqual({
      type: 'evidence-node-backup',
      version: 1,
      ...done,
    });
    // Told once, with the completed backup (the node audits it).
    expect(finished).toEqual([done]);
    // A new service (a restarted node) reads it back from the folder.
    expect(await service().list()).toEqual([done]);
  });

  it('without a ledger copy (not the node own ledger) records none, and no node key', async () => {
    const backups = service();
    const done = await until(backups, backups.start().id);
    expect(done.state).toBe('completed');
    expect(done.ledger).toBeNull();
    expect(done.files).toEqual(['keys.json']);
  });

  it('takes one at a time: BACKUP_RUNNING while one runs, then the next', async () => {
    const held = gate();
    const backups = service({
      agreements: { copyStore: async (l) => (await held.wait, fakeCopy(l)) },
    });
    const first = backups.start();
    expect(() => backups.start()).toThrow(
      expect.objectContaining({
        code: 'BACKUP_RUNNING',
        message: expect.stringContaining(first.id),
      }),
    );
    expect(await backups.get(first.id)).toEqual(first);
    expect((await backups.list()).map((view) => view.state)).toEqual(['running']);
    held.open();
    await until(backups, first.id);
    // Same millisecond: the next id is still later.
    const second = backups.start();
    expect(second.id > first.id).toBe(true);
    await until(backups, second.id);
    expect((await backups.list()).map((view) => view.id)).toEqual([second.id, first.id]);
  });

  it('records a failure with its code, removes the partial folder, and tells onError', async () => {
    const errors: unknown[] = [];
    const backups = service(
      {
        audit: {
          copyTo: async () => {
            throw new LedgerError('STORAGE_FULL', 'the backup disk is full');
          },
        },
      },
      errors,
    );
    const failed = await until(backups, backups.start().id);
    expect(failed).toMatchObject({
      state: 'failed',
      error: { code: 'STORAGE_FULL', message: 'the backup disk is full' },
    });
    expect(failed.finishedAt).not.toBeNull();
    expect(await fs.readdir(path.join(dir, 'backups'))).toEqual([]);
    expect(errors).toHaveLength(1);
    expect(finished).toEqual([failed]);
    // Errors that are not ours are INTERNAL, with their message.
    let failures = 1;
    const other = service({
      agreements: {
        copyStore: async (location) => {
          if (failures-- > 0) throw new Error('EIO: i/o error');
          return fakeCopy(location);
        },
      },
    });
    expect(await until(other, other.start().id)).toMatchObject({
      state: 'failed',
      error: { code: 'INTERNAL', message: 'the backup failed: EIO: i/o error' },
    });
    // A failed backup does not block the next one.
    expect((await until(other, other.start().id)).state).toBe('completed');
    // A full disk is STORAGE_FULL, whoever reported it: LevelDB's text, the file system's errno,
    // or one of our errors carrying either.
    for (const thrown of [
      Object.assign(new Error('IO error: /b/ledger/000005.log: No space left on device'), {
        code: 'LEVEL_IO_ERROR',
      }),
      Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }),
      new LedgerError('LEDGER_UNAVAILABLE', 'cannot create the copy at /b/audit: IO error: x', {
        cause: new Error('No space left on device'),
      }),
    ]) {
      const full = service({
        audit: {
          copyTo: async () => {
            throw thrown;
          },
        },
      });
      expect(await until(full, full.start().id)).toMatchObject({
        state: 'failed',
        error: {
          code: 'STORAGE_FULL',
          message: expect.stringMatching(/^the disk is full; the backup was removed: /),
        },
      });
    }
  });

  it('never reuses the id of a backup in the folder, even with the clock set back', async () => {
    const first = service();
    const taken = await until(first, first.start().id);
    clock -= 60_000;
    const later = service();
    await later.open();
    const next = await until(later, later.start().id);
    expect(next.state).toBe('completed');
    expect(next.id > taken.id).toBe(true);
    expect((await later.list()).map((view) => view.id)).toEqual([next.id, taken.id]);
  });

  it('lists only whole backups of the folder: not partial ones, stray files or bad manifests', async () => {
    const backups = service();
    const done = await until(backups, backups.start().id);
    const root = path.join(dir, 'backups');
    await fs.mkdir(path.join(root, '20261128T070000000Z.partial'));
    await fs.mkdir(path.join(root, 'notes'));
    await fs.mkdir(path.join(root, '20261128T060000000Z'));
    await fs.writeFile(path.join(root, '20261128T060000000Z', 'backup.json'), '{not json');
    await fs.mkdir(path.join(root, '20261128T050000000Z'));
    await fs.writeFile(
      path.join(root, '20261128T050000000Z', 'backup.json'),
      JSON.stringify({ ...done, type: 'evidence-node-backup', version: 1 }),
    );
    expect(await backups.list()).toEqual([done]);
    expect(await backups.get('20261128T060000000Z')).toBeUndefined();
    expect(await backups.get('../../etc')).toBeUndefined();
  });

  it('refuses without a backup directory, and once closed; close waits for a running one', async () => {
    const none = createBackupService({
      dir: undefined,
      sources: {
        ledger,
        agreements: { copyStore: fakeCopy },
        anchoring: { copyStore: async () => undefined },
        keysFile,
      },
    });
    expect(() => none.start()).toThrow(
      expect.objectContaining({
        code: 'BACKUP_NOT_CONFIGURED',
        message: expect.stringContaining('EVIDENCE_BACKUP_DIR'),
      }),
    );
    expect(await none.list()).toEqual([]);

    const held = gate();
    const backups = service({
      agreements: { copyStore: async (l) => (await held.wait, fakeCopy(l)) },
    });
    const running = backups.start();
    let closed = false;
    const closing = backups.close().then(() => (closed = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(closed).toBe(false);
    held.open();
    await closing;
    expect((await backups.get(running.id))?.state).toBe('completed');
    expect(() => backups.start()).toThrow(expect.objectContaining({ code: 'LEDGER_CLOSED' }));
  });

  it('abandons the audit copy when closed, as the ledger copy', async () => {
    const backups = service({
      audit: {
        copyTo: async (location, options) => {
          await fs.mkdir(location);
          await new Promise((resolve) => options?.signal?.addEventListener('abort', resolve));
          throw new LedgerError('LEDGER_CLOSED', 'the node is stopping: the copy was abandoned');
        },
      },
    });
    const running = backups.start();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await backups.close();
    expect(await backups.get(running.id)).toMatchObject({
      state: 'failed',
      error: { code: 'LEDGER_CLOSED' },
    });
    expect(await fs.readdir(path.join(dir, 'backups'))).toEqual([]);
  });

  it('abandons the ledger copy when closed: the backup fails LEDGER_CLOSED, its folder removed', async () => {
    let aborted = false;
    const stopped = gate();
    ledger.backup = async (location) => {
      await fs.mkdir(location, { recursive: true });
      await stopped.wait;
      throw new LedgerError('LEDGER_CLOSED', 'the node is stopping: the copy was abandoned');
    };
    (ledger as { abortBackup?: () => void }).abortBackup = () => {
      aborted = true;
      stopped.open();
    };
    const backups = service();
    const running = backups.start();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await backups.close();
    expect(aborted).toBe(true);
    expect(await backups.get(running.id)).toMatchObject({
      state: 'failed',
      error: { code: 'LEDGER_CLOSED' },
    });
    expect(await fs.readdir(path.join(dir, 'backups'))).toEqual([]);
  });
});

describe('scheduled backups', () => {
  let dir: string;
  let ledger: FakeLedger;
  const services: BackupService[] = [];

  beforeEach(async () => {
    dir = await tempDir('backup-schedule-');
    ledger = new FakeLedger();
  });

  afterEach(async () => {
    for (const service of services.splice(0)) await service.close();
    await ledger.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  function scheduled(intervalMs: number, keep: number, finished: string[] = []) {
    const service = createBackupService({
      dir: path.join(dir, 'backups'),
      sources: {
        ledger,
        agreements: { copyStore: fakeCopy },
        anchoring: { copyStore: async () => undefined },
        keysFile: path.join(dir, 'none.json'),
      },
      intervalMs,
      keep,
      metrics: {
        finished: (outcome) => finished.push(outcome),
        completedBefore: () => undefined,
      },
    });
    services.push(service);
    return service;
  }

  async function waitFor(check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error('timed out');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  it('takes a backup at once with none in the folder, then one per interval, keeping the newest', async () => {
    const finished: string[] = [];
    const service = scheduled(40, 2, finished);
    await service.open();
    await waitFor(() => finished.length >= 4);
    await service.close();
    expect(finished.slice(0, 4)).toEqual(['completed', 'completed', 'completed', 'completed']);
    const kept = await service.list();
    expect(kept).toHaveLength(2);
    const names = (await fs.readdir(path.join(dir, 'backups'))).sort().reverse();
    expect(names).toEqual(kept.map((view) => view.id));
    expect(await service.dossier()).toEqual({
      intervalSeconds: 1,
      keep: 2,
      completed: 2,
      last: { finishedAt: kept[0]?.finishedAt },
    });
  });

  it('waits for the interval after the newest backup of the folder, and stops when closed', async () => {
    const first = scheduled(0, 0);
    await until(first, first.start().id);
    const finished: string[] = [];
    const service = scheduled(60_000, 0, finished);
    await service.open();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(finished).toEqual([]);
    await service.close();
  });

  it('retries a failed scheduled backup, and a backup asked for meanwhile counts', async () => {
    let failures = 1;
    const finished: string[] = [];
    const service = createBackupService({
      dir: path.join(dir, 'backups'),
      sources: {
        ledger,
        agreements: {
          copyStore: async (location) => {
            if (failures-- > 0) throw new Error('EIO');
            return fakeCopy(location);
          },
        },
        anchoring: { copyStore: async () => undefined },
        keysFile: path.join(dir, 'none.json'),
      },
      intervalMs: 50,
      metrics: { finished: (outcome) => finished.push(outcome), completedBefore: () => {} },
    });
    services.push(service);
    await service.open();
    await waitFor(() => finished.length >= 2);
    expect(finished.slice(0, 2)).toEqual(['failed', 'completed']);
  });

  it('deletes partial folders a crash left behind, and nothing else', async () => {
    const root = path.join(dir, 'backups');
    await fs.mkdir(path.join(root, '20261128T070000000Z.partial', 'ledger'), { recursive: true });
    await fs.mkdir(path.join(root, 'notes.partial'));
    await fs.writeFile(path.join(root, 'README'), 'the operator keeps notes here');
    const service = scheduled(0, 0);
    await service.open();
    expect((await fs.readdir(root)).sort()).toEqual(['README', 'notes.partial']);
  });
});

describe('backup routes', () => {
  let t: TestApp;

  afterEach(async () => {
    await t.close();
  });

  it('admin only: 202 with Location, then the backup by id and in the list; 404 and 400 for bad ids', async () => {
    const backupDir = path.join(await tempDir('backup-routes-'), 'backups');
    t = await makeTestApp({ config: { backupDir } });
    const platform = await t.keyFor('platform');
    const auditor = await t.keyFor('auditor');
    for (const key of [platform, auditor]) {
      const refused = await t.app.inject({
        method: 'POST',
        url: '/v1/admin/backups',
        headers: { authorization: `Bearer ${key}` },
      });
      expect(refused.statusCode).toBe(403);
      expect(refused.json().code).toBe('FORBIDDEN');
    }
    const started = await t.app.inject({
      method: 'POST',
      url: '/v1/admin/backups',
      headers: { authorization: `Bearer ${t.adminKey}` },
    });
    expect(started.statusCode).toBe(202);
    const running = started.json() as BackupView;
    expect(started.headers.location).toBe(`/v1/admin/backups/${running.id}`);
    let view = running;
    while (view.state === 'running') {
      await new Promise((resolve) => setTimeout(resolve, 5));
      view = (await getWith(t.app, started.headers.location as string, t.adminKey)).json();
    }
    expect(view.state).toBe('completed');
    expect(Object.keys(view.stores)).toEqual(['agreements']);
    const list = await getWith(t.app, '/v1/admin/backups', t.adminKey);
    expect(list.json()).toEqual({ backups: [view] });
    // The compliance dossier states the policy and the last backup (this ledger copies none).
    const dossier = await getWith(t.app, '/v1/admin/dossier', t.adminKey);
    expect(dossier.json().backups).toEqual({ completed: 1, last: { finishedAt: view.finishedAt } });

    const unknown = await getWith(t.app, '/v1/admin/backups/20200101T000000000Z', t.adminKey);
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().code).toBe('NOT_FOUND');
    const bad = await getWith(t.app, '/v1/admin/backups/..%2F..', t.adminKey);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().fields).toEqual([expect.objectContaining({ path: '/id', rule: 'pattern' })]);
    await fs.rm(path.dirname(backupDir), { recursive: true, force: true });
  });

  it('409 BACKUP_NOT_CONFIGURED without EVIDENCE_BACKUP_DIR', async () => {
    t = await makeTestApp();
    const refused = await t.app.inject({
      method: 'POST',
      url: '/v1/admin/backups',
      headers: { authorization: `Bearer ${t.adminKey}` },
    });
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ code: 'BACKUP_NOT_CONFIGURED' });
    expect((await getWith(t.app, '/v1/admin/backups', t.adminKey)).json()).toEqual({
      backups: [],
    });
  });
});
