/**
 * `evidence-node check-backup FOLDER`: checks a backup folder (gateway/backup.ts) offline, before
 * it is trusted for a restore or after it was copied to another site: the manifest is whole, each
 * store holds exactly the entries its manifest digest names, and the ledger opens with its node
 * key and verifies from block 0 up to the tip the manifest names.
 *
 * Opening the stores lets LevelDB rewrite its own log files; the entries are not changed. Check a
 * copy when the folder itself must stay byte for byte as it is.
 */

import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { parseTrustFile, type TrustFile } from '../core/trust';
import type { BackupManifest } from './backup';
import { openEmbeddedLedger, REPLICA_TRUST_FILE } from './ledger/embedded-ledger';
import { fileExists } from './storage/durable-files';
import { digestStore, type StoreCopy } from './storage/store-copy';

export interface BackupCheck {
  /** True when nothing below failed. */
  readonly intact: boolean;
  readonly id: string | null;
  /** Blocks verified in the ledger copy; `null` without one. */
  readonly verifiedBlocks: number | null;
  /** One line per problem found, naming the file or store. */
  readonly problems: readonly string[];
}

function sameCopy(a: StoreCopy, b: StoreCopy): boolean {
  return a.entries === b.entries && a.bytes === b.bytes && a.digest === b.digest;
}

async function readManifest(folder: string): Promise<BackupManifest | string> {
  let text: string;
  try {
    text = await fs.readFile(path.join(folder, 'backup.json'), 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return `backup.json cannot be read${code ? ` (${code})` : `: ${(error as Error).message}`}`;
  }
  let manifest: Partial<BackupManifest>;
  try {
    manifest = JSON.parse(text) as Partial<BackupManifest>;
  } catch {
    return 'backup.json is not JSON';
  }
  if (
    typeof manifest !== 'object' ||
    manifest === null ||
    manifest.type !== 'evidence-node-backup' ||
    manifest.version !== 1 ||
    manifest.state !== 'completed' ||
    typeof manifest.id !== 'string' ||
    typeof manifest.chainId !== 'string' ||
    typeof manifest.stores !== 'object' ||
    manifest.stores === null ||
    !Array.isArray(manifest.files)
  ) {
    return 'backup.json is not the manifest of a completed backup (type, version 1, state, id, chainId, stores, files)';
  }
  return manifest as BackupManifest;
}

/** Checks the backup in `folder`; never throws for what it finds, only reports it. */
export async function checkBackup(folder: string): Promise<BackupCheck> {
  const manifest = await readManifest(folder);
  if (typeof manifest === 'string') {
    return { intact: false, id: null, verifiedBlocks: null, problems: [manifest] };
  }
  const problems: string[] = [];
  const checkStore = async (name: string, expected: StoreCopy): Promise<boolean> => {
    try {
      const found = await digestStore(path.join(folder, name));
      if (sameCopy(found, expected)) return true;
      problems.push(
        `${name}/ holds ${found.entries} entries (${found.digest}), the manifest names ${expected.entries} (${expected.digest})`,
      );
    } catch (error) {
      problems.push(`${name}/ cannot be read: ${(error as Error).message}`);
    }
    return false;
  };

  let verifiedBlocks: number | null = null;
  const ledger = manifest.ledger;
  if (ledger) {
    const storeIntact = await checkStore('ledger', ledger.store);
    // A replica's backup holds the trust file its blocks were checked with, not a node key.
    const replicaBackup = manifest.files.includes(REPLICA_TRUST_FILE);
    const replica = replicaBackup
      ? await readReplicaTrust(path.join(folder, REPLICA_TRUST_FILE), problems)
      : undefined;
    if (!replicaBackup && !(await fileExists(path.join(folder, 'node-key.pem')))) {
      problems.push('node-key.pem is missing');
    } else if (storeIntact && (!replicaBackup || replica)) {
      try {
        const copy = await openEmbeddedLedger({
          dataDir: folder,
          org: 'backup-check',
          ...(replica ? { replica: { trust: replica } } : { chainId: manifest.chainId }),
        });
        try {
          verifiedBlocks = await copy.verifyChain();
          const info = await copy.info();
          if (info.height !== ledger.height || info.tipHash !== ledger.tipHash) {
            problems.push(
              `the ledger's tip is block ${info.height - 1} (${info.tipHash}), the manifest names ${ledger.height - 1} (${ledger.tipHash})`,
            );
          }
        } finally {
          await copy.close();
        }
      } catch (error) {
        problems.push(`the ledger does not verify: ${(error as Error).message}`);
      }
    }
  }
  for (const [name, expected] of Object.entries(manifest.stores)) {
    await checkStore(name, expected);
  }
  for (const file of manifest.files) {
    if (!(await fileExists(path.join(folder, file)))) problems.push(`${file} is missing`);
  }
  return { intact: problems.length === 0, id: manifest.id, verifiedBlocks, problems };
}

/** A replica backup's trust file, or `undefined` with the problem recorded. */
async function readReplicaTrust(file: string, problems: string[]): Promise<TrustFile | undefined> {
  try {
    return parseTrustFile(JSON.parse(await fs.readFile(file, 'utf8')) as unknown);
  } catch (error) {
    problems.push(`${REPLICA_TRUST_FILE} cannot be read: ${(error as Error).message}`);
    return undefined;
  }
}

const USAGE = `usage: evidence-node check-backup FOLDER [--json]

Checks a backup folder offline: its manifest, every store against the manifest's digest, and the
ledger's whole chain with its node key. Exit 0 intact, 1 not intact, 2 usage.`;

/** The `check-backup` command; returns the exit status. */
export async function checkBackupCommand(
  args: readonly string[],
  io: { stdout(line: string): void; stderr(line: string): void },
): Promise<number> {
  const json = args.includes('--json');
  const rest = args.filter((arg) => arg !== '--json');
  if (rest.length !== 1 || rest[0]?.startsWith('-')) {
    io.stderr(USAGE);
    return 2;
  }
  const folder = rest[0] as string;
  // As typed: messages name the folder the way the operator wrote it.
  const result = await checkBackup(folder);
  if (json) {
    io.stdout(JSON.stringify(result));
  } else if (result.intact) {
    io.stdout(
      `backup ${result.id} in ${folder} is intact` +
        (result.verifiedBlocks === null ? '' : `: ${result.verifiedBlocks} blocks verified`),
    );
  } else {
    io.stdout(`backup ${result.id ?? '?'} in ${folder} is NOT intact:`);
    for (const problem of result.problems) io.stdout(`  ${problem}`);
  }
  return result.intact ? 0 : 1;
}
