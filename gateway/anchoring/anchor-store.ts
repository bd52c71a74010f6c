/**
 * The node's own record of its anchors: every anchor a target recorded for this chain, with the
 * proof of its recording transaction, and the trust file pinned for each target. Receipts are
 * upgraded from here, without contacting the target again.
 *
 * A LevelDB database of its own under `<dataDir>/anchoring`, NOT world state: anchors of this
 * chain live on the target chains; this is the node's copy of their proofs. Writes are synced,
 * so an anchor the job reported as stored survives a crash.
 *
 * Layout (sublevels):
 *   anchors!<target>   blockNumber(16 hex) -> StoredAnchor   (ordered by block number)
 *   trust              target              -> TrustFile
 */

import { Level } from 'level';
import type { AnchorRecord } from '../../core/anchor';
import { LedgerError } from '../../core/errors';
import type { TrustFile } from '../../core/trust';
import { copyStore, type StoreCopy } from '../storage/store-copy';
import { openTextStore, UTF8 } from '../storage/text-store';
import type { AnchorTxProof, StampedBlock } from './target';

/** What every kept anchor has. */
interface StoredBase {
  /** The target's configured name. */
  readonly target: string;
  /** The chain the anchor is recorded on (the proof's transaction chain), or the authority. */
  readonly targetChainId: string;
  /** When this node stored it (its own clock). */
  readonly storedAt: string;
}

/** An anchor on another chain, with its recording transaction's proof. */
export interface StoredChainAnchor extends StoredBase {
  /** Absent in anchors stored before time stamps existed. */
  readonly kind?: 'chain';
  readonly anchor: AnchorRecord;
  readonly proof: AnchorTxProof;
}

/** A time stamp of a block's hash by a trusted authority, with the token (base64 DER). */
export interface StoredTimestamp extends StoredBase {
  readonly kind: 'timestamp';
  readonly anchor: StampedBlock;
  readonly token: string;
}

/** One anchor of this chain on a target, as the node keeps it. */
export type StoredAnchor = StoredChainAnchor | StoredTimestamp;

export interface AnchorStore {
  /** Stores `entry` under its target and anchored block number (replacing an equal key). */
  put(entry: StoredAnchor): Promise<void>;
  /**
   * The earliest anchor of `target` whose block number is at least `blockNumber`: the one whose
   * header chain from a receipt of that block is shortest. `undefined` when none covers it yet.
   */
  covering(target: string, blockNumber: number): Promise<StoredAnchor | undefined>;
  /** The anchor of `target` with the highest block number. */
  latest(target: string): Promise<StoredAnchor | undefined>;
  /** The trust file pinned for `target`. */
  trust(target: string): Promise<TrustFile | undefined>;
  putTrust(target: string, trust: TrustFile): Promise<void>;
  /** Copies the store as of one snapshot into a new store at `location` (backups). */
  copyTo(location: string): Promise<StoreCopy>;
  close(): Promise<void>;
}

/** classic-level's synced write; the `level` typings do not list it (the ledger casts alike). */
const SYNCED = { sync: true } as never;
const hex16 = (n: number) => n.toString(16).padStart(16, '0');

class LevelAnchorStore implements AnchorStore {
  readonly #db: Level<string, string>;
  readonly #trust;

  constructor(db: Level<string, string>) {
    this.#db = db;
    this.#trust = db.sublevel<string, string>('trust', UTF8);
  }

  #anchors(target: string) {
    return this.#db.sublevel<string, string>(`anchors-${target}`, UTF8);
  }

  async put(entry: StoredAnchor): Promise<void> {
    await this.#anchors(entry.target).put(
      hex16(entry.anchor.blockNumber),
      JSON.stringify(entry),
      SYNCED,
    );
  }

  async covering(target: string, blockNumber: number): Promise<StoredAnchor | undefined> {
    for await (const value of this.#anchors(target).values({ gte: hex16(blockNumber), limit: 1 }))
      return parse(value);
    return undefined;
  }

  async latest(target: string): Promise<StoredAnchor | undefined> {
    for await (const value of this.#anchors(target).values({ reverse: true, limit: 1 }))
      return parse(value);
    return undefined;
  }

  async trust(target: string): Promise<TrustFile | undefined> {
    const raw = await this.#trust.get(target);
    return raw === undefined ? undefined : (JSON.parse(raw) as TrustFile);
  }

  async putTrust(target: string, trust: TrustFile): Promise<void> {
    await this.#trust.put(target, JSON.stringify(trust), SYNCED);
  }

  copyTo(location: string): Promise<StoreCopy> {
    return copyStore(this.#db, location);
  }

  async close(): Promise<void> {
    await this.#db.close();
  }
}

function parse(value: string): StoredAnchor {
  try {
    return JSON.parse(value) as StoredAnchor;
  } catch (error) {
    throw new LedgerError('LEDGER_CORRUPTED', 'a stored anchor is not readable', { cause: error });
  }
}

/**
 * Opens (or creates) the anchor store in `dir`.
 * @throws LedgerError `LEDGER_UNAVAILABLE` when it cannot be opened (e.g. locked by another node).
 */
export async function openAnchorStore(dir: string): Promise<AnchorStore> {
  return new LevelAnchorStore(await openTextStore(dir, 'anchor store'));
}
