/**
 * Following a chain's key rotations from a trust file pinned earlier to the one a node serves now.
 *
 * A court pins a node's trust file once, after comparing its fingerprint out of band. When the
 * node rotates its key, the new trust file need not be taken on faith again: each rotation is a
 * block signed by the outgoing key, holding a statement of the incoming key proven by the incoming
 * key's signature (core/key-rotation.ts). Starting from the keys pinned, every rotation is checked
 * as a verifier checks a receipt (block signature by a pinned key valid at the block's time, the
 * transaction under the block's data hash, its arguments under the transaction's digest, the
 * statement and its proof), and the keys it adds become pinned for the next. The file offered is
 * accepted only if its keys are exactly the ones this walk arrives at. Pure; never throws.
 */

import { inclusionPathProblem, txLeafHash, type SignedBlockHeader, type TxHeader } from './block';
import {
  KEY_ROTATION_FN,
  SYSTEM_CONTRACT,
  rotationTxProblem,
  type KeyRotation,
} from './key-rotation';
import { signedBlockHeaderSchema, txHeaderSchema } from './receipt';
import { validateOrThrow } from './schema';
import {
  CHAIN_ID_PATTERN,
  TRUST_FILE_TYPE,
  verifyBlockSignature,
  type TrustedChain,
  type TrustedKey,
  type TrustFile,
} from './trust';

/** One rotation as a node serves it: its transaction, the path to its block, and the block. */
export interface KeyRotationProof {
  readonly tx: TxHeader;
  /** The statement (canonical JSON) and the incoming key's signature over it. */
  readonly args: readonly [string, string];
  readonly txIndex: number;
  readonly txPath: readonly string[];
  readonly block: SignedBlockHeader;
}

/** `GET /v1/trust/rotations`: every rotation of the chain, oldest first. */
export interface KeyRotationProofs {
  readonly chainId: string;
  readonly rotations: readonly KeyRotationProof[];
}

export const keyRotationProofsSchema = {
  $id: 'key-rotations',
  type: 'object',
  additionalProperties: false,
  required: ['chainId', 'rotations'],
  properties: {
    chainId: { type: 'string', pattern: CHAIN_ID_PATTERN },
    rotations: {
      type: 'array',
      maxItems: 64,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['tx', 'args', 'txIndex', 'txPath', 'block'],
        properties: {
          tx: {
            ...txHeaderSchema,
            properties: {
              ...txHeaderSchema.properties,
              contract: { const: SYSTEM_CONTRACT },
              fn: { const: KEY_ROTATION_FN },
            },
          },
          args: {
            type: 'array',
            minItems: 2,
            maxItems: 2,
            items: { type: 'string', maxLength: 8192 },
          },
          txIndex: { type: 'integer', minimum: 0, maximum: 1_000_000 },
          txPath: {
            type: 'array',
            maxItems: 64,
            items: { type: 'string', pattern: '^[0-9a-f]{64}$' },
          },
          block: signedBlockHeaderSchema,
        },
      },
    },
  },
} as const;

/**
 * Checks the shape of a rotations document.
 * @throws ValidationError `TRUST_MALFORMED` naming every bad field.
 */
export function parseKeyRotationProofs(value: unknown): KeyRotationProofs {
  return validateOrThrow<KeyRotationProofs>(
    keyRotationProofsSchema,
    value,
    'key rotations',
    'TRUST_MALFORMED',
  );
}

export type TrustUpdateOutcome =
  | {
      readonly ok: true;
      /** `pinned` with the chain's keys replaced by the ones the rotations lead to. */
      readonly trust: TrustFile;
      /** Rotations that added a key not pinned before. */
      readonly added: readonly KeyRotation[];
    }
  | { readonly ok: false; readonly detail: string };

/**
 * Whether `offered` (a node's trust file now) follows from `pinned` for `rotations.chainId` by the
 * rotations given, each checked against the keys pinned so far. Chains of `pinned` other than
 * that one are kept as they are; the chain must be pinned already (a new chain is pinned out of
 * band, never by this).
 */
