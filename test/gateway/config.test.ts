import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, loadConfig } from '../../gateway/config';
import { evidenceErrorOf as configError } from '../support/rejection';
import { tempDir } from './helpers';

describe('loadConfig', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const dir of dirs.splice(0)) await fs.rm(dir, { recursive: true, force: true });
  });

  it('gives the defaults for an empty environment, with paths made absolute', () => {
    const config = loadConfig({});
    // Settings other features add are checked by their own tests; these are the node's basics.
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 8080,
      dataDir: path.resolve('data'),
      org: 'NodeOrg',
      chainId: undefined,
      ledger: 'embedded',
      bodyLimit: 1_048_576,
      batchMaxItems: 1000,
      groupCommitMax: 1000,
      groupCommitDelayMs: 2,
      submitTimeoutMs: 15_000,
      logLevel: 'info',
      keysFile: path.resolve('data', 'keys.json'),
    });
    expect(DEFAULT_CONFIG.port).toBe(8080);
  });

  it('reads every EVIDENCE_ variable', () => {
    const config = loadConfig({
      EVIDENCE_HOST: '0.0.0.0',
      EVIDENCE_PORT: '9000',
      EVIDENCE_DATA_DIR: '/var/lib/evidence',
      EVIDENCE_ORG: 'CourtOrg',
      EVIDENCE_CHAIN_ID: 'court-chain',
      EVIDENCE_LEDGER: 'embedded',
      EVIDENCE_BODY_LIMIT: '2048',
      EVIDENCE_BATCH_MAX_ITEMS: '10',
      EVIDENCE_GROUP_COMMIT_MAX: '50',
      EVIDENCE_GROUP_COMMIT_DELAY_MS: '0',
      EVIDENCE_SUBMIT_TIMEOUT_MS: '1000',
      EVIDENCE_LOG_LEVEL: 'debug',
      EVIDENCE_KEYS_FILE: '/etc/evidence/keys.json',
    });
    expect(config).toMatchObject({
      host: '0.0.0.0',
      port: 9000,
      dataDir: '/var/lib/evidence',
      org: 'CourtOrg',
      chainId: 'court-chain',
      ledger: 'embedded',
      bodyLimit: 2048,
      batchMaxItems: 10,
      groupCommitMax: 50,
      groupCommitDelayMs: 0,
      submitTimeoutMs: 1000,
      logLevel: 'debug',
      keysFile: '/etc/evidence/keys.json',
    });
  });

  it('takes a backup directory outside the data directory, never inside it or holding it', () => {
    expect(loadConfig({}).backupDir).toBeUndefined();
    expect(
      loadConfig({ EVIDENCE_DATA_DIR: '/srv/node', EVIDENCE_BACKUP_DIR: '/mnt/backups/node' })
        .backupDir,
    ).toBe('/mnt/backups/node');
    // A sibling whose name starts like the data directory's is outside it.
    expect(
      loadConfig({ EVIDENCE_DATA_DIR: '/srv/node', EVIDENCE_BACKUP_DIR: '/srv/node-backups' })
        .backupDir,
    ).toBe('/srv/node-backups');
    expect(loadConfig({ EVIDENCE_BACKUP_DIR: 'backups' }).backupDir).toBe(path.resolve('backups'));
    for (const backupDir of ['/srv/node', '/srv/node/backups', '/srv', '/']) {
      const error = configError(() =>
        loadConfig({ EVIDENCE_DATA_DIR: '/srv/node', EVIDENCE_BACKUP_DIR: backupDir }),
      );
      expect(error.code, backupDir).toBe('CONFIG_INVALID');
      expect(error.fields, backupDir).toEqual([
        {
          path: '/backupDir',
          rule: 'outsideDataDir',
          message: 'EVIDENCE_BACKUP_DIR must be outside EVIDENCE_DATA_DIR and must not contain it',
        },
      ]);
    }
  });

  it('schedules backups and keeps the newest only with a backup directory', () => {
    expect(loadConfig({})).toMatchObject({ backupIntervalMs: 0, backupKeep: 0 });
    expect(
      loadConfig({
        EVIDENCE_BACKUP_DIR: '/mnt/backups',
        EVIDENCE_BACKUP_INTERVAL_MS: '86400000',
        EVIDENCE_BACKUP_KEEP: '7',
      }),
    ).toMatchObject({ backupIntervalMs: 86_400_000, backupKeep: 7 });
    const error = configError(() =>
      loadConfig({ EVIDENCE_BACKUP_INTERVAL_MS: '3600000', EVIDENCE_BACKUP_KEEP: 'x' }),
    );
    expect(error.fields).toEqual([
      expect.objectContaining({ path: '/backupKeep', rule: 'integer' }),
      {
        path: '/backupIntervalMs',
        rule: 'required',
        message: 'EVIDENCE_BACKUP_INTERVAL_MS needs EVIDENCE_BACKUP_DIR',
      },
    ]);
    expect(configError(() => loadConfig({ EVIDENCE_BACKUP_KEEP: '3' })).fields).toEqual([
      {
        path: '/backupKeep',
        rule: 'required',
        message: 'EVIDENCE_BACKUP_KEEP needs EVIDENCE_BACKUP_DIR',
      },
    ]);
  });

  it('takes the node key algorithm for new keys, unset by default, and names a bad one', () => {
    expect(loadConfig({}).nodeKeyAlgorithm).toBeUndefined();
    expect(loadConfig({ EVIDENCE_NODE_KEY_ALGORITHM: 'sm2-sm3' }).nodeKeyAlgorithm).toBe('sm2-sm3');
    expect(loadConfig({ EVIDENCE_NODE_KEY_ALGORITHM: 'ed25519' }).nodeKeyAlgorithm).toBe('ed25519');
    const error = configError(() => loadConfig({ EVIDENCE_NODE_KEY_ALGORITHM: 'sm2' }));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.fields).toEqual([
      expect.objectContaining({
        path: '/nodeKeyAlgorithm',
        rule: 'enum',
        message: expect.stringMatching(/EVIDENCE_NODE_KEY_ALGORITHM.*ed25519, sm2-sm3/),
      }),
    ]);
  });

  it('derives the keys file from the data directory', () => {
    expect(loadConfig({ EVIDENCE_DATA_DIR: '/srv/node' }).keysFile).toBe('/srv/node/keys.json');
  });

  it('accepts plain HOST and PORT, below their EVIDENCE_ forms', () => {
    expect(loadConfig({ HOST: '::1', PORT: '3000' })).toMatchObject({ host: '::1', port: 3000 });
    expect(loadConfig({ PORT: '3000', EVIDENCE_PORT: '4000' }).port).toBe(4000);
  });

  it('reports every bad variable at once, as CONFIG_INVALID with one field each', () => {
    const error = configError(() =>
      loadConfig({
        EVIDENCE_PORT: 'eighty',
        EVIDENCE_ORG: 'has spaces',
        EVIDENCE_LEDGER: 'postgres',
        EVIDENCE_BODY_LIMIT: '-1',
        EVIDENCE_BATCH_MAX_ITEMS: '0',
        EVIDENCE_GROUP_COMMIT_MAX: '1.5',
        EVIDENCE_GROUP_COMMIT_DELAY_MS: '99999999',
        EVIDENCE_SUBMIT_TIMEOUT_MS: '1e3',
        EVIDENCE_LOG_LEVEL: 'loud',
        EVIDENCE_CHAIN_ID: 'no/slashes',
      }),
    );
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.fields?.map((field) => [field.path, field.rule])).toEqual([
      ['/port', 'integer'],
      ['/org', 'pattern'],
      ['/chainId', 'pattern'],
      ['/ledger', 'enum'],
      ['/bodyLimit', 'integer'],
      ['/batchMaxItems', 'integer'],
      ['/groupCommitMax', 'integer'],
      ['/groupCommitDelayMs', 'integer'],
      ['/submitTimeoutMs', 'integer'],
      ['/logLevel', 'enum'],
    ]);
    expect(error.fields?.[0]?.message).toContain('EVIDENCE_PORT');
  });

  it('says fabric is not available in this build', () => {
    const error = configError(() => loadConfig({ EVIDENCE_LEDGER: 'fabric' }));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.fields).toEqual([
      {
        path: '/ledger',
        rule: 'enum',
        message: 'EVIDENCE_LEDGER fabric is not available in this build',
      },
    ]);
  });

  it('reads EVIDENCE_CONFIG, and the environment wins over the file', async () => {
    const dir = await tempDir();
    dirs.push(dir);
    const file = path.join(dir, 'node.json');
    await fs.writeFile(
      file,
      JSON.stringify({ port: 7000, org: 'NotaryOrg', groupCommitMax: 10, chainId: null }),
    );
    const config = loadConfig({ EVIDENCE_CONFIG: file, EVIDENCE_PORT: '7001' });
    expect(config).toMatchObject({
      port: 7001,
      org: 'NotaryOrg',
      groupCommitMax: 10,
      chainId: undefined,
    });
  });

  it('reports unknown keys and bad values of the file together with bad variables', async () => {
    const dir = await tempDir();
    dirs.push(dir);
    const file = path.join(dir, 'node.json');
    await fs.writeFile(file, JSON.stringify({ prot: 7000, bodyLimit: 'big' }));
    const error = configError(() => loadConfig({ EVIDENCE_CONFIG: file, EVIDENCE_LOG_LEVEL: 'x' }));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.fields?.map((field) => [field.path, field.rule])).toEqual([
      ['/prot', 'additionalProperties'],
      ['/bodyLimit', 'integer'],
      ['/logLevel', 'enum'],
    ]);
  });

  it('reports a missing or unreadable config file as CONFIG_INVALID', async () => {
    const dir = await tempDir();
    dirs.push(dir);
    const missing = configError(() => loadConfig({ EVIDENCE_CONFIG: path.join(dir, 'nope.json') }));
    expect(missing.fields?.map((f) => [f.path, f.rule])).toEqual([['/config', 'file']]);
    const file = path.join(dir, 'bad.json');
    await fs.writeFile(file, '{ not json');
    expect(configError(() => loadConfig({ EVIDENCE_CONFIG: file })).fields?.[0]?.path).toBe(
      '/config',
    );
    await fs.writeFile(file, '[1, 2]');
    expect(configError(() => loadConfig({ EVIDENCE_CONFIG: file })).fields?.[0]?.rule).toBe('type');
  });

  it('lets overrides win and validates them too', () => {
    expect(loadConfig({ EVIDENCE_PORT: '1' }, { port: 0 }).port).toBe(0);
    expect(configError(() => loadConfig({}, { port: 70_000 })).fields?.[0]?.path).toBe('/port');
  });

  it('does not read process.env at import time', async () => {
    const previous = process.env.EVIDENCE_PORT;
    process.env.EVIDENCE_PORT = '6123';
    try {
      expect(loadConfig().port).toBe(6123);
      expect(loadConfig({}).port).toBe(8080);
    } finally {
      if (previous === undefined) delete process.env.EVIDENCE_PORT;
      else process.env.EVIDENCE_PORT = previous;
    }
  });
});
