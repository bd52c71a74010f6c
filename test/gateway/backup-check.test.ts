/**
 * `evidence-node check-backup` (gateway/backup-check.ts) on a real backup of a real embedded
 * ledger: intact as taken; each kind of damage named; usage errors.
 */

import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildBatch } from '../../core/batch';
import { canonicalJson } from '../../core/canonical';
import { digestBytes } from '../../core/digest';
import { createBackupService, type BackupView } from '../../gateway/backup';
import { checkBackup, checkBackupCommand } from '../../gateway/backup-check';
import { openEmbeddedLedger } from '../../gateway/ledger/embedded-ledger';
import { main } from '../../gateway/main';
import { copyStore } from '../../gateway/storage/store-copy';
import { openTextStore } from '../../gateway/storage/text-store';
import { tempDir } from './helpers';

describe('check-backup', () => {
  let dir: string;
  let folder: string;
  let backup: BackupView;

  beforeEach(async () => {
    dir = await tempDir('backup-check-');
    const dataDir = path.join(dir, 'data');
    const ledger = await openEmbeddedLedger({ dataDir, org: 'NodeOrg' });
    const records = ['a', 'b', 'c'].map((content) => ({
      digests: [digestBytes(Buffer.from(content)).sha256],
      depositor: { org: 'PlatformOrg', account: 'lawyer-1' },
    }));
    const batch = buildBatch(records);
    await ledger.submit(
      'evidence',
      'depositBatch',
      [canonicalJson({ records: batch.records, root: batch.root })],
      { mspId: 'NodeOrg', id: 'gateway', role: 'gateway' },
    );
    const agreements = await openTextStore(path.join(dataDir, 'agreements'), 'agreements');
    await agreements.put('watch', '{}');
    await fs.writeFile(path.join(dataDir, 'keys.json'), '{"keys":[]}\n');
    const service = createBackupService({
      dir: path.join(dir, 'backups'),
      sources: {
        ledger,
        agreements: { copyStore: (location) => copyStore(agreements, location) },
        anchoring: { copyStore: async () => undefined },
        keysFile: path.join(dataDir, 'keys.json'),
      },
    });
    const { id } = service.start();
    await service.close();
    backup = (await service.get(id)) as BackupView;
    expect(backup.state).toBe('completed');
    folder = path.join(dir, 'backups', id);
    await agreements.close();
    await ledger.close();
  });

  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('finds a backup as taken intact, with every block verified', async () => {
    expect(await checkBackup(folder)).toEqual({
      intact: true,
      id: backup.id,
      verifiedBlocks: 2,
      problems: [],
    });
    const lines: string[] = [];
    const status = await checkBackupCommand([folder], {
      stdout: (line) => lines.push(line),
      stderr: (line) => lines.push(line),
    });
    expect(status).toBe(0);
    expect(lines).toEqual([`backup ${backup.id} in ${folder} is intact: 2 blocks verified`]);
  });

  it('names a store whose entries changed, a missing file and a missing node key', async () => {
    const agreements = await openTextStore(path.join(folder, 'agreements'), 'copy');
    await agreements.put('watch', '{"changed":true}');
    await agreements.close();
    await fs.rm(path.join(folder, 'keys.json'));
    let result = await checkBackup(folder);
    expect(result.intact).toBe(false);
    expect(result.verifiedBlocks).toBe(2);
    expect(result.problems).toEqual([
      expect.stringMatching(
        /^agreements\/ holds 1 entries \(sha256:[0-9a-f]{64}\), the manifest names 1/,
      ),
      'keys.json is missing',
    ]);

    await fs.rm(path.join(folder, 'node-key.pem'));
    result = await checkBackup(folder);
    expect(result.problems).toContain('node-key.pem is missing');
    expect(result.verifiedBlocks).toBeNull();
    // Nothing was created in its place.
    await expect(fs.access(path.join(folder, 'node-key.pem'))).rejects.toThrow();
  });

  it('names a ledger that is not the one the manifest describes', async () => {
    const manifestFile = path.join(folder, 'backup.json');
    const manifest = JSON.parse(await fs.readFile(manifestFile, 'utf8'));
    await fs.writeFile(
      manifestFile,
      JSON.stringify({ ...manifest, ledger: { ...manifest.ledger, height: 7 } }),
    );
    expect((await checkBackup(folder)).problems).toEqual([
      expect.stringMatching(/^the ledger's tip is block 1 \(sha256:.*\), the manifest names 6/),
    ]);
    await fs.writeFile(manifestFile, JSON.stringify({ ...manifest, chainId: 'another-chain' }));
    expect((await checkBackup(folder)).problems).toEqual([
      expect.stringContaining('the ledger does not verify: configured chain id another-chain'),
    ]);
    await fs.rm(path.join(folder, 'ledger'), { recursive: true });
    await fs.writeFile(manifestFile, JSON.stringify(manifest));
    expect((await checkBackup(folder)).problems).toEqual([
      expect.stringMatching(/^ledger\/ cannot be read: /),
    ]);
  });

  it('refuses a folder without a whole manifest', async () => {
    const manifestFile = path.join(folder, 'backup.json');
    await fs.writeFile(
      manifestFile,
      '{"type":"evidence-node-backup","version":1,"state":"running"}',
    );
    expect(await checkBackup(folder)).toMatchObject({
      intact: false,
      id: null,
      problems: [expect.stringContaining('not the manifest of a completed backup')],
    });
    await fs.writeFile(manifestFile, 'not json');
    expect((await checkBackup(folder)).problems).toEqual(['backup.json is not JSON']);
    await fs.rm(manifestFile);
    expect((await checkBackup(folder)).problems).toEqual(['backup.json cannot be read (ENOENT)']);
    const lines: string[] = [];
    const io = { stdout: (line: string) => lines.push(line), stderr: () => undefined };
    expect(await checkBackupCommand([folder, '--json'], io)).toBe(1);
    expect(JSON.parse(lines[0] as string)).toMatchObject({ intact: false, id: null });
  });

  it('answers usage errors with status 2', async () => {
    const errors: string[] = [];
    const io = { stdout: () => undefined, stderr: (line: string) => errors.push(line) };
    expect(await checkBackupCommand([], io)).toBe(2);
    expect(await checkBackupCommand([folder, folder], io)).toBe(2);
    expect(await checkBackupCommand(['--force'], io)).toBe(2);
    expect(errors[0]).toMatch(/^usage: evidence-node check-backup FOLDER/);
    // The node itself refuses arguments it does not know, before opening anything.
    expect(await main({}, ['--port', '9000'])).toBe(2);
  });
});
