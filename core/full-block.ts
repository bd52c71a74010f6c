/**
 * Whole blocks of the embedded ledger: the signed header with every transaction's header, its
 * arguments, result, writes and event. This is what the ledger stores, what a node serves to its
 * replicas (`GET /v1/blocks`), and what a replica checks before it keeps a block
 * (docs/replicas.md). A receipt never carries one: it needs only the headers.
 *
 * {@link parseFullBlock} reads one from untrusted text; {@link fullBlockProblem} checks it against
 * its place in the chain and the key that must have signed it, recomputing every digest the
 * headers commit to. Both are pure and never trust the block's own claims.
 */

import {
  blockSigningBytes,
  txLeafHash,
  valueDigest,
  type BlockHeader,
  type Signature,
  type SignedBlockHeader,
  type TxHeader,
} from './block';
import { formatDigest, type Digest } from './digest';
import { ReplicaError, type ValidationError } from './errors';
import { rootOf } from './merkle';
import { signedBlockHeaderSchema, txHeaderSchema } from './receipt';
import { parseJson, validateOrThrow } from './schema';
import { publicKeyFromSpki, verifySignature } from './signature';

/** A write of a transaction: the new value of a world-state key, `null` for a delete. */
export interface BlockWrite {
  readonly key: string;
  readonly value: string | null;
}

/** One transaction as a block holds it. */
export interface FullTx {
  readonly header: TxHeader;
  readonly args: readonly string[];
  /** The contract's result text (JSON, or a plain string). */
  readonly result: string;
  readonly writes: readonly BlockWrite[];
  readonly event: { readonly name: string; readonly payload: string } | null;
}

export interface FullBlock {
  readonly header: BlockHeader;
  readonly signature: Signature;
  readonly txs: readonly FullTx[];
}

/** The key a block must be signed by. */
export interface BlockSigner {
  readonly keyId: Digest;
  readonly algorithm: Signature['algorithm'];
  /** Base64 SubjectPublicKeyInfo DER. */
  readonly publicKey: string;
}

/** Where a block must sit: its chain, its number and its parent's hash (`null` for block 0). */
export interface BlockPlace {
  readonly chainId: string;
  readonly number: number;
  readonly previousHash: Digest | null;
  /** Chain time of the parent: a block's transactions are never earlier. */
  readonly previousTime?: string;
}

/** Bounds of a block a replica accepts: far above what a node writes (1,000 records a block). */
export const MAX_BLOCK_TXS = 10_000;
export const MAX_TX_WRITES = 100_000;
const MAX_TEXT = 16 * 1024 * 1024;

const TEXT = { type: 'string', maxLength: MAX_TEXT } as const;

/** A receipt's transaction header, whose contract may also be the ledger's own (`_system`). */
const blockTxHeaderSchema = {
  ...txHeaderSchema,
  properties: {
    ...txHeaderSchema.properties,
    contract: { type: 'string', pattern: '^[A-Za-z0-9_][A-Za-z0-9._:@-]{0,127}$' },
  },
} as const;

export const fullBlockSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['header', 'signature', 'txs'],
  properties: {
    header: signedBlockHeaderSchema.properties.header,
    signature: signedBlockHeaderSchema.properties.signature,
    txs: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_BLOCK_TXS,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['header', 'args', 'result', 'writes', 'event'],
        properties: {
          header: blockTxHeaderSchema,
          args: { type: 'array', maxItems: 64, items: TEXT },
          result: TEXT,
          writes: {
            type: 'array',
            maxItems: MAX_TX_WRITES,
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['key', 'value'],
              properties: {
                key: { type: 'string', minLength: 1, maxLength: 1024 },
                value: { anyOf: [TEXT, { type: 'null' }] },
              },
            },
          },
          event: {
            anyOf: [
              { type: 'null' },
              {
                type: 'object',
                additionalProperties: false,
                required: ['name', 'payload'],
                properties: { name: { type: 'string', maxLength: 256 }, payload: TEXT },
              },
            ],
          },
        },
      },
    },
  },
} as const;

/**
 * Reads a whole block from untrusted JSON text.
 * @throws ReplicaError `BLOCK_INVALID` naming every bad field, or when the text is not JSON.
 */
