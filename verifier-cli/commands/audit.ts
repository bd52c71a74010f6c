/**
 * `evidence audit verify --data-dir DIR`: checks the hash chain of a node's audit log offline,
 * from its data directory, with the rules of core/audit.ts.
 *
 * The store is copied to a temporary directory and opened there: the command never writes to the
 * node's files (opening LevelDB in place would recover and compact it), and it works while the
 * node runs (the copy holds what was durable when it was taken). A running node answers the same
 * question at `GET /v1/audit/verify`.
 */

import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Level } from 'level';
import {
  AUDIT_ENTRIES,
  AUDIT_META,
  AUDIT_STORE_DIR,
  AuditChainChecker,
  GENESIS_ANCHOR,
  auditKey,
  type AuditAnchor,
  type AuditVerification,
} from '../../core/audit';
import { CliError, ioError } from '../cli-error';
import type { CliIo } from '../cli-io';
import { jsonText, parseCommandLine, resolvePath, usage, type Command } from '../command';
import { EXIT_NOT_VERIFIED, EXIT_OK, type ExitStatus } from '../exit-codes';

const OPTIONS = {
  'data-dir': { type: 'string' },
  json: { type: 'boolean' },
} as const;

const HELP = `Usage: evidence audit verify --data-dir DIR [--json]

Checks the hash chain of the audit log in a node's data directory (DIR/${AUDIT_STORE_DIR}): every
entry must carry the next sequence number, name the previous entry's hash and hash to its own
content, from the anchor left by retention pruning up to the recorded head. Prints INTACT with the
head (keep it: later checks show any change up to it), or BROKEN with the first failing position.
The store is copied and the copy is read: the node's files are never written, and the node may be
running. A running node answers the same at GET /v1/audit/verify (auditor role).

Exit status: 0 intact, 1 broken, 2 usage error, 3 the store cannot be read.
`;

const UTF8 = { valueEncoding: 'utf8' } as const;

/** Copies the store's files (not its lock) into a fresh temporary directory. */
async function copyStore(source: string, shown: string): Promise<string> {
  let names: string[];
  try {
    names = await fs.readdir(source);
  } catch (error) {
    throw ioError('read', shown, error);
  }
  if (!names.includes('CURRENT')) {
    throw new CliError('IO_ERROR', `${shown} holds no audit log (no LevelDB CURRENT file)`);
  }
  const copy = await fs.mkdtemp(path.join(os.tmpdir(), 'evidence-audit-'));
  for (const name of names) {
    if (name === 'LOCK') continue;
    try {
      await fs.copyFile(path.join(source, name), path.join(copy, name));
    } catch (error) {
      // A file LevelDB deleted while we copied (a compaction): the manifest names what counts.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        await fs.rm(copy, { recursive: true, force: true });
        throw ioError('copy', path.join(shown, name), error);
      }
    }
  }
  return copy;
}

/** Checks the chain in the store at `dir` (a copy). */
export async function verifyAuditStore(dir: string): Promise<AuditVerification> {
  const db = new Level<string, string>(dir, UTF8);
  await db.open();
  try {
    const meta = db.sublevel<string, string>(AUDIT_META, UTF8);
    const entries = db.sublevel<string, string>(AUDIT_ENTRIES, UTF8);
    const rawAnchor = await meta.get('anchor');
    const rawHead = await meta.get('head');
    const anchor =
      rawAnchor === undefined ? GENESIS_ANCHOR : (JSON.parse(rawAnchor) as AuditAnchor);
    const head = rawHead === undefined ? undefined : (JSON.parse(rawHead) as AuditAnchor);
    const checker = new AuditChainChecker(anchor);
    const range = head === undefined ? {} : { lte: auditKey(Math.max(head.seq, 0)) };
    for await (const [key, value] of entries.iterator(range)) {
      if (!checker.add(key, value)) break;
    }
    return checker.result(head);
  } finally {
    await db.close();
  }
}

async function verify(args: readonly string[], io: CliIo): Promise<ExitStatus> {
  const { values, positionals } = parseCommandLine(args, OPTIONS);
  if (positionals.length > 0) throw usage(`audit verify takes no arguments; got ${positionals[0]}`);
  const dataDir = values['data-dir'];
  if (dataDir === undefined) throw usage('audit verify needs --data-dir DIR');
  const shown = path.join(dataDir, AUDIT_STORE_DIR);
  const copy = await copyStore(path.join(resolvePath(io, dataDir), AUDIT_STORE_DIR), shown);
  let result: AuditVerification;
  try {
    result = await verifyAuditStore(copy);
  } catch (error) {
    throw new CliError('IO_ERROR', `cannot read the audit log in ${shown}`, undefined, {
      cause: error,
    });
  } finally {
    await fs.rm(copy, { recursive: true, force: true });
  }
  const verdict = result.intact ? 'INTACT' : 'BROKEN';
  if (values.json === true) {
    io.stdout(jsonText({ verdict, ...result }));
  } else if (result.intact) {
    io.stdout(
      `INTACT ${result.checked} entries after anchor ${result.anchor.seq}\n` +
        `head ${result.head.seq} ${result.head.hash}\n`,
    );
  } else {
    const failure = result.failure as NonNullable<AuditVerification['failure']>;
    io.stdout(
      `BROKEN at entry ${failure.seq} (${failure.reason}); ${result.checked} entries before it ` +
        `verify, up to ${result.head.seq} ${result.head.hash}\n`,
    );
  }
  return result.intact ? EXIT_OK : EXIT_NOT_VERIFIED;
}

async function run(args: readonly string[], io: CliIo): Promise<ExitStatus> {
  const [name, ...rest] = args;
  if (name !== 'verify') throw usage('audit needs a subcommand: verify');
  return verify(rest, io);
}

export const auditCommand: Command = {
  name: 'audit',
  summary: "check the hash chain of a node's audit log (offline)",
  help: HELP,
  run,
};
