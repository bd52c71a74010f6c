/**
 * The node key routes (routes/admin-node-keys.ts) over the app and a real embedded ledger: a
 * rotation through HTTP, receipts from both sides of it against the old and the new trust file,
 * the audit entry and the metrics; the refusals.
 */

import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { digestBytes } from '../../core/digest';
import type { Receipt } from '../../core/receipt';
import { trustFingerprint, type TrustFile } from '../../core/trust';
import { verifyReceipt } from '../../core/verify';
import { buildApp } from '../../gateway/app';
import { openAuditLog, type AuditLog } from '../../gateway/audit/audit-log';
import { openEmbeddedLedger } from '../../gateway/ledger/embedded-ledger';
import type { Ledger } from '../../gateway/ledger/ledger';
import { bearer, getWith, itemFor, makeTestApp, postJson, tempDir, testNodeBase } from './helpers';

interface RotationBody {
  previousKeyId: string;
  keyId: string;
  blockNumber: number;
  time: string;
  keys: Array<{ keyId: string; current: boolean; firstBlock: number; lastBlock?: number }>;
  trust: TrustFile;
  trustFingerprint: string;
}

describe('node key routes', () => {
  let dir: string;
  let ledger: Ledger;
  let audit: AuditLog;
  let app: Awaited<ReturnType<typeof buildApp>>;
  let admin: string;
  let platform: string;

  beforeEach(async () => {
    dir = await tempDir('node-keys-');
    const base = await testNodeBase(dir);
    ledger = await openEmbeddedLedger({ dataDir: dir, org: base.config.org });
    audit = await openAuditLog({ dataDir: dir, retentionDays: base.config.auditRetentionDays });
    app = buildApp(base.config, { ledger, keys: base.keys, audit });
    await app.ready();
    admin = base.adminKey;
    platform = await base.keyFor('platform', 'ShopOrg', 'shop-1');
  });
  afterEach(async () => {
    await app.close();
    await audit.close();
    await ledger.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  async function deposit(): Promise<{ file: Buffer; receipt: Receipt }> {
    const file = randomBytes(200);
    const response = await postJson(app, '/v1/evidence', platform, itemFor(file));
    expect(response.statusCode).toBe(201);
    return { file, receipt: (response.json() as { receipt: Receipt }).receipt };
  }

  const verdictOf = (deposited: { file: Buffer; receipt: Receipt }, trust: TrustFile) =>
    verifyReceipt(deposited.receipt, trust, { fileDigests: digestBytes(deposited.file) });

  it('lists the one key of a new chain, current, with the fingerprint of the trust file served', async () => {
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(
      /^evidence_node_key_info\{key_id="sha256:[0-9a-f]{64}",algorithm="ed25519"\} 1$/m,
    );
    const response = await getWith(app, '/v1/admin/node-keys', admin);
    expect(response.statusCode).toBe(200);
    const trust = (await getWith(app, '/v1/trust', admin)).json() as TrustFile;
    expect(response.json()).toEqual({
      chainId: ledger.chainId,
      keys: [
        {
          keyId: trust.chains[0]!.keys[0]!.keyId,
          algorithm: 'ed25519',
          publicKey: trust.chains[0]!.keys[0]!.publicKey,
          firstBlock: 0,
          current: true,
        },
      ],
      trustFingerprint: trustFingerprint(trust),
    });
  });

  it('rotates: 201 with the new trust file; receipts from before and after verify against it', async () => {
    const before = await deposit();
    const oldTrust = (await getWith(app, '/v1/trust', admin)).json() as TrustFile;

    const response = await app.inject({
      method: 'POST',
      url: '/v1/admin/node-keys',
      headers: bearer(admin),
    });
    expect(response.statusCode, response.body).toBe(201);
    const rotation = response.json() as RotationBody;
    expect(rotation.previousKeyId).toBe(oldTrust.chains[0]!.keys[0]!.keyId);
    expect(rotation.keys.map((k) => [k.keyId, k.current])).toEqual([
      [rotation.previousKeyId, false],
      [rotation.keyId, true],
    ]);
    const served = (await getWith(app, '/v1/trust', admin)).json() as TrustFile;
    expect(served).toEqual(rotation.trust);
    expect(rotation.trustFingerprint).toBe(trustFingerprint(served));
    expect(rotation.trustFingerprint).not.toBe(trustFingerprint(oldTrust));

    const after = await deposit();
    expect(after.receipt.proof.block.signature.keyId).toBe(rotation.keyId);
    expect(before.receipt.proof.block.signature.keyId).toBe(rotation.previousKeyId);
    for (const deposited of [before, after]) {
      const verdict = verdictOf(deposited, served);
      expect(verdict.verdict, JSON.stringify(verdict.checks)).toBe('VERIFIED');
    }
    // A court still holding the old file: the earlier receipt verifies, the later one names why not.
    expect(verdictOf(before, oldTrust).verdict).toBe('VERIFIED');
    const stale = verdictOf(after, oldTrust);
    expect(stale.verdict).not.toBe('VERIFIED');
    expect(JSON.stringify(stale)).toContain('KEY_NOT_TRUSTED');

    // The audit log names both keys and the rotation block.
    await audit.flush();
    const entries = await audit.read(0, 100);
    expect(entries.find((e) => e.type === 'node-key')).toMatchObject({
      params: {
        keyId: rotation.keyId,
        previousKeyId: rotation.previousKeyId,
        block: String(rotation.blockNumber),
      },
    });
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toContain('evidence_node_key_rotations_total 1');
    // One info series, for the key that signs now.
    expect(metrics.split('\n').filter((l) => l.startsWith('evidence_node_key_info{'))).toEqual([
      `evidence_node_key_info{key_id="${rotation.keyId}",algorithm="ed25519"} 1`,
    ]);
    expect(metrics).toContain(
      `evidence_node_key_since_timestamp_seconds ${Date.parse(rotation.time) / 1000}`,
    );
  });

  it('rotates to the algorithm the body names: an SM2 key whose receipts verify', async () => {
    const before = await deposit();
    const response = await postJson(app, '/v1/admin/node-keys', admin, { algorithm: 'sm2-sm3' });
    expect(response.statusCode, response.body).toBe(201);
    const rotation = response.json() as RotationBody & { algorithm: string };
    expect(rotation.algorithm).toBe('sm2-sm3');
    expect(rotation.trust.chains[0]!.keys.map((k) => k.algorithm)).toEqual(['ed25519', 'sm2-sm3']);
    const after = await deposit();
    expect(after.receipt.proof.block.signature).toMatchObject({
      algorithm: 'sm2-sm3',
      keyId: rotation.keyId,
    });
    for (const deposited of [before, after])
      expect(verdictOf(deposited, rotation.trust).verdict).toBe('VERIFIED');
    // Another byte in the SM2 signature of the receipt's block: refused.
    const signature = Buffer.from(after.receipt.proof.block.signature.value, 'base64');
    signature[signature.length - 1] = (signature[signature.length - 1] as number) ^ 0x01;
    const tampered = structuredClone(after.receipt) as Receipt & {
      proof: { block: { signature: { value: string } } };
    };
    tampered.proof.block.signature.value = signature.toString('base64');
    expect(verdictOf({ file: after.file, receipt: tampered }, rotation.trust).verdict).not.toBe(
      'VERIFIED',
    );
    await audit.flush();
    const entries = await audit.read(0, 100);
    expect(entries.find((e) => e.type === 'node-key')).toMatchObject({
      params: { keyId: rotation.keyId, algorithm: 'sm2-sm3' },
    });
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toContain(
      `evidence_node_key_info{key_id="${rotation.keyId}",algorithm="sm2-sm3"} 1`,
    );
  });

  it.each([
    [{ algorithm: 'rsa' }, '/algorithm'],
    [{ algorithm: 'ecdsa-p256-sha256' }, '/algorithm'],
    [{ algorithm: 25519 }, '/algorithm'],
    [{ keyType: 'sm2' }, '/keyType'],
    [null, ''],
    [['sm2-sm3'], ''],
  ])('refuses the body %j with 400 naming %s, nothing rotated', async (body, path) => {
    const response = await postJson(app, '/v1/admin/node-keys', admin, body);
    expect(response.statusCode).toBe(400);
    const error = response.json() as { code: string; fields: Array<{ path: string }> };
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.fields.length).toBeGreaterThan(0);
    expect(error.fields.map((f) => f.path)).toEqual(error.fields.map(() => path));
    expect(ledger.nodeKeys!()).toHaveLength(1);
  });

  it('refuses while a backup is being taken: 409 BACKUP_RUNNING, nothing rotated', async () => {
    const backups = app.backups as { running: () => unknown };
    backups.running = () => ({ id: '20261128T080000000Z' });
    const response = await app.inject({
      method: 'POST',
      url: '/v1/admin/node-keys',
      headers: bearer(admin),
    });
    expect(response.statusCode).toBe(409);
    expect(response.json()).toMatchObject({ code: 'BACKUP_RUNNING' });
    expect(ledger.nodeKeys!()).toHaveLength(1);
  });

  it('is for admins only: 401 without a key, 403 for other roles', async () => {
    const anonymous = await app.inject({ method: 'POST', url: '/v1/admin/node-keys' });
    expect(anonymous.statusCode).toBe(401);
    const refused = await app.inject({
      method: 'POST',
      url: '/v1/admin/node-keys',
      headers: bearer(platform),
    });
    expect(refused.statusCode).toBe(403);
    expect((await getWith(app, '/v1/admin/node-keys', platform)).statusCode).toBe(403);
    expect(ledger.nodeKeys!()).toHaveLength(1);
  });
});

describe('node key routes on a ledger without a node key', () => {
  it('answer 404 NOT_FOUND', async () => {
    const t = await makeTestApp();
    try {
      const list = await getWith(t.app, '/v1/admin/node-keys', t.adminKey);
      expect(list.statusCode).toBe(404);
      expect(list.json()).toMatchObject({ code: 'NOT_FOUND' });
      const rotate = await t.app.inject({
        method: 'POST',
        url: '/v1/admin/node-keys',
        headers: bearer(t.adminKey),
      });
      expect(rotate.statusCode).toBe(404);
    } finally {
      await t.close();
    }
  });
});
