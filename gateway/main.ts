/**
 * Entry point of the evidence node (`bin/evidence-node.js`): the embedded ledger, configured from
 * the environment, on a thread of its own unless `EVIDENCE_LEDGER_THREAD=main`. Resolves with the
 * exit status once the node stopped.
 */

import { openEmbeddedLedger } from './ledger/embedded-ledger';
import { openThreadedLedger } from './ledger/threaded-ledger';
import { runNode, type OpenLedger } from './server';

export const openNodeLedger: OpenLedger = ({ thread, onFailure, ...options }) =>
  thread === 'main'
    ? openEmbeddedLedger(options)
    : openThreadedLedger({ ...options, ...(onFailure ? { onFailure } : {}) });

export function main(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return runNode({ env, openLedger: openNodeLedger });
}
