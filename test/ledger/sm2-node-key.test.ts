/**
 * SM2 node keys on a real embedded ledger: a chain signed with SM2 from its first block, and a
 * chain that moves from Ed25519 to SM2 and back by rotations, each block checked by core, by the
 * chain check and, for SM2, by OpenSSL; a court's trust file follows the rotations across the
 * algorithms.
 */

import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { blockSigningBytes, type NodeKeyAlgorithm, type SignedBlockHeader } from '../../core/block';
import { verifyBlockSignature, type TrustFile } from '../../core/trust';
import { followKeyRotations, parseKeyRotationProofs } from '../../core/trust-update';
import { keyIdOf } from '../../core/signature';
import { openEmbeddedLedger } from '../../gateway/ledger/embedded-ledger';
import { loadNodeKey } from '../../gateway/ledger/embedded/node-key';
import { opensslVerifiesSm2 } from '../support/openssl-sm2';
import { rejectionOf } from '../support/rejection';
import { depositArgs, GATEWAY_IDENTITY } from '../support/deposit-args';

const T0 = Date.parse('2026-06-01T08:00:00.000Z');

describe('SM2 node keys', () => {
  let dir: string;
  let now: number;
  const clock = () => now;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ledger-sm2-'));
    now = T0;
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  const open = (nodeKeyAlgorithm?: NodeKeyAlgorithm) =>
    openEmbeddedLedger({
      dataDir: dir,
      org: 'NodeOrg',
      clock,
      ...(nodeKeyAlgorithm ? { nodeKeyAlgorithm } : {}),
    });
  type Opened = Awaited<ReturnType<typeof open>>;

  async function deposit(ledger: Opened, content: string): Promise<SignedBlockHeader> {
    now += 1_000;
    const committed = await ledger.submit(
      'evidence',
      'depositBatch',
      depositArgs(content),
      GATEWAY_IDENTITY,
    );
    return (await ledger.blockHeader(committed.blockNumber))!;
  }

  /** OpenSSL's verdict on a block's SM2 signature, by the key the trust file pins for it. */
  function opensslVerifies(block: SignedBlockHeader, trust: TrustFile): boolean {
    const key = trust.chains[0]!.keys.find((k) => k.keyId === block.signature.keyId)!;
    const { header, signature } = block;
    return opensslVerifiesSm2(blockSigningBytes(header), signature.value, key.publicKey);
  }

  it('signs a chain with SM2 from its first block: core, the chain check and OpenSSL agree', async () => {
    let ledger = await open('sm2-sm3');
    const trust = ledger.trust();
    expect(trust.chains[0]!.keys).toEqual([
      expect.objectContaining({ algorithm: 'sm2-sm3', keyId: ledger.nodeKeys()[0]!.keyId }),
    ]);
    const genesis = (await ledger.blockHeader(0))!;
    const blocks = [genesis, await deposit(ledger, 'a'), await deposit(ledger, 'b')];
    for (const block of blocks) {
      expect(block.signature.algorithm).toBe('sm2-sm3');
      expect(verifyBlockSignature(block, trust)).toMatchObject({ ok: true });
      expect(opensslVerifies(block, trust)).toBe(true);
    }
    // A header changed after signing: neither core nor OpenSSL accepts the signature.
    const altered = { ...blocks[1]!, header: { ...blocks[1]!.header, txCount: 2 } };
    expect(verifyBlockSignature(altered, trust)).toMatchObject({ problem: 'SIGNATURE_INVALID' });
    expect(opensslVerifies(altered, trust)).toBe(false);
    expect(await ledger.verifyChain()).toBe(3);
    await ledger.close();

    // The key file is a standard PKCS#8 SM2 key (0600) that OpenSSL reads, and the node reopens
    // with it whatever the configuration says: a chain changes algorithm only by a rotation.
    const file = path.join(dir, 'node-key.pem');
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
    const text = execFileSync('openssl', ['pkey', '-in', file, '-noout', '-text'], {
      encoding: 'utf8',
    });
    expect(text).toMatch(/SM2/);
    ledger = await open();
    expect(ledger.trust()).toEqual(trust);
    const later = await deposit(ledger, 'c');
    expect(later.signature.algorithm).toBe('sm2-sm3');
    expect(verifyBlockSignature(later, trust)).toMatchObject({ ok: true });
    await ledger.close();
  });

  it('moves an Ed25519 chain to SM2 and back by rotations; a pinned file follows', async () => {
    let ledger = await open();
    const first = ledger.trust();
    const blocks = [await deposit(ledger, 'ed25519 era')];

    now += 1_000;
    const toSm2 = await ledger.rotateKey('sm2-sm3');
    expect(toSm2.algorithm).toBe('sm2-sm3');
    blocks.push(await deposit(ledger, 'sm2 era'));
    // No algorithm named and none configured: the current key's.
    now += 1_000;
    const again = await ledger.rotateKey();
    expect(again.algorithm).toBe('sm2-sm3');
    blocks.push(await deposit(ledger, 'second sm2 key'));
    now += 1_000;
    const back = await ledger.rotateKey('ed25519');
    expect(back.algorithm).toBe('ed25519');
    blocks.push(await deposit(ledger, 'ed25519 again'));

    const trust = ledger.trust();
    expect(trust.chains[0]!.keys.map((k) => k.algorithm)).toEqual([
      'ed25519',
      'sm2-sm3',
      'sm2-sm3',
      'ed25519',
    ]);
    expect(blocks.map((b) => b.signature.algorithm)).toEqual([
      'ed25519',
      'sm2-sm3',
      'sm2-sm3',
      'ed25519',
    ]);
    for (const block of blocks)
      expect(verifyBlockSignature(block, trust)).toMatchObject({ ok: true });
    // The rotation blocks are signed by the outgoing key, of whatever algorithm.
    const toSm2Block = (await ledger.blockHeader(toSm2.blockNumber))!;
    expect(toSm2Block.signature.algorithm).toBe('ed25519');
    const backBlock = (await ledger.blockHeader(back.blockNumber))!;
    expect(backBlock.signature.algorithm).toBe('sm2-sm3');
    expect(opensslVerifies(backBlock, trust)).toBe(true);

    const height = (await ledger.info()).height;
    expect(await ledger.verifyChain()).toBe(height);
    // A court that pinned the first file follows all three hand-overs, across algorithms.
    const proofs = parseKeyRotationProofs(JSON.parse(JSON.stringify(await ledger.keyRotations())));
    expect(followKeyRotations(first, trust, proofs)).toMatchObject({ ok: true, trust });
    await ledger.close();

    ledger = await open();
    expect(ledger.nodeKeys()).toHaveLength(4);
    expect(ledger.trust()).toEqual(trust);
    expect(await ledger.verifyChain()).toBe(height);
    await ledger.close();
  });

  it('gives the configured algorithm to a rotation that names none, never to the existing key', async () => {
    let ledger = await open();
    await deposit(ledger, 'a');
    await ledger.close();
    ledger = await open('sm2-sm3');
    expect(ledger.nodeKeys().map((k) => k.algorithm)).toEqual(['ed25519']);
    expect((await deposit(ledger, 'b')).signature.algorithm).toBe('ed25519');
    const rotation = await ledger.rotateKey();
    expect(rotation.algorithm).toBe('sm2-sm3');
    expect((await deposit(ledger, 'c')).signature.algorithm).toBe('sm2-sm3');
    await ledger.close();
  });

  it('reads an SM2 key file OpenSSL made, and signs what OpenSSL accepts', async () => {
    const file = path.join(dir, 'node-key.pem');
    execFileSync('openssl', ['genpkey', '-algorithm', 'SM2', '-out', file]);
    const spki = execFileSync('openssl', ['pkey', '-in', file, '-pubout', '-outform', 'DER']);
    const key = (await loadNodeKey(file))!;
    expect(key.algorithm).toBe('sm2-sm3');
    expect(key.keyId).toBe(keyIdOf(spki));
    const ledger = await open();
    const trust = ledger.trust();
    expect(trust.chains[0]!.keys[0]!.keyId).toBe(key.keyId);
    const block = await deposit(ledger, 'operator key');
    expect(opensslVerifies(block, trust)).toBe(true);
    await ledger.close();
  });

  it('reads the smallest PKCS#8 form too (the cases below differ from it in one thing)', async () => {
    const file = path.join(dir, 'node-key.pem');
    await fs.writeFile(file, pemOf(withScalar(Buffer.alloc(32, 7))));
    expect(await loadNodeKey(file)).toMatchObject({ algorithm: 'sm2-sm3' });
  });

  it.each([
    ['a P-256 key', () => pkcs8(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey)],
    ['an RSA key', () => pkcs8(generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey)],
    ['a PEM cut short', () => sm2Pem().slice(0, 120)],
    ['base64 that is not DER', () => pemOf(Buffer.from('not a key at all'))],
    ['an SM2 key whose scalar is zero', () => pemOf(withScalar(Buffer.alloc(32)))],
    ['an SM2 key whose scalar is the group order', () => pemOf(withScalar(SM2_ORDER))],
    ['an SM2 key whose scalar is 31 bytes', () => pemOf(withScalar(Buffer.alloc(31, 1)))],
    ['a public key', () => sm2PublicPem()],
  ])('refuses %s as the node key without stopping the process', async (_what, make) => {
    const file = path.join(dir, 'node-key.pem');
    await fs.writeFile(file, make());
    const error = await rejectionOf(loadNodeKey(file));
    expect(error).toMatchObject({ code: 'LEDGER_CORRUPTED' });
    expect(String((error as Error).message)).toContain('unreadable');
  });
});

