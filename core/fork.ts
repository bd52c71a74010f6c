/**
 * Proof that a chain's node signed two histories: two different block headers of the same chain
 * and number, each signed by a key the trust file pins for that chain, valid at the header's
 * time. A replica writes one when its source serves a block other than the one it holds at that
 * height (docs/replicas.md); `evidence fork` checks one offline. Pure; never trusts the file.
 */

import { blockHash, type SignedBlockHeader } from './block';
import { signedBlockHeaderSchema } from './receipt';
import { validateOrThrow } from './schema';
import type { Digest } from './digest';
import {
  CHAIN_ID_PATTERN,
  TRUST_TIME_PATTERN,
  verifyBlockSignature,
  type BlockSignatureOutcome,
  type TrustedKey,
  type TrustFile,
} from './trust';

export const FORK_PROOF_TYPE = 'judicial-evidence-fork';

export interface ForkProof {
  readonly type: typeof FORK_PROOF_TYPE;
  readonly chainId: string;
  readonly number: number;
  /** The block the replica held (its source had served and signed it earlier). */
  readonly held: SignedBlockHeader;
  /** The block the source served later at the same height. */
  readonly served: SignedBlockHeader;
  readonly detectedAt: string;
}

export const forkProofSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'chainId', 'number', 'held', 'served', 'detectedAt'],
  properties: {
    type: { const: FORK_PROOF_TYPE },
    chainId: { type: 'string', pattern: CHAIN_ID_PATTERN },
    number: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
    held: signedBlockHeaderSchema,
    served: signedBlockHeaderSchema,
    detectedAt: { type: 'string', pattern: TRUST_TIME_PATTERN },
  },
} as const;

/**
 * The proof that `held` and `served`, two signed headers, make: of `held`'s chain and height (the
 * check, {@link checkForkProof}, tells whether they are of one chain and height, and differ).
 */
export function forkProofOf(
  held: SignedBlockHeader,
  served: SignedBlockHeader,
  detectedAt: Date,
): ForkProof {
  return {
    type: FORK_PROOF_TYPE,
    chainId: held.header.chainId,
    number: held.header.number,
    held,
    served,
    detectedAt: detectedAt.toISOString(),
  };
}

/**
 * Reads a fork proof from parsed JSON.
 * @throws ValidationError `VALIDATION_FAILED` naming every bad field.
 */
export function parseForkProof(value: unknown): ForkProof {
  return validateOrThrow<ForkProof>(forkProofSchema, value, 'the fork proof');
}

export type ForkVerdict =
  | {
      readonly proven: true;
      readonly chainId: string;
      readonly number: number;
      /** The pinned keys that signed the held and the served block (often one key twice). */
      readonly keys: readonly [TrustedKey, TrustedKey];
      /** One line for people, in English. */
      readonly detail: string;
    }
  | {
      readonly proven: false;
      readonly problem: string;
      /**
       * Set when the refusal is that a block is signed by a key `trust` does not pin for the
       * chain: a node that has not followed the chain's key rotations that far cannot tell.
       */
      readonly unpinnedKey?: Digest;
    };

/**
 * Whether `proof` proves that keys pinned in `trust` signed two different blocks at one height
 * of one chain. Requires `proof` to have passed {@link parseForkProof} and `trust` its own parse;
 * never throws.
 */
export function checkForkProof(proof: ForkProof, trust: TrustFile): ForkVerdict {
  const refuse = (problem: string): ForkVerdict => ({ proven: false, problem });
  for (const [name, block] of [
    ['held', proof.held],
    ['served', proof.served],
  ] as const) {
    if (block.header.chainId !== proof.chainId || block.header.number !== proof.number)
      return refuse(`the ${name} block is not block ${proof.number} of ${proof.chainId}`);
  }
  const heldHash = blockHash(proof.held.header);
  const servedHash = blockHash(proof.served.header);
  if (heldHash === servedHash) return refuse('the two blocks are the same block');
  /** The refusal for a block whose signature does not verify (naming a key not pinned). */
  const unsigned = (
    name: string,
    block: SignedBlockHeader,
    outcome: Extract<BlockSignatureOutcome, { ok: false }>,
  ): ForkVerdict => ({
    proven: false,
    problem: `the ${name} block: ${outcome.detail}`,
    ...(outcome.problem === 'KEY_NOT_TRUSTED' ? { unpinnedKey: block.signature.keyId } : {}),
  });
  const held = verifyBlockSignature(proof.held, trust);
  if (!held.ok) return unsigned('held', proof.held, held);
  const served = verifyBlockSignature(proof.served, trust);
  if (!served.ok) return unsigned('served', proof.served, served);
  const keys =
    held.key.keyId === served.key.keyId
      ? `key ${held.key.keyId}`
      : `keys ${held.key.keyId} and ${served.key.keyId}`;
  return {
    proven: true,
    chainId: proof.chainId,
    number: proof.number,
    keys: [held.key, served.key],
    detail:
      `block ${proof.number} of ${proof.chainId} exists twice, ${heldHash} and ${servedHash}, ` +
      `each signed by pinned ${keys}: whoever held it signed two histories`,
  };
}
