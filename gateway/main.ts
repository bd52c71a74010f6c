/**
 * Entry point of the evidence node (`bin/evidence-node.js`): the embedded ledger, configured from
 * the environment, on a thread of its own unless `EVIDENCE_LEDGER_THREAD=main`. Resolves with the
 * exit status once the node stopped.
 *
 * `evidence-node check-backup FOLDER` checks a backup offline instead (gateway/backup-check.ts);
 * `evidence-node promote-replica DIR ...` makes a stopped replica its chain's own node
 * (gateway/promote.ts).
 */

import { checkBackupCommand } from './backup-check';
import { openEmbeddedLedger } from './ledger/embedded-ledger';
import { openThreadedLedger } from './ledger/threaded-ledger';
import { promoteReplicaCommand } from './promote';
import { runNode, type OpenLedger } from './server';

export const openNodeLedger: OpenLedger = ({ thread, onFailure, ...options }) =>
  thread === 'main'
    ? openEmbeddedLedger(options)
    : openThreadedLedger({ ...options, ...(onFailure ? { onFailure } : {}) });

const USAGE = `usage: evidence-node                        run the node (configured by EVIDENCE_* variables)
       evidence-node check-backup FOLDER    check a backup folder offline (--json for JSON)
       evidence-node promote-replica DIR --key FILE --trust FILE [--source-height N] [--dry-run]
                                            make a stopped replica its chain's own node`;

export function main(
  env: NodeJS.ProcessEnv = process.env,
  argv: readonly string[] = process.argv.slice(2),
): Promise<number> {
  const io = {
    stdout: (line: string) => process.stdout.write(`${line}\n`),
    stderr: (line: string) => process.stderr.write(`${line}\n`),
  };
  if (argv[0] === 'check-backup') return checkBackupCommand(argv.slice(1), io);
  if (argv[0] === 'promote-replica') return promoteReplicaCommand(argv.slice(1), io);
  if (argv.length > 0) {
    io.stderr(USAGE);
    return Promise.resolve(2);
  }
  return runNode({ env, openLedger: openNodeLedger });
}