export function parseFullBlock(text: string): FullBlock {
  return asBlockInvalid(() =>
    validateOrThrow<FullBlock>(fullBlockSchema, parseJson(text, 'the block'), 'the block'),
  );
}

/**
 * Reads only the signed header of a block from untrusted JSON text: what a replica compares with
 * the block it holds, whose body it checked when it took it.
 * @throws ReplicaError `BLOCK_INVALID` naming every bad field of the header and signature.
 */
export function parseSignedHeaderOf(text: string): SignedBlockHeader {
  return asBlockInvalid(() => {
    const value = parseJson(text, 'the block') as Partial<SignedBlockHeader> | null;
    const signed = { header: value?.header, signature: value?.signature };
    return validateOrThrow<SignedBlockHeader>(signedBlockHeaderSchema, signed, 'the block');
  });
}

/** `read()`, its ValidationError (not JSON, or a bad field) given as `BLOCK_INVALID`. */
function asBlockInvalid<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    const { message, fields } = error as ValidationError;
    throw new ReplicaError('BLOCK_INVALID', message, fields);
  }
}

/** A contract's result text as the transaction header commits to it: its JSON value, else the text. */
export function resultValueOf(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** An event as the transaction header commits to it (its payload parsed as a result is). */
export function eventValueOf(event: FullTx['event']): unknown {
  return event === null ? null : { name: event.name, payload: resultValueOf(event.payload) };
}

/**
 * Why `block` is not the block at `place` signed by `signer`, in one line; `undefined` when it
 * is. Checks the header's chain, number and link, its transaction count and data hash, each
 * transaction's chain, time and the digests of its arguments, result, writes and event, and the
 * signature. Never throws. Requires `block` to have passed {@link parseFullBlock}'s schema.
 */
export function fullBlockProblem(
  block: FullBlock,
  place: BlockPlace,
  signer: BlockSigner,
): string | undefined {
  const { header, txs } = block;
  const at = `block ${place.number}`;
  if (header.chainId !== place.chainId) return `${at} is of chain ${header.chainId}`;
  if (header.number !== place.number) return `${at} says it is block ${header.number}`;
  if (header.previousHash !== place.previousHash)
    return `${at} does not link to block ${place.number - 1}`;
  if (header.txCount !== txs.length) return `${at} has a wrong transaction count`;
  let previousTime = place.previousTime;
  for (const [index, { header: tx, args, result, writes, event }] of txs.entries()) {
    const which = `transaction ${index} of ${at}`;
    if (tx.chainId !== place.chainId) return `${which} is of chain ${tx.chainId}`;
    if (previousTime !== undefined && Date.parse(tx.time) < Date.parse(previousTime))
      return `${which} is dated before the transaction that precedes it`;
    previousTime = tx.time;
    if (valueDigest(args) !== tx.argsDigest) return `${which}: its arguments do not match`;
    if (valueDigest(resultValueOf(result)) !== tx.resultDigest)
      return `${which}: its result does not match`;
    if (valueDigest(writes) !== tx.writesDigest) return `${which}: its writes do not match`;
    if (valueDigest(eventValueOf(event)) !== tx.eventsDigest)
      return `${which}: its event does not match`;
  }
  if (header.time !== (txs.at(-1) as FullTx).header.time)
    return `${at} is not dated by its last transaction`;
  const dataHash = formatDigest('sha256', rootOf(txs.map((tx) => txLeafHash(tx.header))));
  if (dataHash !== header.dataHash) return `${at}: its data hash does not match its transactions`;
  return signatureProblem(block, signer);
}

/** Why `block`'s signature is not `signer`'s over its header; `undefined` when it is. */
export function signatureProblem(
  block: Pick<FullBlock, 'header' | 'signature'>,
  signer: BlockSigner,
): string | undefined {
  const { header, signature } = block;
  const publicKey = publicKeyFromSpki(signer.publicKey);
  if (
    !publicKey ||
    signature.keyId !== signer.keyId ||
    signature.algorithm !== signer.algorithm ||
    !verifySignature(signature.algorithm, publicKey, blockSigningBytes(header), signature.value)
  ) {
    return `block ${header.number} signature does not verify with node key ${signer.keyId}`;
  }
  return undefined;
}