const SM2_ORDER = Buffer.from(
  'fffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123',
  'hex',
);

function pemOf(der: Buffer): string {
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64')}\n-----END PRIVATE KEY-----\n`;
}

function pkcs8(key: import('node:crypto').KeyObject): string {
  return key.export({ format: 'pem', type: 'pkcs8' }).toString();
}

function sm2Pem(): string {
  return pkcs8(generateKeyPairSync('ec', { namedCurve: 'SM2' }).privateKey);
}

function sm2PublicPem(): string {
  return generateKeyPairSync('ec', { namedCurve: 'SM2' })
    .publicKey.export({ format: 'pem', type: 'spki' })
    .toString();
}

/** A PKCS#8 SM2 key (without the optional public key) holding `scalar` as its private key. */
function withScalar(scalar: Buffer): Buffer {
  const tlv = (tag: number, contents: Buffer) =>
    Buffer.concat([Buffer.of(tag, contents.length), contents]);
  const ecPrivateKey = tlv(0x30, Buffer.concat([tlv(0x02, Buffer.of(1)), tlv(0x04, scalar)]));
  const algorithm = tlv(
    0x30,
    Buffer.concat([
      tlv(0x06, Buffer.from('2a8648ce3d0201', 'hex')),
      tlv(0x06, Buffer.from('2a811ccf5501822d', 'hex')),
    ]),
  );
  return tlv(0x30, Buffer.concat([tlv(0x02, Buffer.of(0)), algorithm, tlv(0x04, ecPrivateKey)]));
}
