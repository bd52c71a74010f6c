import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../core/canonical';
import { valueDigest, type TxHeader } from '../../core/block';
import {
  KEY_ROTATION_FN,
  SYSTEM_CONTRACT,
  keyRotationProblem,
  keyRotationSigningBytes,
  rotationTxProblem,
  type KeyRotation,
} from '../../core/key-rotation';
import { keyIdOf } from '../../core/signature';
import { newSm2Key } from '../support/sm2';

function newKey(type: 'ed25519' | 'ec' = 'ed25519') {
  const { privateKey, publicKey } =
    type === 'ed25519'
      ? generateKeyPairSync('ed25519')
      : generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  return { privateKey, keyId: keyIdOf(spki), publicKey: spki.toString('base64') };
}

const outgoing = newKey();
const incoming = newKey();
const expected = {
  chainId: 'nodeorg-0123456789ab',
  previousKeyId: outgoing.keyId,
  time: '2026-05-01T00:00:00.000Z',
};
const statement: KeyRotation = {
  type: 'key-rotation',
  chainId: expected.chainId,
  previousKeyId: outgoing.keyId,
  keyId: incoming.keyId,
  algorithm: 'ed25519',
  publicKey: incoming.publicKey,
  time: expected.time,
};
const proofBy = (key: KeyObject, rotation: KeyRotation) =>
  sign(null, keyRotationSigningBytes(rotation), key).toString('base64');
const sm2Incoming = newSm2Key();
const sm2Statement: KeyRotation = {
  ...statement,
  keyId: sm2Incoming.keyId,
  algorithm: 'sm2-sm3',
  publicKey: sm2Incoming.publicKey,
};

describe('key rotation statements', () => {
  it('accepts a statement proven by the incoming key', () => {
    const args = [canonicalJson(statement), proofBy(incoming.privateKey, statement)];
    expect(keyRotationProblem(args, expected)).toBeUndefined();
  });

  it.each([
    ['another chain', { chainId: 'other-0123456789ab' }, 'names chain'],
    ['another outgoing key', { previousKeyId: incoming.keyId }, 'not from the signing key'],
    ['another time', { time: '2027-01-01T00:00:00.000Z' }, 'rotation time'],
    ['a malformed key id', { keyId: 'sha256:zz' }, 'key id is malformed'],
    ['the outgoing key again', { keyId: outgoing.keyId }, 'the incoming key is the outgoing key'],
    ['a key id of another key', { keyId: newKey().keyId }, 'not the digest of its public key'],
    ['a public key that is not one', { publicKey: 'AAAA' }, 'not a key for ed25519'],
    ['an ECDSA key', { publicKey: newKey('ec').publicKey }, 'not a key for ed25519'],
    [
      'an SM2 key said to be Ed25519',
      { publicKey: sm2Incoming.publicKey },
      'not a key for ed25519',
    ],
    ['an Ed25519 key said to be SM2', { algorithm: 'sm2-sm3' }, 'not a key for sm2-sm3'],
    [
      'an algorithm nodes do not sign with',
      { algorithm: 'ecdsa-p256-sha256' },
      'names the algorithm',
    ],
    ['another type', { type: 'key-revocation' }, 'not a key rotation'],
  ])('refuses %s', (_name, change, problem) => {
    const changed = { ...statement, ...change } as KeyRotation;
    const args = [canonicalJson(changed), proofBy(incoming.privateKey, changed)];
    expect(keyRotationProblem(args, expected)).toContain(problem);
  });

  it('accepts a rotation to an SM2 key proven by it, with the default signer ID only', () => {
    const bytes = keyRotationSigningBytes(sm2Statement);
    const args = [canonicalJson(sm2Statement), sm2Incoming.sign(bytes)];
    expect(keyRotationProblem(args, expected)).toBeUndefined();
    const otherId = [canonicalJson(sm2Statement), sm2Incoming.sign(bytes, 'another-signer')];
    expect(keyRotationProblem(otherId, expected)).toContain('did not sign');
    const byEd25519 = [canonicalJson(sm2Statement), proofBy(incoming.privateKey, sm2Statement)];
    expect(keyRotationProblem(byEd25519, expected)).toContain('did not sign');
  });

  it('refuses a proof by any key but the incoming one, and a proof of another statement', () => {
    const byOutgoing = [canonicalJson(statement), proofBy(outgoing.privateKey, statement)];
    expect(keyRotationProblem(byOutgoing, expected)).toContain('did not sign');
    const other = { ...statement, time: '2026-05-01T00:00:00.001Z' };
    const ofOther = [canonicalJson(statement), proofBy(incoming.privateKey, other)];
    expect(keyRotationProblem(ofOther, expected)).toContain('did not sign');
  });

  it('refuses malformed arguments without throwing', () => {
    for (const args of [
      [],
      ['{}'],
      [1, 'x'],
      ['not json', 'x'],
      ['null', 'x'],
      [canonicalJson({ ...statement, extra: 1 }), 'x'],
    ]) {
      expect(keyRotationProblem(args, expected)).toEqual(expect.any(String));
    }
  });

  it('checks a stored rotation transaction: what it is, its argument digest, then its statement', () => {
    const args = [canonicalJson(statement), proofBy(incoming.privateKey, statement)];
    const header: TxHeader = {
      type: 'tx',
      txId: '0'.repeat(64),
      chainId: expected.chainId,
      time: expected.time,
      creator: { mspId: 'NodeOrg', id: 'node', role: 'admin' },
      contract: SYSTEM_CONTRACT,
      fn: KEY_ROTATION_FN,
      argsDigest: valueDigest(args),
      resultDigest: valueDigest(null),
      writesDigest: valueDigest([]),
      eventsDigest: valueDigest(null),
    };
    const { chainId, previousKeyId } = expected;
    expect(rotationTxProblem(header, args, { chainId, previousKeyId })).toBeUndefined();
    expect(
      rotationTxProblem({ ...header, fn: 'genesis' }, args, { chainId, previousKeyId }),
    ).toContain('not a key rotation');
    expect(
      rotationTxProblem(header, [args[0]!, proofBy(outgoing.privateKey, statement)], {
        chainId,
        previousKeyId,
      }),
    ).toContain('not the one its transaction names');
    expect(
      rotationTxProblem({ ...header, time: '2026-05-02T00:00:00.000Z' }, args, {
        chainId,
        previousKeyId,
      }),
    ).toContain('rotation time');
  });
});
