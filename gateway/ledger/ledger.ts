/**
 * The ledger port: one interface, two adapters (the embedded LevelDB ledger, and Fabric). The
 * gateway talks only to this; the shared contract test suite runs against every adapter.
 */

import type { SignedBlockHeader, TxHeader } from '../../core/block';
import type { Digest } from '../../core/digest';
import type { TrustFile } from '../../core/trust';

/** Who a transaction is submitted as: the chaincode's client identity. */
export interface LedgerIdentity {
  readonly mspId: string;
  readonly id: string;
  readonly role: string;
}

export interface ChaincodeEvent {
  readonly name: string;
  readonly payload: unknown;
}

/** What a committed transaction returns to the submitter. */
export interface Committed<T = unknown> {
  readonly txId: string;
  readonly blockNumber: number;
  readonly time: string;
  readonly result: T;
  readonly event: ChaincodeEvent | undefined;
}

/** A committed transaction with the material a receipt needs. */
export interface StoredTransaction {
  readonly header: TxHeader;
  readonly args: readonly string[];
  readonly result: unknown;
  readonly blockNumber: number;
  readonly txIndex: number;
  /** Hex hashes from the transaction's leaf to the block's data hash. */
  readonly txPath: readonly string[];
  readonly block: SignedBlockHeader;
}

export interface ChainInfo {
  readonly kind: 'embedded' | 'fabric';
  readonly chainId: string;
  /** Number of blocks; the tip is `height - 1`. */
  readonly height: number;
  readonly tipHash: Digest | null;
  readonly tipTime: string | null;
}

export interface CallOptions {
  /** Milliseconds since the epoch after which the call fails with `LEDGER_TIMEOUT`. */
  readonly deadline?: number;
}

export interface Ledger {
  readonly kind: 'embedded' | 'fabric';
  readonly chainId: string;
  /**
   * Submits a transaction and resolves once it is durable (embedded: synced write; Fabric: commit
   * status VALID). Chaincode errors reject with an EvidenceError carrying the chaincode's code.
   * @throws LedgerError `LEDGER_UNAVAILABLE`, `LEDGER_TIMEOUT`, `STORAGE_FULL`, `LEDGER_CLOSED`.
   */
  submit<T = unknown>(
    contract: string,
    fn: string,
    args: readonly string[],
    identity: LedgerIdentity,
    options?: CallOptions,
  ): Promise<Committed<T>>;
  /** Runs a read-only transaction; nothing is written. */
  evaluate<T = unknown>(
    contract: string,
    fn: string,
    args: readonly string[],
    identity: LedgerIdentity,
    options?: CallOptions,
  ): Promise<T>;
  /** The committed transaction `txId`, or `undefined`. */
  transaction(txId: string): Promise<StoredTransaction | undefined>;
  info(): Promise<ChainInfo>;
  /** The trust entry a verifier pins for this chain. */
  trust(): TrustFile;
  close(): Promise<void>;
}
