/**
 * `evidence-node promote-replica DIR --key FILE --trust FILE [--source-height N]`: rebuilds a
 * platform's node from a replica's data directory (docs/replicas.md) when the platform's own store
 * and backups are lost. Run with the replica stopped. Nothing changes unless every check passes:
 *
 * - the directory holds a replica of a chain the pinned trust file names, with no fork proof;
 * - its whole chain verifies, from block 0, by the keys the chain itself says signed it;
 * - it holds at least the blocks the source had signed: the most the source ever said it held
 *   (the replica's job records it, replica/follower.ts), and `N` when the operator knows of more
 *   (`--source-height`, needed when the replica never recorded one). A block the source signed
 *   and the replica never took would otherwise be signed again, differently, and receipts of the
 *   lost one would contradict the chain;
 * - the key given is the chain's current signing key, and the trust file does not mark it
 *   compromised.
 *
 * Then the key becomes the directory's `node-key.pem` and the store the chain's own; the node
 * started on it (as the chain's organisation) signs the next block after the replica's tip, and
 * every receipt issued before verifies as it did, with the same trust file.
 */

import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Digest } from '../core/digest';
import { openAuditLog } from './audit/audit-log';
import { parseTrustFile, type TrustFile } from '../core/trust';
import { nodeKeyOfPem } from './ledger/embedded/node-key';
import { openEmbeddedLedger, promoteReplicaStore, STORE_DIR } from './ledger/embedded-ledger';
import { readSourceHeight } from './replica/follower';
import { FORK_FILE } from './replica/forks';
import { fileExists } from './storage/durable-files';

export interface Promotion {
  /** True when the directory now holds the chain's own store. */
  readonly promoted: boolean;
  /** Checked only (`--dry-run`): nothing was changed, whatever the checks found. */
  readonly dryRun: boolean;
  readonly chainId: string | null;
  /** The chain's organisation: the node must run as it (`EVIDENCE_ORG`). */
  readonly org: string | null;
  /** Blocks verified, from block 0. */
  readonly verifiedBlocks: number | null;
  readonly height: number | null;
  readonly tipHash: Digest | null;
  /** The key that signs the next block. */
  readonly keyId: Digest | null;
  /**
   * The blocks the source had signed, at least, and who said so: the source itself (recorded by
   * the replica) or the operator (`--source-height`), whichever is more.
   */
  readonly sourceHeight: { readonly height: number; readonly from: 'source' | 'operator' } | null;
  /** One line per reason the directory was not promoted. */
  readonly problems: readonly string[];
}

export interface PromotionRequest {
  readonly dataDir: string;
  readonly keyFile: string;
  readonly trust: TrustFile;
  /** Blocks the source had signed, as its operator last knew it, if the operator said. */
  readonly sourceHeight?: number;
  /** Run every check and change nothing (a recovery drill; a replica's backup folder too). */
  readonly dryRun?: boolean;
}

/** Retention while the command holds the audit log: it deletes nothing (the node prunes). */
const KEEP_EVERY_AUDIT_ENTRY = 36_500;