export function followKeyRotations(
  pinned: TrustFile,
  offered: TrustFile,
  proofs: KeyRotationProofs,
): TrustUpdateOutcome {
  const refuse = (detail: string): TrustUpdateOutcome => ({ ok: false, detail });
  const { chainId } = proofs;
  const known = pinned.chains.find((chain) => chain.chainId === chainId);
  if (!known) return refuse(`the pinned trust file does not name chain ${chainId}`);
  const target = offered.chains.find((chain) => chain.chainId === chainId);
  if (!target) return refuse(`the offered trust file does not name chain ${chainId}`);

  let keys: TrustedKey[] = [...known.keys];
  const added: KeyRotation[] = [];
  let lastBlock = -1;
  for (const proof of proofs.rotations) {
    const { tx, block } = proof;
    const at = `the rotation in block ${block.header.number}`;
    if (block.header.number <= lastBlock) return refuse(`${at} is out of order`);
    lastBlock = block.header.number;
    if (block.header.chainId !== chainId || tx.chainId !== chainId)
      return refuse(`${at} is of another chain`);
    const working: TrustFile = {
      type: TRUST_FILE_TYPE,
      version: 1,
      chains: [{ ...known, keys }],
    };
    const signed = verifyBlockSignature(block, working);
    if (!signed.ok) return refuse(`${at}: ${signed.problem}: ${signed.detail}`);
    const path = inclusionPathProblem(
      proof.txIndex,
      block.header.txCount,
      txLeafHash(tx),
      proof.txPath,
      block.header.dataHash,
    );
    if (path) return refuse(`${at}: its transaction is not under the block's data hash (${path})`);
    const problem = rotationTxProblem(tx, proof.args, {
      chainId,
      previousKeyId: block.signature.keyId,
    });
    if (problem) return refuse(`${at}: ${problem}`);
    const rotation = JSON.parse(proof.args[0]) as KeyRotation;
    const outgoing = signed.key;
    keys = keys.map((key) =>
      key === outgoing && key.notAfter === undefined ? { ...key, notAfter: tx.time } : key,
    );
    const incoming = keys.find((key) => key.keyId === rotation.keyId);
    if (
      incoming &&
      (incoming.publicKey !== rotation.publicKey || incoming.algorithm !== rotation.algorithm)
    )
      return refuse(`${at}: the incoming key id is pinned with another public key or algorithm`);
    // Whoever holds a compromised key can sign a rotation to a key of their own, at any time: a
    // key it hands over to is pinned only out of band (one pinned already stays as it was).
    if (!incoming && signed.key.compromisedSince !== undefined) {
      return refuse(
        `${at} is signed by ${signed.key.keyId}, which the pinned file marks compromised since ` +
          `${signed.key.compromisedSince}: pin the node's new key out of band`,
      );
    }
    if (!incoming) {
      keys.push({
        keyId: rotation.keyId,
        algorithm: rotation.algorithm,
        publicKey: rotation.publicKey,
        notBefore: tx.time,
      });
      added.push(rotation);
    }
  }
  const text = (list: readonly TrustedKey[]) =>
    JSON.stringify(
      list
        .map((k) => [k.keyId, k.algorithm, k.publicKey, k.notBefore ?? null, k.notAfter ?? null])
        .sort(),
    );
  if (text(keys) !== text(target.keys)) {
    return refuse(
      'the offered keys are not the ones the rotations lead to from the pinned file ' +
        `(pinned and rotated: ${keys.map((k) => k.keyId).join(', ')}; offered: ${target.keys
          .map((k) => k.keyId)
          .join(', ')})`,
    );
  }
  // Only the keys change: the operator's name and the rest stay as they were pinned, and so do
  // the compromise marks the pinned file gave its keys (no node sets or clears them).
  const marks = new Map(
    known.keys.flatMap((k) => (k.compromisedSince ? [[k.keyId, k.compromisedSince]] : [])),
  );
  const updated: TrustedChain = {
    ...known,
    keys: target.keys.map((key) => {
      const { compromisedSince: _offered, ...offeredKey } = key;
      const mark = marks.get(key.keyId);
      return mark !== undefined ? { ...offeredKey, compromisedSince: mark } : offeredKey;
    }),
  };
  return {
    ok: true,
    trust: {
      type: TRUST_FILE_TYPE,
      version: 1,
      chains: pinned.chains.map((chain) => (chain.chainId === chainId ? updated : chain)),
    },
    added,
  };
}
