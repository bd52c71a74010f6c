import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isEvidenceError } from '../../core/errors';
import { hashApiKey, openKeyStore } from '../../gateway/auth/api-keys';
import { tempDir } from './helpers';

describe('openKeyStore', () => {
  const dirs: string[] = [];
  async function dir(): Promise<string> {
    const made = await tempDir('keys-test-');
    dirs.push(made);
    return made;
  }
  afterEach(async () => {
    for (const made of dirs.splice(0)) await fs.rm(made, { recursive: true, force: true });
  });

  it('creates a first admin key on a fresh node, written mode 0600, stored only as a hash', async () => {
    const base = await dir();
    const file = path.join(base, 'keys.json');
    const { keys, adminKeyFile } = await openKeyStore({ file, org: 'NodeOrg' });
    expect(adminKeyFile).toBe(path.join(base, 'admin.key'));
    const key = (await fs.readFile(adminKeyFile!, 'utf8')).trim();
    expect(key).toMatch(/^ek_[A-Za-z0-9_-]{43}$/);
    expect((await fs.stat(adminKeyFile!)).mode & 0o777).toBe(0o600);
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
    const text = await fs.readFile(file, 'utf8');
    expect(text).not.toContain(key);
    expect(text).toContain(hashApiKey(key));
    expect(keys.authenticate(key)).toMatchObject({
      org: 'NodeOrg',
      account: 'admin',
      role: 'admin',
    });
    expect(keys.list()).toHaveLength(1);
    expect(keys.list()[0]).not.toHaveProperty('keyHash');
  });

  it('reopens an existing file without making another admin key', async () => {
    const base = await dir();
    const file = path.join(base, 'keys.json');
    const first = await openKeyStore({ file, org: 'NodeOrg' });
    const { key, info } = await first.keys.create({
      org: 'PlatformOrg',
      account: 'lawyer-1',
      role: 'depositor',
    });
    expect(key.slice(3, 15)).not.toBe(info.id);
    const again = await openKeyStore({ file, org: 'NodeOrg' });
    expect(again.adminKeyFile).toBeUndefined();
    expect(again.keys.authenticate(key)).toEqual({
      keyId: info.id,
      org: 'PlatformOrg',
      account: 'lawyer-1',
      role: 'depositor',
    });
    expect(again.keys.list()).toHaveLength(2);
  });

  it('refuses unknown and malformed keys', async () => {
    const { keys } = await openKeyStore({
      file: path.join(await dir(), 'keys.json'),
      org: 'NodeOrg',
    });
    expect(keys.authenticate(`ek_${'A'.repeat(43)}`)).toBeUndefined();
    expect(keys.authenticate('not-a-key')).toBeUndefined();
    expect(keys.authenticate('')).toBeUndefined();
  });

  it('revokes at once and keeps the revocation across a reopen', async () => {
    const file = path.join(await dir(), 'keys.json');
    const { keys } = await openKeyStore({ file, org: 'NodeOrg' });
    const { key, info } = await keys.create({ org: 'CourtOrg', account: 'judge-1', role: 'court' });
    const revoked = await keys.revoke(info.id);
    expect(revoked.revokedAt).toBeDefined();
    expect(keys.authenticate(key)).toBeUndefined();
    expect((await keys.revoke(info.id)).revokedAt).toBe(revoked.revokedAt);
    const again = await openKeyStore({ file, org: 'NodeOrg' });
    expect(again.keys.authenticate(key)).toBeUndefined();
  });

  it('throws NOT_FOUND when revoking an unknown id', async () => {
    const { keys } = await openKeyStore({
      file: path.join(await dir(), 'keys.json'),
      org: 'NodeOrg',
    });
    await expect(keys.revoke('unknown-id')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('refuses a new key with a bad role or name, naming each field', async () => {
    const { keys } = await openKeyStore({
      file: path.join(await dir(), 'keys.json'),
      org: 'NodeOrg',
    });
    const error: unknown = await keys
      .create({ org: 'has space', account: '', role: 'gateway' as never })
      .catch((caught: unknown) => caught);
    expect(isEvidenceError(error) && error.code).toBe('VALIDATION_FAILED');
    expect((error as { fields: { path: string }[] }).fields.map((f) => f.path)).toEqual([
      '/org',
      '/account',
      '/role',
    ]);
  });

  it('refuses a corrupted keys file with CONFIG_INVALID', async () => {
    const file = path.join(await dir(), 'keys.json');
    await fs.writeFile(
      file,
      '{"type":"judicial-evidence-api-keys","version":1,"keys":[{"id":"x"}]}',
    );
    await expect(openKeyStore({ file, org: 'NodeOrg' })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
    });
    await fs.writeFile(file, 'garbage');
    await expect(openKeyStore({ file, org: 'NodeOrg' })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
    });
  });

  it('leaves no temporary files behind after concurrent writes', async () => {
    const base = await dir();
    const file = path.join(base, 'keys.json');
    const { keys } = await openKeyStore({ file, org: 'NodeOrg' });
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        keys.create({ org: 'PlatformOrg', account: `a-${i}`, role: 'platform' }),
      ),
    );
    expect((await fs.readdir(base)).sort()).toEqual(['admin.key', 'keys.json']);
    const reopened = await openKeyStore({ file, org: 'NodeOrg' });
    expect(reopened.keys.list()).toHaveLength(21);
  });
});
