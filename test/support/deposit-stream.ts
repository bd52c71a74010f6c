/**
 * A stream of single deposits on several connections to a running node, for tests of what the
 * node does while it is under load (backups, key rotations): each acknowledged digest is kept, in
 * the order the acknowledgements came.
 */

import { randomBytes } from 'node:crypto';
import { digestBytes } from '../../core/digest';

export interface DepositStream {
  /** The sha256 digests acknowledged (201) so far, in order. */
  readonly acknowledged: string[];
  /** Stops after the deposits in flight; rejects if any deposit got anything but 201. */
  stop(): Promise<void>;
}

export function streamDeposits(url: string, key: string, connections: number): DepositStream {
  const acknowledged: string[] = [];
  let stopping = false;
  const writer = async () => {
    while (!stopping) {
      const item = digestBytes(randomBytes(32));
      const response = await fetch(`${url}/v1/evidence`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ digests: [item.sha256, item.sm3] }),
      });
      const body = await response.text();
      if (response.status !== 201) {
        stopping = true;
        throw new Error(`a deposit under load got ${response.status}: ${body}`);
      }
      acknowledged.push(item.sha256);
    }
  };
  const writers = Array.from({ length: connections }, writer);
  return {
    acknowledged,
    stop: async () => {
      stopping = true;
      await Promise.all(writers);
    },
  };
}
