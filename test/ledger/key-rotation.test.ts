/**
 * Rotating the embedded ledger's node key: the chain records it, the trust file gives each key its
 * window, the files in the data directory follow, and a crash or a failed write at any point
 * leaves a chain that opens with the right key.
 */

import { createPrivateKey, createPublicKey, sign, type KeyObject } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ClassicLevel } from 'classic-level';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { blockSigningBytes, type BlockHeader, type SignedBlockHeader } from '../../core/block';
import { canonicalJson } from '../../core/canonical';
import { keyIdOf } from '../../core/signature';
import { verifyBlockSignature } from '../../core/trust';
import { openEmbeddedLedger } from '../../gateway/ledger/embedded-ledger';
import { failBatchWrites } from '../support/leveldb-faults';
import { depositArgs, GATEWAY_IDENTITY } from '../support/deposit-args';
import { rejectionOf } from '../support/rejection';

const gateway = GATEWAY_IDENTITY;
const T0 = Date.parse('2026-03-01T08:00:00.000Z');

async function keyIdOfFile(file: string): Promise<string> {
  const privateKey = createPrivateKey(await fs.readFile(file, 'utf8'));
  return keyIdOf(createPublicKey(privateKey).export({ format: 'der', type: 'spki' }));
}

describe('node key rotation', () => {
  let dir: string;
  let now: number;
  const clock = () => now;
  let restore: (() => void) | undefined;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ledger-keys-'));
    now = T0;
  });
  afterEach(async () => {
    restore?.();
    restore = undefined;
    await fs.rm(dir, { recursive: true, force: true });
  });

  const open = () => openEmbeddedLedger({ dataDir: dir, org: 'NodeOrg', clock });
  async function deposit(
    ledger: Awaited<ReturnType<typeof open>>,
    content: string,
  ): Promise<SignedBlockHeader> {
    const committed = await ledger.submit(
      'evidence',
      'depositBatch',
      depositArgs(content),
      gateway,
    );
    return (await ledger.blockHeader(committed.blockNumber))!;
  }

  it('records the new key in a block signed by the old one; the trust file windows both keys', async () => {
    const ledger = await open();
    const before = ledger.trust();
    const oldKeyId = await keyIdOfFile(path.join(dir, 'node-key.pem'));
    const first = await deposit(ledger, 'before');

    now = T0 + 60_000;
    const rotation = await ledger.rotateKey();
    expect(rotation.previousKeyId).toBe(oldKeyId);
    expect(rotation.keyId).not.toBe(oldKeyId);
    expect(rotation.blockNumber).toBe(2);
    expect(rotation.time).toBe(new Date(T0 + 60_000).toISOString());
    // The rotation block is the old key's last.
    const rotationBlock = (await ledger.blockHeader(2))!;
    expect(rotationBlock.signature.keyId).toBe(oldKeyId);

    now = T0 + 120_000;
    const second = await deposit(ledger, 'after');
    expect(second.signature.keyId).toBe(rotation.keyId);

    const trust = ledger.trust();
    expect(rotation.trust).toEqual(trust);
    expect(trust.chains[0]!.keys).toEqual([
      {
        keyId: oldKeyId,
        algorithm: 'ed25519',
        publicKey: before.chains[0]!.keys[0]!.publicKey,
        notAfter: rotation.time,
      },
      {
        keyId: rotation.keyId,
        algorithm: 'ed25519',
        publicKey: rotation.publicKey,
        notBefore: rotation.time,
      },
    ]);
    expect(ledger.nodeKeys().map((k) => [k.firstBlock, k.lastBlock])).toEqual([
      [0, 2],
      [3, undefined],
    ]);
    // Blocks of either key check against the new trust file; the old file knows only the old key.
    for (const block of [first, rotationBlock, second])
      expect(verifyBlockSignature(block, trust)).toMatchObject({ ok: true });
    // What a judge reads: the key and the window it signed in.
    expect(verifyBlockSignature(first, trust)).toMatchObject({
      detail: expect.stringContaining(`${oldKeyId}, valid until ${rotation.time}`),
    });
    expect(verifyBlockSignature(second, trust)).toMatchObject({
      detail: expect.stringContaining(`${rotation.keyId}, valid from ${rotation.time}`),
    });
    expect(verifyBlockSignature(first, before)).toMatchObject({ ok: true });
    expect(verifyBlockSignature(second, before)).toMatchObject({
      ok: false,
      problem: 'KEY_NOT_TRUSTED',
    });
    expect(await ledger.verifyChain()).toBe(4);
    await ledger.close();
  });

  it('leaves only the new private key on disk (0600), and reopens with it', async () => {
    let ledger = await open();
    const oldPem = await fs.readFile(path.join(dir, 'node-key.pem'), 'utf8');
    const rotation = await ledger.rotateKey();
    await ledger.close();

    expect(await fs.readdir(dir)).toEqual(['ledger', 'node-key.pem']);
    const stat = await fs.stat(path.join(dir, 'node-key.pem'));
    expect(stat.mode & 0o777).toBe(0o600);
    expect(await fs.readFile(path.join(dir, 'node-key.pem'), 'utf8')).not.toBe(oldPem);
    expect(await keyIdOfFile(path.join(dir, 'node-key.pem'))).toBe(rotation.keyId);

    ledger = await open();
    expect(ledger.trust()).toEqual(rotation.trust);
    expect((await deposit(ledger, 'after reopen')).signature.keyId).toBe(rotation.keyId);
    expect(await ledger.verifyChain()).toBe(3);
    await ledger.close();
  });

  it('refuses a block the retired key signs after its window: a stolen old key cannot add blocks', async () => {
    const ledger = await open();
    const stolen: KeyObject = createPrivateKey(
      await fs.readFile(path.join(dir, 'node-key.pem'), 'utf8'),
    );
    now = T0 + 1_000;
    await ledger.rotateKey();
    now = T0 + 2_000;
    const real = await deposit(ledger, 'real');
    const forgedHeader: BlockHeader = { ...real.header, dataHash: real.header.previousHash! };
    const oldKeyId = ledger.nodeKeys()[0]!.keyId;
    const forged: SignedBlockHeader = {
      header: forgedHeader,
      signature: {
        algorithm: 'ed25519',
        keyId: oldKeyId,
        value: sign(null, blockSigningBytes(forgedHeader), stolen).toString('base64'),
      },
    };
    expect(verifyBlockSignature(forged, ledger.trust())).toMatchObject({
      ok: false,
      problem: 'KEY_NOT_VALID_AT_TIME',
    });
    await ledger.close();
  });

  it('rotates twice, and a backup taken at the same time holds a matching key and store', async () => {
    const ledger = await open();
    await deposit(ledger, 'one');
    const backupDir = path.join(dir, '..', `${path.basename(dir)}-backup`);
    try {
      const [backup, first] = await Promise.all([
        ledger.backup(backupDir),
        ledger.rotateKey(),
        deposit(ledger, 'two'),
      ]);
      // The backup ran first (it was asked first), so it holds the chain before the rotation.
      expect(backup.verifiedBlocks).toBe(backup.height);
      expect(await keyIdOfFile(path.join(backupDir, 'node-key.pem'))).toBe(first.previousKeyId);
      const second = await ledger.rotateKey();
      expect(second.previousKeyId).toBe(first.keyId);
      expect(ledger.nodeKeys()).toHaveLength(3);
      expect(ledger.trust().chains[0]!.keys.map((k) => [k.notBefore, k.notAfter])).toEqual([
        [undefined, first.time],
        [first.time, second.time],
        [second.time, undefined],
      ]);
      const height = (await ledger.info()).height;
      expect(await ledger.verifyChain()).toBe(height);
      await ledger.close();
      const reopened = await open();
      expect(reopened.nodeKeys()).toEqual(ledger.nodeKeys());
      await reopened.close();
    } finally {
      await fs.rm(backupDir, { recursive: true, force: true });
    }
  });

  it('finishes a rotation the chain committed when the node died before renaming the key file', async () => {
    let ledger = await open();
    const oldPem = await fs.readFile(path.join(dir, 'node-key.pem'));
    const rotation = await ledger.rotateKey();
    await ledger.close();
    // As if the process died between the synced rotation block and the rename.
    await fs.rename(path.join(dir, 'node-key.pem'), path.join(dir, 'node-key.next.pem'));
    await fs.writeFile(path.join(dir, 'node-key.pem'), oldPem, { mode: 0o600 });

    ledger = await open();
    expect(await fs.readdir(dir)).toEqual(['ledger', 'node-key.pem']);
    expect(await keyIdOfFile(path.join(dir, 'node-key.pem'))).toBe(rotation.keyId);
    expect((await deposit(ledger, 'next')).signature.keyId).toBe(rotation.keyId);
    await ledger.close();
  });

  it('finishes a rename that failed after a rotation before the next rotation writes a key', async () => {
    let ledger = await open();
    const oldPem = await fs.readFile(path.join(dir, 'node-key.pem'));
    const first = await ledger.rotateKey();
    // As if renaming the new key into place had failed, with the node still running.
    await fs.rename(path.join(dir, 'node-key.pem'), path.join(dir, 'node-key.next.pem'));
    await fs.writeFile(path.join(dir, 'node-key.pem'), oldPem, { mode: 0o600 });
    // The next rotation fails to write its block: the key that signs must survive it.
    restore = failBatchWrites();
    await rejectionOf(ledger.rotateKey());
    restore();
    restore = undefined;
    await ledger.close();
    expect(await keyIdOfFile(path.join(dir, 'node-key.pem'))).toBe(first.keyId);
    ledger = await open();
    expect(await ledger.verifyChain()).toBe(2);
    expect((await deposit(ledger, 'signed by the first rotated key')).signature.keyId).toBe(
      first.keyId,
    );
    await ledger.close();
  });

  it('drops an incoming key the chain never adopted (the node died before the rotation block)', async () => {
    let ledger = await open();
    const keyId = ledger.nodeKeys()[0]!.keyId;
    await ledger.close();
    const other = await fs.mkdtemp(path.join(os.tmpdir(), 'ledger-keys-other-'));
    try {
      const stranger = await openEmbeddedLedger({ dataDir: other, org: 'NodeOrg' });
      await stranger.close();
      await fs.copyFile(path.join(other, 'node-key.pem'), path.join(dir, 'node-key.next.pem'));
    } finally {
      await fs.rm(other, { recursive: true, force: true });
    }
    ledger = await open();
    expect(await fs.readdir(dir)).toEqual(['ledger', 'node-key.pem']);
    expect((await deposit(ledger, 'next')).signature.keyId).toBe(keyId);
    await ledger.close();
  });

  it('drops an incoming key file a crash cut short while it was written', async () => {
    let ledger = await open();
    const keyId = ledger.nodeKeys()[0]!.keyId;
    await ledger.close();
    const pem = await fs.readFile(path.join(dir, 'node-key.pem'), 'utf8');
    await fs.writeFile(path.join(dir, 'node-key.next.pem'), pem.slice(0, 40), { mode: 0o600 });
    // And a whole key that never got linked into place.
    await fs.writeFile(path.join(dir, '.node-key.next.pem.4242.0a1b2c3d4e5f.tmp'), pem, {
      mode: 0o600,
    });
    ledger = await open();
    expect(await fs.readdir(dir)).toEqual(['ledger', 'node-key.pem']);
    expect((await deposit(ledger, 'next')).signature.keyId).toBe(keyId);
    await ledger.rotateKey();
    await ledger.close();
  });

  it("refuses to open when the key file is not the chain's current key, naming both", async () => {
    const ledger = await open();
    const oldPem = await fs.readFile(path.join(dir, 'node-key.pem'));
    const rotation = await ledger.rotateKey();
    await ledger.close();
    await fs.writeFile(path.join(dir, 'node-key.pem'), oldPem, { mode: 0o600 });
    const refused = (await rejectionOf(open())) as { code: string; message: string };
    expect(refused.code).toBe('LEDGER_CORRUPTED');
    expect(refused.message).toContain(rotation.previousKeyId);
    expect(refused.message).toContain(`current signing key (${rotation.keyId})`);
  });

  it('keeps the old key when the rotation block cannot be written, and rotates later', async () => {
    const ledger = await open();
    const keyId = ledger.nodeKeys()[0]!.keyId;
    const trust = ledger.trust();
    restore = failBatchWrites();
    const failed = (await rejectionOf(ledger.rotateKey())) as { code: string };
    expect(failed.code).toBe('STORAGE_FULL');
    restore();
    restore = undefined;

    expect(ledger.trust()).toEqual(trust);
    expect((await deposit(ledger, 'still old')).signature.keyId).toBe(keyId);
    const rotation = await ledger.rotateKey();
    expect(rotation.previousKeyId).toBe(keyId);
    expect((await deposit(ledger, 'new')).signature.keyId).toBe(rotation.keyId);
    expect(await ledger.verifyChain()).toBe((await ledger.info()).height);
    await ledger.close();
    expect(await fs.readdir(dir)).toEqual(['ledger', 'node-key.pem']);
  });

  it('adopts a rotation block that reached the disk although its write reported a failure', async () => {
    const ledger = await open();
    restore = failBatchWrites({ landed: true });
    await rejectionOf(ledger.rotateKey());
    restore();
    restore = undefined;

    // The next write finds the rotation block stored, adopts it, and abandons its own block.
    const abandoned = (await rejectionOf(
      ledger.submit('evidence', 'depositBatch', depositArgs('abandoned'), gateway),
    )) as { code: string };
    expect(abandoned.code).toBe('LEDGER_UNAVAILABLE');
    const keys = ledger.nodeKeys();
    expect(keys).toHaveLength(2);
    expect((await deposit(ledger, 'after')).signature.keyId).toBe(keys[1]!.keyId);
    expect(await ledger.verifyChain()).toBe((await ledger.info()).height);
    await ledger.close();
    expect(await keyIdOfFile(path.join(dir, 'node-key.pem'))).toBe(keys[1]!.keyId);
  });

  /** Rotates once, changes the closed store with `edit`, and returns why `verifyChain` refuses it. */
  async function tamperedAfterRotation(
    edit: (db: ClassicLevel<string, string>) => Promise<void>,
  ): Promise<{ code: string; message: string }> {
    const ledger = await open();
    await ledger.rotateKey();
    await ledger.close();
    const db = new ClassicLevel<string, string>(path.join(dir, 'ledger'), {
      valueEncoding: 'utf8',
    });
    await edit(db);
    await db.close();
    // Refused at start when the tip's own check finds it (the rotation is the tip), else by the
    // whole chain's check.
    let reopened: Awaited<ReturnType<typeof open>>;
    try {
      reopened = await open();
    } catch (error) {
      return error as { code: string; message: string };
    }
    try {
      return (await rejectionOf(reopened.verifyChain())) as { code: string; message: string };
    } finally {
      await reopened.close();
    }
  }

  it('finds a rotation whose statement was altered in the store', async () => {
    const refused = await tamperedAfterRotation(async (db) => {
      // Change the time the stored rotation statement gives.
      const blocks = db.sublevel<string, string>('blocks', { valueEncoding: 'utf8' });
      const key = (1).toString(16).padStart(12, '0');
      const block = JSON.parse((await blocks.get(key))!) as { txs: Array<{ args: string[] }> };
      const statement = JSON.parse(block.txs[0]!.args[0]!) as Record<string, string>;
      block.txs[0]!.args[0] = canonicalJson({ ...statement, time: '2030-01-01T00:00:00.000Z' });
      await blocks.put(key, JSON.stringify(block));
    });
    // The block's transaction header commits to its arguments: the change is found there first.
    expect(refused.code).toBe('LEDGER_CORRUPTED');
    expect(refused.message).toContain('transaction 0 of block 1: its arguments do not match');
  });

  it('finds a stored key list that is not the one the chain gives', async () => {
    const refused = await tamperedAfterRotation(async (db) => {
      const meta = db.sublevel<string, string>('meta', { valueEncoding: 'utf8' });
      const keys = JSON.parse((await meta.get('keys'))!) as Array<Record<string, unknown>>;
      keys[1] = { ...keys[1], notBefore: '2020-01-01T00:00:00.000Z' };
      await meta.put('keys', JSON.stringify(keys));
    });
    expect(refused.code).toBe('LEDGER_CORRUPTED');
    expect(refused.message).toContain('stored node keys');
  });
});
