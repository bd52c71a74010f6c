/**
 * The small part of Fabric's chaincode stub and client identity our contracts use, implemented
 * over the embedded ledger's committed state. Like Fabric, reads see committed state only (not the
 * transaction's own writes), and writes are collected into a write set applied at commit.
 */

import type { ChaincodeStub, ClientIdentity } from 'fabric-shim-api';
import { LedgerError } from '../../../core/errors';
import type { LedgerIdentity } from '../ledger';

/** Read access to committed state and key history, provided by the ledger. */
export interface StateReader {
  get(key: string): Promise<string | undefined>;
  history(
    key: string,
  ): Promise<ReadonlyArray<{ txId: string; time: string; value: string | null }>>;
}

export interface Write {
  readonly key: string;
  /** New value (UTF-8 text), or `null` for a delete. */
  readonly value: string | null;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

function timestampOf(iso: string): { seconds: number; nanos: number } {
  const millis = Date.parse(iso);
  return { seconds: Math.floor(millis / 1000), nanos: (millis % 1000) * 1_000_000 };
}

export class EmbeddedStub {
  readonly #reader: StateReader;
  readonly #txId: string;
  readonly #time: string;
  readonly #channel: string;
  readonly #readOnly: boolean;
  readonly #writes = new Map<string, string | null>();
  #event: { name: string; payload: string } | undefined;

  constructor(reader: StateReader, txId: string, time: string, channel: string, readOnly: boolean) {
    this.#reader = reader;
    this.#txId = txId;
    this.#time = time;
    this.#channel = channel;
    this.#readOnly = readOnly;
  }

  /** The write set in key order (deterministic). */
  writes(): Write[] {
    return [...this.#writes.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, value]) => ({ key, value }));
  }

  event(): { name: string; payload: string } | undefined {
    return this.#event;
  }

  getTxID(): string {
    return this.#txId;
  }

  getChannelID(): string {
    return this.#channel;
  }

  getTxTimestamp(): { seconds: number; nanos: number } {
    return timestampOf(this.#time);
  }

  async getState(key: string): Promise<Uint8Array> {
    const value = await this.#reader.get(key);
    return value === undefined ? new Uint8Array(0) : Buffer.from(value, 'utf8');
  }

  async putState(key: string, value: Uint8Array): Promise<void> {
    this.#writable();
    if (key.length === 0) throw new Error('VALIDATION_FAILED: empty key');
    this.#writes.set(key, decoder.decode(value));
  }

  async deleteState(key: string): Promise<void> {
    this.#writable();
    this.#writes.set(key, null);
  }

  setEvent(name: string, payload: Uint8Array): void {
    this.#event = { name, payload: decoder.decode(payload) };
  }

  getHistoryForKey(key: string) {
    const load = this.#reader.history(key);
    const modifications = load.then((entries) =>
      entries.map((entry) => ({
        txId: entry.txId,
        timestamp: timestampOf(entry.time),
        isDelete: entry.value === null,
        value: entry.value === null ? new Uint8Array(0) : Buffer.from(entry.value, 'utf8'),
      })),
    );
    return {
      async *[Symbol.asyncIterator]() {
        yield* await modifications;
      },
    };
  }

  #writable(): void {
    if (this.#readOnly) throw new LedgerError('INTERNAL', 'write attempted in an evaluate call');
  }
}

export class EmbeddedClientIdentity {
  readonly #identity: LedgerIdentity;

  constructor(identity: LedgerIdentity) {
    this.#identity = identity;
  }

  getMSPID(): string {
    return this.#identity.mspId;
  }

  getID(): string {
    return `embedded::${this.#identity.mspId}::${this.#identity.id}`;
  }

  getIDBytes(): Uint8Array {
    return Buffer.from(this.getID(), 'utf8');
  }

  getAttributeValue(name: string): string | null {
    if (name === 'role') return this.#identity.role;
    if (name === 'account') return this.#identity.id;
    return null;
  }

  assertAttributeValue(name: string, value: string): boolean {
    return this.getAttributeValue(name) === value;
  }
}

/** The stub and identity typed as Fabric's, for handing to a contract's context. */
export function asFabric(
  stub: EmbeddedStub,
  identity: EmbeddedClientIdentity,
): {
  stub: ChaincodeStub;
  clientIdentity: ClientIdentity;
} {
  return {
    stub: stub as unknown as ChaincodeStub,
    clientIdentity: identity as unknown as ClientIdentity,
  };
}
