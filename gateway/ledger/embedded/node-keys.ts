/**
 * The embedded ledger's node keys over the life of the chain: which key signed which blocks, the
 * trust-file entries that follow from it, and the key files in the data directory while a
 * rotation is under way.
 *
 * Files: `node-key.pem` is the current key. A rotation first writes the incoming key to
 * `node-key.next.pem` (0600, synced), then commits the rotation block, then renames the file over
 * `node-key.pem`: the outgoing private key is gone, and it signs no block after the rotation. A
 * crash anywhere in between is settled on the next start by what the chain says: the chain's
 * current key wins, and an incoming key the chain never adopted is removed.
 */

import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { NodeKeyAlgorithm } from '../../../core/block';
import type { Digest } from '../../../core/digest';
import type { TrustedKey } from '../../../core/trust';
import type { NodeKeyView } from '../ledger';
import { syncDirectory } from '../../storage/durable-files';
import { UNFINISHED_KEY_FILE, loadNodeKey, newNodeKeyFile, type NodeKey } from './node-key';

export const NODE_KEY_FILE = 'node-key.pem';
export const NEXT_NODE_KEY_FILE = 'node-key.next.pem';

/**
 * One key of the chain and the blocks it signed. The chain's first key has no `notBefore`; the
 * current key has no `lastBlock` or `notAfter`; a rotation block is the outgoing key's
 * `lastBlock`, and its time ends the outgoing key's window and starts the incoming key's.
 */
export type NodeKeyEntry = NodeKeyView;

/** The key that signed (or signs) block `number`. */
export function keyForBlock(
  keys: readonly NodeKeyEntry[],
  number: number,
): NodeKeyEntry | undefined {
  return keys.find(
    (key) => key.firstBlock <= number && (key.lastBlock === undefined || number <= key.lastBlock),
  );
}

/** The keys after rotating from the current one to `incoming` in block `block` at `time`. */
export function rotatedKeys(
  keys: readonly NodeKeyEntry[],
  incoming: {
    readonly keyId: Digest;
    readonly algorithm: NodeKeyAlgorithm;
    readonly publicKey: string;
  },
  block: number,
  time: string,
): NodeKeyEntry[] {
  const current = keys.at(-1);
  if (!current) throw new RangeError('a chain has at least one key');
  return [
    ...keys.slice(0, -1),
    { ...current, lastBlock: block, notAfter: time },
    {
      keyId: incoming.keyId,
      algorithm: incoming.algorithm,
      publicKey: incoming.publicKey,
      firstBlock: block + 1,
      notBefore: time,
    },
  ];
}

/** The trust-file keys: each with the window of chain time it signed in. */
export function trustedKeys(keys: readonly NodeKeyEntry[]): TrustedKey[] {
  return keys.map((key) => ({
    keyId: key.keyId,
    algorithm: key.algorithm,
    publicKey: key.publicKey,
    ...(key.notBefore !== undefined ? { notBefore: key.notBefore } : {}),
    ...(key.notAfter !== undefined ? { notAfter: key.notAfter } : {}),
  }));
}

/** Same keys, same blocks, same windows. */
export function sameKeys(a: readonly NodeKeyEntry[], b: readonly NodeKeyEntry[]): boolean {
  const text = (keys: readonly NodeKeyEntry[]) =>
    JSON.stringify(
      keys.map((k) => [
        k.keyId,
        k.algorithm,
        k.publicKey,
        k.firstBlock,
        k.lastBlock,
        k.notBefore,
        k.notAfter,
      ]),
    );
  return text(a) === text(b);
}

/**
 * Settles the key files with the chain's current key `currentKeyId`: finishes a rotation the
 * chain committed (the incoming file becomes `node-key.pem`), removes an incoming key it never
 * adopted, and loads the current key.
 * @returns the current key, or `undefined` when `node-key.pem` is not the chain's current key
 *   (the caller names the mismatch).
 */
export async function settleNodeKeyFiles(
  dataDir: string,
  currentKeyId: Digest,
): Promise<{ key: NodeKey | undefined; fileKeyId: Digest | undefined }> {
  const file = path.join(dataDir, NODE_KEY_FILE);
  const nextFile = path.join(dataDir, NEXT_NODE_KEY_FILE);
  // An unreadable incoming key was cut short by a crash while it was written: the rotation block
  // is committed only after the file is whole and synced, so the chain never adopted it.
  const next = await loadNodeKey(nextFile).catch(() => null);
  if (next?.keyId === currentKeyId) await replaceFile(nextFile, file);
  else if (next !== undefined) await fs.rm(nextFile, { force: true });
  const key = await loadNodeKey(file);
  return { key: key?.keyId === currentKeyId ? key : undefined, fileKeyId: key?.keyId };
}

/**
 * Writes a new key for `algorithm` to `node-key.next.pem` (replacing one left by a rotation that
 * failed).
 */
export async function writeNextNodeKey(
  dataDir: string,
  algorithm: NodeKeyAlgorithm,
): Promise<NodeKey> {
  const nextFile = path.join(dataDir, NEXT_NODE_KEY_FILE);
  await fs.rm(nextFile, { force: true });
  return newNodeKeyFile(nextFile, algorithm);
}

/** The rotation block is durable: the incoming key becomes `node-key.pem`. */
export async function adoptNextNodeKey(dataDir: string): Promise<void> {
  await replaceFile(path.join(dataDir, NEXT_NODE_KEY_FILE), path.join(dataDir, NODE_KEY_FILE));
}

/** Renames `from` over `to` and syncs the folder, so the rename survives a power cut. */
async function replaceFile(from: string, to: string): Promise<void> {
  await fs.rename(from, to);
  await syncDirectory(path.dirname(to));
}

/** Removes key files a crash left half made (never used: not one block was signed with them). */
export async function removeUnfinishedKeyFiles(dataDir: string): Promise<void> {
  let names: string[];
  try {
    names = await fs.readdir(dataDir);
  } catch {
    return;
  }
  for (const name of names.filter((n) => UNFINISHED_KEY_FILE.test(n)))
    await fs.rm(path.join(dataDir, name), { force: true });
}
