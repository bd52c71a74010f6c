/**
 * An in-memory fake of the parts of Fabric's Context that contracts use: enough for unit tests of
 * contract logic without any ledger. Writes apply at once (tests drive one transaction at a time).
 */

import type { Context } from 'fabric-contract-api';

export interface FakeCaller {
  mspId: string;
  account: string;
  role: string | null;
}

export class FakeWorld {
  readonly state = new Map<string, Buffer>();
  readonly history = new Map<string, Array<{ txId: string; seconds: number; value: Buffer }>>();
  events: Array<{ name: string; payload: string }> = [];
  seconds = 1_790_000_000;
  #tx = 0;

  context(caller: FakeCaller): Context {
    return contextOf(this, caller);
  }

  nextTxId(): string {
    return (++this.#tx).toString(16).padStart(64, '0');
  }
}

function contextOf(world: FakeWorld, caller: FakeCaller): Context {
  const txId = world.nextTxId();
  const seconds = world.seconds;
  const stub = {
    getTxID: () => txId,
    getChannelID: () => 'evidence',
    getTxTimestamp: () => ({ seconds, nanos: 0 }),
    getState: async (key: string) => world.state.get(key) ?? Buffer.alloc(0),
    putState: async (key: string, value: Uint8Array) => {
      const bytes = Buffer.from(value);
      world.state.set(key, bytes);
      const list = world.history.get(key) ?? [];
      list.push({ txId, seconds, value: bytes });
      world.history.set(key, list);
    },
    setEvent: (name: string, payload: Uint8Array) => {
      world.events.push({ name, payload: Buffer.from(payload).toString('utf8') });
    },
    getHistoryForKey: (key: string) => ({
      async *[Symbol.asyncIterator]() {
        for (const entry of world.history.get(key) ?? []) {
          yield {
            txId: entry.txId,
            timestamp: { seconds: entry.seconds, nanos: 0 },
            isDelete: false,
            value: entry.value,
          };
        }
      },
    }),
  };
  const clientIdentity = {
    getMSPID: () => caller.mspId,
    getID: () => `x509::/C=CN/O=${caller.mspId}/CN=${caller.account}::/CN=ca`,
    getAttributeValue: (name: string) => (name === 'role' ? caller.role : null),
  };
  return { stub, clientIdentity } as unknown as Context;
}