/** Checks the replica in `request.dataDir` and promotes it; never throws for what it finds. */
export async function promoteReplica(request: PromotionRequest): Promise<Promotion> {
  const { dataDir } = request;
  const problems: string[] = [];
  const found = {
    chainId: null as string | null,
    org: null as string | null,
    verifiedBlocks: null as number | null,
    height: null as number | null,
    tipHash: null as Digest | null,
    keyId: null as Digest | null,
    sourceHeight: null as Promotion['sourceHeight'],
  };
  const dryRun = request.dryRun === true;
  const refused = (): Promotion => ({ promoted: false, dryRun, ...found, problems });

  let pem: string;
  let keyId: Digest;
  try {
    pem = await fs.readFile(request.keyFile, 'utf8');
    keyId = nodeKeyOfPem(pem).keyId;
  } catch (error) {
    problems.push(`the key file ${request.keyFile} cannot be used: ${(error as Error).message}`);
    return refused();
  }
  if (!(await fileExists(path.join(dataDir, STORE_DIR)))) {
    problems.push(`${dataDir} holds no ledger store`);
    return refused();
  }
  if (await fileExists(path.join(dataDir, FORK_FILE))) {
    problems.push(
      `${FORK_FILE}: this replica caught its source signing two blocks at one height; a forked ` +
        'chain is not continued from a copy (check the proof with `evidence fork`)',
    );
  }

  let currentKey: { keyId: Digest; compromisedSince?: string } | undefined;
  try {
    const replica = await openEmbeddedLedger({
      dataDir,
      org: 'promotion',
      replica: { trust: request.trust },
    });
    try {
      found.chainId = replica.chainId;
      found.verifiedBlocks = await replica.verifyChain();
      const info = await replica.info();
      found.height = info.height;
      found.tipHash = info.tipHash;
      const keys = replica.nodeKeys();
      const current = keys.at(-1);
      if (current) {
        const pinned = request.trust.chains
          .flatMap((chain) => (chain.kind === 'embedded' ? chain.keys : []))
          .find((k) => k.keyId === current.keyId);
        currentKey = {
          keyId: current.keyId,
          ...(pinned?.compromisedSince ? { compromisedSince: pinned.compromisedSince } : {}),
        };
      }
    } finally {
      await replica.close();
    }
  } catch (error) {
    problems.push(`the replica does not open and verify: ${(error as Error).message}`);
    return refused();
  }

  const recorded = await readSourceHeight(dataDir);
  const said = recorded?.chainId === found.chainId ? recorded.height : undefined;
  if (said === undefined && request.sourceHeight === undefined) {
    problems.push(
      'this replica never recorded how many blocks its source held: give --source-height N, the ' +
        "blocks the source had signed as last known (its last backup's manifest, its monitoring)",
    );
  } else {
    found.sourceHeight =
      (request.sourceHeight ?? 0) > (said ?? 0)
        ? { height: request.sourceHeight as number, from: 'operator' }
        : { height: said as number, from: 'source' };
  }
  const needed = found.sourceHeight;
  if (needed && found.height !== null && found.height < needed.height) {
    problems.push(
      `the replica holds ${found.height} blocks and the source had signed ${needed.height} ` +
        `(${needed.from === 'source' ? `as the source said, ${recorded?.at}` : 'as --source-height says'}): ` +
        'blocks it never took would be signed again, differently, and their receipts would ' +
        'contradict the chain; let it catch up from a replica that holds them first',
    );
  }
  if (currentKey && currentKey.keyId !== keyId) {
    problems.push(
      `the key given is ${keyId}; the chain is signed by ${currentKey.keyId} now (after its last rotation)`,
    );
  }
  if (currentKey?.compromisedSince !== undefined) {
    problems.push(
      `the trust file marks the chain's current key compromised since ${currentKey.compromisedSince}: ` +
        'a chain is not continued with a compromised key',
    );
  }
  if (problems.length > 0) return refused();
  found.keyId = keyId;
  if (dryRun) return refused();

  try {
    const promoted = await promoteReplicaStore(dataDir, { keyId, pem });
    found.org = promoted.org;
    found.keyId = promoted.keyId;
    // As the node will open it.
    const node = await openEmbeddedLedger({
      dataDir,
      org: promoted.org,
      chainId: promoted.chainId,
    });
    try {
      const info = await node.info();
      if (info.height !== found.height || info.tipHash !== found.tipHash) {
        problems.push(`the promoted store's tip is not the replica's (${info.height} blocks)`);
      }
    } finally {
      await node.close();
    }
    // The node's audit trail says when it became the chain's node, and from what.
    const audit = await openAuditLog({ dataDir, retentionDays: KEEP_EVERY_AUDIT_ENTRY });
    try {
      audit.append({
        type: 'promotion',
        params: {
          chainId: promoted.chainId,
          height: String(found.height),
          tipHash: found.tipHash as string,
          keyId: promoted.keyId,
        },
      });
      await audit.flush();
    } finally {
      await audit.close();
    }
  } catch (error) {
    problems.push(`promoting failed: ${(error as Error).message}`);
  }
  return { promoted: problems.length === 0, dryRun, ...found, problems };
}

