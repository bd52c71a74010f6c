/**
 * Rotating the embedded ledger's node key, as the chain itself records it.
 *
 * A rotation is a system transaction in a block signed by the outgoing key: its statement names
 * the chain, the outgoing key and the incoming one, and carries the incoming key's signature over
 * the statement (proof that the node holds it). Every later block is signed by the incoming key.
 * The chain therefore says, from block 0, which key signed each block; a trust file gives each
 * key the window of chain time it signed in (the outgoing key's ends, and the incoming key's
 * starts, at the rotation block's time), so a receipt from any year checks against one file.
 */

import { NODE_KEY_ALGORITHMS, valueDigest, type NodeKeyAlgorithm, type TxHeader } from './block';
import { canonicalBytes } from './canonical';
import type { Digest } from './digest';
import { keyIdOf, nodeKeyAlgorithmOf, publicKeyFromSpki, verifySignature } from './signature';

/** The ledger's own transactions (its genesis, key rotations), never a chaincode's. */
export const SYSTEM_CONTRACT = '_system';
/** The function of a rotation transaction, in {@link SYSTEM_CONTRACT}. */
export const KEY_ROTATION_FN = 'rotateKey';

/** Whether a transaction is a key rotation. */
export function isKeyRotation(tx: Pick<TxHeader, 'contract' | 'fn'>): boolean {
  return tx.contract === SYSTEM_CONTRACT && tx.fn === KEY_ROTATION_FN;
}

export interface KeyRotation {
  readonly type: 'key-rotation';
  readonly chainId: string;
  /** The key that signs the rotation block, and signs no block after it. */
  readonly previousKeyId: Digest;
  /** The key that signs every block after the rotation block. */
  readonly keyId: Digest;
  /** What the incoming key signs with (a rotation may change it: Ed25519 to SM2, or back). */
  readonly algorithm: NodeKeyAlgorithm;
  /** Base64 SubjectPublicKeyInfo DER of the incoming key. */
  readonly publicKey: string;
  /** Chain time of the rotation: its transaction's (and block's) time. */
  readonly time: string;
}

/** The exact bytes the incoming key signs (domain separated from block headers). */
export function keyRotationSigningBytes(rotation: KeyRotation): Uint8Array {
  return canonicalBytes({ rotation, purpose: 'judicial-evidence/key-rotation/v1' });
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;

/**
 * Why the transaction `header` with `args`, signed (as its block) by `previousKeyId`, is NOT a
 * valid key rotation on `chainId`: not a rotation at all, arguments other than the ones its
 * header names, or a statement {@link keyRotationProblem} refuses; `undefined` when it is one.
 * Never throws. The one check of a stored rotation, for the ledger's own chain check and for a
 * verifier following rotations (trust-update.ts).
 */
export function rotationTxProblem(
  header: TxHeader,
  args: readonly unknown[],
  expected: { readonly chainId: string; readonly previousKeyId: Digest },
): string | undefined {
  if (!isKeyRotation(header))
    return `it is a ${header.contract}.${header.fn} transaction, not a key rotation`;
  if (valueDigest([...args]) !== header.argsDigest)
    return 'its statement is not the one its transaction names';
  return keyRotationProblem(args, { ...expected, time: header.time });
}

/**
 * Why the rotation transaction's arguments (`[statement JSON, proof]`) are NOT a valid rotation
 * away from `expectedPrevious` on `chainId` at `time`; `undefined` when they are. Never throws:
 * the arguments come from a stored block.
 */
export function keyRotationProblem(
  args: readonly unknown[],
  expected: { readonly chainId: string; readonly previousKeyId: Digest; readonly time: string },
): string | undefined {
  if (args.length !== 2 || typeof args[0] !== 'string' || typeof args[1] !== 'string')
    return 'a rotation takes two text arguments: the statement and the proof';
  let rotation: KeyRotation;
  try {
    rotation = JSON.parse(args[0]) as KeyRotation;
  } catch {
    return 'the rotation statement is not JSON';
  }
  if (rotation === null || typeof rotation !== 'object')
    return 'the rotation statement is not an object';
  const fields = Object.keys(rotation).sort().join(',');
  if (fields !== 'algorithm,chainId,keyId,previousKeyId,publicKey,time,type')
    return `the rotation statement has the fields ${fields}`;
  if (rotation.type !== 'key-rotation') return 'the statement is not a key rotation';
  if (!(NODE_KEY_ALGORITHMS as readonly unknown[]).includes(rotation.algorithm))
    return `the rotation names the algorithm ${String(rotation.algorithm)}, not one of ${NODE_KEY_ALGORITHMS.join(', ')}`;
  if (rotation.chainId !== expected.chainId)
    return `the rotation names chain ${String(rotation.chainId)}`;
  if (rotation.previousKeyId !== expected.previousKeyId)
    return `the rotation is away from ${String(rotation.previousKeyId)}, not from the signing key ${expected.previousKeyId}`;
  if (rotation.time !== expected.time)
    return `the rotation time ${String(rotation.time)} is not its transaction's time ${expected.time}`;
  if (typeof rotation.keyId !== 'string' || !DIGEST.test(rotation.keyId))
    return 'the incoming key id is malformed';
  if (rotation.keyId === rotation.previousKeyId) return 'the incoming key is the outgoing key';
  const publicKey =
    typeof rotation.publicKey === 'string' ? publicKeyFromSpki(rotation.publicKey) : undefined;
  if (!publicKey || nodeKeyAlgorithmOf(publicKey) !== rotation.algorithm)
    return `the incoming public key is not a key for ${rotation.algorithm}`;
  if (keyIdOf(Buffer.from(rotation.publicKey, 'base64')) !== rotation.keyId)
    return 'the incoming key id is not the digest of its public key';
  if (!verifySignature(rotation.algorithm, publicKey, keyRotationSigningBytes(rotation), args[1]))
    return 'the incoming key did not sign the rotation';
  return undefined;
}
