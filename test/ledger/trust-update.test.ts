/**
 * Following a chain's key rotations from a trust file pinned earlier (core/trust-update.ts), over
 * the rotations a real embedded ledger serves (`keyRotations`): the honest path from any earlier
 * file, and every way to slip in a key the chain did not hand over to.
 */

import { generateKeyPairSync, sign } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blockSigningBytes, valueDigest, type BlockHeader } from '../../core/block';
import { canonicalJson } from '../../core/canonical';
import { keyRotationSigningBytes, type KeyRotation } from '../../core/key-rotation';
import { keyIdOf } from '../../core/signature';
import type { TrustFile } from '../../core/trust';
import {
  followKeyRotations,
  parseKeyRotationProofs,
  type KeyRotationProof,
  type KeyRotationProofs,
} from '../../core/trust-update';
import { depositArgs, GATEWAY_IDENTITY } from '../support/deposit-args';
import { openEmbeddedLedger } from '../../gateway/ledger/embedded-ledger';

const gateway = GATEWAY_IDENTITY;

function attackerKey() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  return { privateKey, keyId: keyIdOf(spki), publicKey: spki.toString('base64') };
}

describe('following key rotations', () => {
  let dir: string;
  let first: TrustFile;
  let middle: TrustFile;
  let now: TrustFile;
  let proofs: KeyRotationProofs;

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'trust-update-'));
    const ledger = await openEmbeddedLedger({ dataDir: dir, org: 'NodeOrg' });
    await ledger.submit('evidence', 'depositBatch', depositArgs('a'), gateway);
    first = ledger.trust();
    await ledger.rotateKey();
    middle = ledger.trust();
    await ledger.submit('evidence', 'depositBatch', depositArgs('b'), gateway);
    await ledger.rotateKey();
    now = ledger.trust();
    // What a node serves, through its schema.
    proofs = parseKeyRotationProofs(JSON.parse(JSON.stringify(await ledger.keyRotations())));
    await ledger.close();
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('leads from the first file and from a later one to the file served now', () => {
    expect(proofs.rotations).toHaveLength(2);
    const fromFirst = followKeyRotations(first, now, proofs);
    expect(fromFirst).toMatchObject({ ok: true, trust: now });
    expect(fromFirst.ok && fromFirst.added.map((r) => r.keyId)).toEqual(
      now.chains[0]!.keys.slice(1).map((k) => k.keyId),
    );
    const fromMiddle = followKeyRotations(middle, now, proofs);
    expect(fromMiddle).toMatchObject({ ok: true, trust: now });
    expect(fromMiddle.ok && fromMiddle.added).toHaveLength(1);
    expect(followKeyRotations(now, now, proofs)).toMatchObject({ ok: true, trust: now, added: [] });
  });

  const markFirstKey = (trust: TrustFile, since: string): TrustFile => ({
    ...trust,
    chains: trust.chains.map((chain) => ({
      ...chain,
      keys: chain.keys.map((key, i) => (i === 0 ? { ...key, compromisedSince: since } : key)),
    })),
  });

  it('follows no rotation signed by a key the pinned file marks compromised', () => {
    const outcome = followKeyRotations(markFirstKey(first, '2020-01-01T00:00:00Z'), now, proofs);
    expect(outcome).toMatchObject({ ok: false });
    expect(!outcome.ok && outcome.detail).toContain('marks compromised since 2020-01-01');
  });

  it("keeps the pinned file's compromise marks, and takes none from the node", () => {
    // The middle file's first key signed no rotation after middle, so its mark stops nothing.
    const pinned = markFirstKey(middle, '2020-01-01T00:00:00Z');
    const outcome = followKeyRotations(pinned, markFirstKey(now, '2000-01-01T00:00:00Z'), proofs);
    expect(outcome.ok).toBe(true);
    const keys = outcome.ok ? outcome.trust.chains[0]!.keys : [];
    expect(keys.map((k) => k.compromisedSince)).toEqual([
      '2020-01-01T00:00:00Z',
      undefined,
      undefined,
    ]);
    expect(keys.map((k) => k.keyId)).toEqual(now.chains[0]!.keys.map((k) => k.keyId));
  });

  it('keeps the other chains of the pinned file and the operator it pinned', () => {
    const court: TrustFile['chains'][number] = { ...first.chains[0]!, chainId: 'court-chain' };
    const pinned: TrustFile = {
      ...first,
      chains: [{ ...first.chains[0]!, operator: 'Pinned name' }, court],
    };
    const outcome = followKeyRotations(pinned, now, proofs);
    expect(outcome.ok && outcome.trust.chains).toEqual([
      { ...now.chains[0], operator: 'Pinned name' },
      court,
    ]);
  });

  it('refuses a served file with a key no rotation handed over to', () => {
    const extra = attackerKey();
    const offered: TrustFile = {
      ...now,
      chains: [
        {
          ...now.chains[0]!,
          keys: [
            ...now.chains[0]!.keys,
            { keyId: extra.keyId, algorithm: 'ed25519', publicKey: extra.publicKey },
          ],
        },
      ],
    };
    const outcome = followKeyRotations(first, offered, proofs);
    expect(outcome).toMatchObject({ ok: false });
    expect(!outcome.ok && outcome.detail).toContain('not the ones the rotations lead to');
  });

  it('refuses a skipped rotation: the next one is signed by a key not pinned yet', () => {
    const skipped = { ...proofs, rotations: proofs.rotations.slice(1) };
    const outcome = followKeyRotations(first, now, skipped);
    expect(!outcome.ok && outcome.detail).toContain('KEY_NOT_TRUSTED');
  });

  it('refuses a rotation to another key, whether the statement or also its digest was changed', () => {
    const evil = attackerKey();
    const real = proofs.rotations[0]!;
    const statement = JSON.parse(real.args[0]) as KeyRotation;
    const forged: KeyRotation = { ...statement, keyId: evil.keyId, publicKey: evil.publicKey };
    const args: [string, string] = [
      canonicalJson(forged),
      sign(null, keyRotationSigningBytes(forged), evil.privateKey).toString('base64'),
    ];
    const swap = (proof: KeyRotationProof): KeyRotationProofs => ({
      ...proofs,
      rotations: [proof, ...proofs.rotations.slice(1)],
    });
    const argsOnly = followKeyRotations(first, now, swap({ ...real, args }));
    expect(!argsOnly.ok && argsOnly.detail).toContain('not the one its transaction names');
    const withDigest = followKeyRotations(
      first,
      now,
      swap({ ...real, args, tx: { ...real.tx, argsDigest: valueDigest(args) } }),
    );
    expect(!withDigest.ok && withDigest.detail).toContain("not under the block's data hash");
  });

  it('refuses a rotation signed by a key nobody pinned', () => {
    const evil = attackerKey();
    const real = proofs.rotations[0]!;
    const header: BlockHeader = real.block.header;
    const outcome = followKeyRotations(first, now, {
      ...proofs,
      rotations: [
        {
          ...real,
          block: {
            header,
            signature: {
              algorithm: 'ed25519',
              keyId: evil.keyId,
              value: sign(null, blockSigningBytes(header), evil.privateKey).toString('base64'),
            },
          },
        },
      ],
    });
    expect(!outcome.ok && outcome.detail).toContain('KEY_NOT_TRUSTED');
  });

  it('refuses rotations out of order, and a chain the pinned file does not name', () => {
    const reversed = { ...proofs, rotations: [...proofs.rotations].reverse() };
    expect(followKeyRotations(first, now, reversed)).toMatchObject({ ok: false });
    const other = { ...proofs, chainId: 'other-chain' };
    const outcome = followKeyRotations(first, now, other);
    expect(!outcome.ok && outcome.detail).toContain('does not name chain other-chain');
  });

  it('refuses a malformed rotations document, naming the fields', () => {
    let fields: Array<{ path: string }> = [];
    try {
      parseKeyRotationProofs({ chainId: 'x', rotations: [{ args: [1] }] });
    } catch (error) {
      expect((error as { code: string }).code).toBe('TRUST_MALFORMED');
      fields = (error as { fields: Array<{ path: string }> }).fields;
    }
    expect(fields.map((f) => f.path)).toEqual(
      expect.arrayContaining(['/rotations/0/args/0', '/rotations/0/tx', '/rotations/0/block']),
    );
  });
});