const USAGE = `usage: evidence-node promote-replica DIR --key FILE --trust FILE [--source-height N] [--dry-run] [--json]

Makes the replica in DIR (stopped) the chain's own node, signing with the chain's current key in
FILE, when the source's store is lost. --trust is the trust file the replica was pinned to. A
replica holding fewer blocks than its source ever said it held is refused; --source-height raises
that figure when the operator knows of more (its last backup, its monitoring, other replicas'
status), and is needed when the replica never recorded one. --dry-run runs every check and changes
nothing (a recovery drill, on the replica or on a copy of its backup). Exit 0 promoted (or, with
--dry-run, ready), 1 refused (nothing changed but where a line says so), 2 usage.`;

const OPTIONS = ['--key', '--trust', '--source-height'] as const;
const REQUIRED = ['--key', '--trust'] as const;

/** The `promote-replica` command; returns the exit status. */
export async function promoteReplicaCommand(
  args: readonly string[],
  io: { stdout(line: string): void; stderr(line: string): void },
): Promise<number> {
  const json = args.includes('--json');
  const dryRun = args.includes('--dry-run');
  const rest = args.filter((arg) => arg !== '--json' && arg !== '--dry-run');
  const values = new Map<string, string>();
  const positional: string[] = [];
  const problems: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i] as string;
    if ((OPTIONS as readonly string[]).includes(arg)) {
      const value = rest[i + 1];
      if (value === undefined || value.startsWith('--')) problems.push(`${arg} needs a value`);
      else values.set(arg, value);
      i++;
    } else if (arg.startsWith('-')) {
      problems.push(`unknown option ${arg}`);
    } else {
      positional.push(arg);
    }
  }
  if (positional.length !== 1) problems.push('DIR: give exactly one data directory');
  for (const option of REQUIRED)
    if (!values.has(option) && !problems.includes(`${option} needs a value`))
      problems.push(`${option} is required`);
  const heightText = values.get('--source-height');
  const sourceHeight = Number(heightText);
  if (heightText !== undefined && !(/^[0-9]{1,15}$/.test(heightText) && sourceHeight >= 1))
    problems.push('--source-height must be a whole number of blocks, at least 1');
  let trust: TrustFile | undefined;
  const trustFile = values.get('--trust');
  if (trustFile !== undefined) {
    try {
      trust = parseTrustFile(JSON.parse(await fs.readFile(trustFile, 'utf8')) as unknown);
    } catch (error) {
      problems.push(`--trust ${trustFile}: ${(error as Error).message}`);
    }
  }
  if (problems.length > 0 || !trust) {
    for (const problem of problems) io.stderr(problem);
    io.stderr(USAGE);
    return 2;
  }
  const dataDir = positional[0] as string;
  const result = await promoteReplica({
    dataDir,
    keyFile: values.get('--key') as string,
    trust,
    ...(heightText === undefined ? {} : { sourceHeight }),
    dryRun,
  });
  const ready = result.promoted || (dryRun && result.problems.length === 0);
  if (json) {
    io.stdout(JSON.stringify(result));
  } else if (dryRun && ready) {
    io.stdout(
      `${dataDir} can be promoted (nothing was changed): chain ${result.chainId}, ` +
        `${result.verifiedBlocks} blocks verified, the source had signed ` +
        `${result.sourceHeight?.height} (as the ${result.sourceHeight?.from} said), the key is ` +
        "the chain's current one.",
    );
  } else if (result.promoted) {
    io.stdout(
      `${dataDir} now holds chain ${result.chainId} as its own node: ${result.verifiedBlocks} blocks ` +
        `verified (the source had signed ${result.sourceHeight?.height}, as the ` +
        `${result.sourceHeight?.from} said), the next block is ${result.height} and is signed by ` +
        `${result.keyId}.`,
    );
    io.stdout(
      `Start the node on it with EVIDENCE_DATA_DIR=${dataDir} EVIDENCE_ORG=${result.org} and no ` +
        'EVIDENCE_REPLICA_* settings; point other replicas of the chain at it.',
    );
  } else {
    io.stdout(`${dataDir} ${dryRun ? 'could NOT be promoted' : 'was NOT promoted'}:`);
    for (const problem of result.problems) io.stdout(`  ${problem}`);
  }
  return ready ? 0 : 1;
}
