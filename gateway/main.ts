/**
 * Entry point of the evidence node (`bin/evidence-node.js`): the embedded ledger, configured from
 * the environment. Resolves with the exit status once the node stopped.
 */

import { openEmbeddedLedger } from './ledger/embedded-ledger';
import { runNode } from './server';

export function main(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return runNode({ env, openLedger: openEmbeddedLedger });
}
