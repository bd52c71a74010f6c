/**
 * A node that signs with SM2 from its first start (`EVIDENCE_NODE_KEY_ALGORITHM=sm2-sm3`), end to
 * end: the built node, the real CLI. Exhibits are deposited with `evidence deposit`; the judge's
 * `evidence verify` (offline, in a network namespace without interfaces) accepts them with the
 * trust file and refuses a receipt whose SM2 signature was changed; the key file is a standard
 * SM2 key OpenSSL reads, and OpenSSL accepts the block signature a receipt carries; a backup
 * checks out offline. A restart with the variable set otherwise keeps the SM2 key.
 */

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blockSigningBytes } from '../../core/block';
import type { Receipt } from '../../core/receipt';
import type { TrustFile } from '../../core/trust';
import { ensureBuilt } from '../support/build';
import { opensslVerifiesSm2 } from '../support/openssl-sm2';
import { cli } from '../support/cli-process';
import {
  adminKey,
  createKey,
  startNode,
  takeBackup,
  type NodeProcess,
} from '../support/node-process';

describe('a node signing with SM2 from its first start', () => {
  let dir: string;
  let node: NodeProcess | undefined;

  beforeAll(async () => {
    ensureBuilt();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sm2-node-e2e-'));
  });
  afterAll(async () => {
    await node?.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('deposits with the CLI; the judge verifies offline; OpenSSL agrees on the signature', async () => {
    const dataDir = path.join(dir, 'data');
    const backupDir = path.join(dir, 'backups');
    node = await startNode({
      dataDir,
      env: { EVIDENCE_NODE_KEY_ALGORITHM: 'sm2-sm3', EVIDENCE_BACKUP_DIR: backupDir },
    });
    const admin = await adminKey(dataDir);
    const key = await createKey(node.url, admin, {
      org: 'PlatformOrg',
      account: 'gm-lawyer',
      role: 'depositor',
    });

    const exhibits = path.join(dir, 'exhibits');
    await fs.mkdir(exhibits);
    for (const name of ['contract.pdf', 'chat.png', 'call.m4a'])
      await fs.writeFile(path.join(exhibits, name), randomBytes(3000));
    const deposited = await cli(['deposit', exhibits, '--gateway', node.url, '--key', key]);
    expect(deposited.code, deposited.stderr).toBe(0);
    const trustFile = path.join(dir, 'trust.json');
    const fetched = await cli(['trust', 'fetch', '--gateway', node.url, '--out', trustFile]);
    expect(fetched.code, fetched.stderr).toBe(0);
    const trust = JSON.parse(await fs.readFile(trustFile, 'utf8')) as TrustFile;
    expect(trust.chains[0]!.keys.map((k) => k.algorithm)).toEqual(['sm2-sm3']);
    const shown = await cli(['trust', 'show', trustFile]);
    expect(shown.stdout).toContain('sm2-sm3');

    // The judge, offline, one exhibit at a time and the whole folder.
    const contract = path.join(exhibits, 'contract.pdf');
    const verified = await cli(
      ['verify', contract, '--receipt', `${contract}.receipt.json`, '--trust', trustFile, '--json'],
      { offline: true },
    );
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
    expect(JSON.parse(verified.stdout)).toMatchObject({ verdict: 'VERIFIED' });
    const all = await cli(['verify-all', exhibits, '--trust', trustFile], { offline: true });
    expect(all.code, all.stdout + all.stderr).toBe(0);
    const inspected = await cli(['inspect', `${contract}.receipt.json`]);
    expect(inspected.stdout).toContain('sm2-sm3');

    // Its block signature, checked by OpenSSL with the pinned key (GM/T 0003, default signer ID).
    const receipt = JSON.parse(await fs.readFile(`${contract}.receipt.json`, 'utf8')) as Receipt;
    const block = receipt.proof.block;
    expect(block.signature.algorithm).toBe('sm2-sm3');
    const pinned = trust.chains[0]!.keys[0]!.publicKey;
    const signed = blockSigningBytes(block.header);
    expect(opensslVerifiesSm2(signed, block.signature.value, pinned)).toBe(true);
    const keyText = execFileSync(
      'openssl',
      ['pkey', '-in', path.join(dataDir, 'node-key.pem'), '-noout', '-text'],
      { encoding: 'utf8' },
    );
    expect(keyText).toMatch(/SM2/);

    // The same receipt with one byte of its SM2 signature changed: PROOF_INVALID, exit 1.
    const signature = Buffer.from(block.signature.value, 'base64');
    signature[12] = (signature[12] as number) ^ 0x01;
    const tampered = structuredClone(receipt);
    (tampered.proof.block.signature as { value: string }).value = signature.toString('base64');
    const tamperedFile = path.join(dir, 'tampered.receipt.json');
    await fs.writeFile(tamperedFile, JSON.stringify(tampered));
    const refused = await cli(
      ['verify', contract, '--receipt', tamperedFile, '--trust', trustFile, '--json'],
      { offline: true },
    );
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout)).toMatchObject({ verdict: 'PROOF_INVALID' });
    expect(refused.stdout).toContain('SIGNATURE_INVALID');

    // The compliance dossier says which signature algorithm the node uses.
    const dossier = (await (
      await fetch(`${node.url}/v1/admin/dossier`, {
        headers: { authorization: `Bearer ${admin}` },
      })
    ).json()) as { algorithms: Array<{ id: string; inUse: boolean }> };
    const inUse = (id: string) => dossier.algorithms.find((a) => a.id === id)?.inUse;
    expect([inUse('sm2'), inUse('sm3'), inUse('ed25519')]).toEqual([true, true, false]);
    const metrics = await (await fetch(`${node.url}/metrics`)).text();
    expect(metrics).toContain(
      `evidence_node_key_info{key_id="${trust.chains[0]!.keys[0]!.keyId}",algorithm="sm2-sm3"} 1`,
    );

    // A backup of the SM2 chain checks out offline.
    const { id, state } = await takeBackup(node.url, admin);
    expect(state).toBe('completed');
    const check = execFileSync(
      process.execPath,
      [path.resolve('bin/evidence-node.js'), 'check-backup', path.join(backupDir, id)],
      { encoding: 'utf8' },
    );
    expect(check).toContain('is intact');

    // Restarted with the variable set otherwise: the chain keeps its SM2 key.
    await node.stop();
    node = await startNode({ dataDir, env: { EVIDENCE_NODE_KEY_ALGORITHM: 'ed25519' } });
    const again = await fetch(`${node.url}/v1/trust`);
    expect(await again.json()).toEqual(trust);
  }, 120_000);
});
