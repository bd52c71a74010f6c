/**
 * `evidence deposit FILE... --gateway URL`: hashes each file locally and deposits only its digests
 * (the file never leaves the machine), then stores each receipt next to the file or in `--out`.
 *
 * Order of work, so that a mistake costs nothing: check the flags, hash every file, check every
 * output path, and only then call the gateway. Any failure before the call exits with nothing
 * deposited. Each receipt is checked to be well formed and to name this file's digests before it is
 * written.
 */

import { mkdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { type DigestSet } from '../../core/digest';
import type { FieldError } from '../../core/errors';
import {
  EVIDENCE_TYPES,
  evidenceItemSchema,
  type EvidenceItem,
  type EvidenceType,
} from '../../core/evidence';
import type { DepositOutcome } from '../../core/evidence-state';
import { checkDigest, checkReceipt } from '../../core/verify';
import { CliError, ioError, toCliError } from '../cli-error';
import type { CliIo } from '../cli-io';
import { jsonText, parseCommandLine, resolvePath, usage, type Command } from '../command';
import { EXIT_NOT_VERIFIED, EXIT_OK, worstExitStatus, type ExitStatus } from '../exit-codes';
import { readIfExists, writeFileAtomic } from '../files';
import {
  createGatewayClient,
  parseGatewayUrl,
  type DepositResult,
  type GatewayClient,
} from '../node-client';
import { hashUserFile } from '../hash-file';
import { RECEIPT_SUFFIX, filesUnder, isReceiptOrBackup } from '../folder-files';
import { errorText } from '../report';

/** Items per request; a larger deposit is sent as several batches, in order. */
export const DEPOSIT_BATCH_ITEMS = 100;

const OPTIONS = {
  gateway: { type: 'string' },
  key: { type: 'string' },
  type: { type: 'string' },
  'media-type': { type: 'string' },
  out: { type: 'string' },
  force: { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

const HELP = `Usage: evidence deposit FILE|FOLDER... --gateway URL [--key KEY] [--type TYPE]
                        [--media-type TYPE] [--out DIR] [--force] [--json]

Hashes each FILE locally and deposits its digests (sha256 and sm3, never the content) at the
gateway, then writes each receipt to FILE${RECEIPT_SUFFIX} (or DIR/<name>${RECEIPT_SUFFIX}).
A FOLDER stands for every file in it and its subfolders (receipts in it are not deposited), as
"evidence verify-all FOLDER" checks them afterwards.

Options:
  --gateway URL      the gateway, e.g. https://evidence.example.org
  --key KEY          API key (default: $EVIDENCE_API_KEY, which keeps it out of the process list)
  --type TYPE        evidence type: ${EVIDENCE_TYPES.join(', ')}
  --media-type TYPE  media type of every file, e.g. application/pdf
  --out DIR          write receipts into DIR (created if missing)
  --force            overwrite an existing receipt even if it is for other content
  --json             print { gateway, results: [{ file, size, digests, status, receipt } | { file, error }] }

Exit status: 0 all deposited, 1 some items refused, 2 usage or input error,
3 file, network or gateway error.
`;

interface Target {
  /** As the user wrote it. */
  readonly file: string;
  readonly size: number;
  readonly digests: DigestSet;
  /** Receipt path as shown, and resolved. */
  readonly receiptShown: string;
  readonly receiptPath: string;
  /** Index of this file's item in the request (files with equal content share one item). */
  readonly item: number;
}

/** A failure as reported: the gateway's own code for refusals, ours for everything else. */
interface Failure {
  readonly code: string;
  readonly message: string;
  readonly fields?: readonly FieldError[];
}

type Outcome =
  | { readonly target: Target; readonly status: DepositOutcome }
  | { readonly target: Target; readonly error: Failure; readonly exit: ExitStatus };

function failed(target: Target, error: unknown): Outcome {
  const cliError = toCliError(error);
  return { target, error: cliError.toJSON(), exit: cliError.exitStatus };
}

interface Settings {
  readonly client: GatewayClient;
  readonly apiKey: string;
  readonly evidenceType?: EvidenceType;
  readonly mediaType?: string;
  readonly outDir?: string;
  readonly force: boolean;
  readonly json: boolean;
}

function parseSettings(
  args: readonly string[],
  io: CliIo,
): { settings: Settings; files: string[] } {
  const { values, positionals } = parseCommandLine(args, OPTIONS);
  if (positionals.length === 0) throw usage('deposit needs at least one FILE');
  if (values.gateway === undefined) throw usage('deposit needs --gateway URL');
  const apiKey = values.key ?? io.env.EVIDENCE_API_KEY;
  if (apiKey === undefined || apiKey.trim() === '') {
    throw usage('deposit needs an API key: --key KEY or the EVIDENCE_API_KEY variable');
  }
  if (/[\r\n]/.test(apiKey)) throw usage('the API key must be one line');
  const evidenceType = values.type;
  if (evidenceType !== undefined && !(EVIDENCE_TYPES as readonly string[]).includes(evidenceType)) {
    throw usage(`--type must be one of ${EVIDENCE_TYPES.join(', ')}`);
  }
  const mediaType = values['media-type'];
  if (
    mediaType !== undefined &&
    !new RegExp(evidenceItemSchema.properties.mediaType.pattern).test(mediaType)
  ) {
    throw usage('--media-type must look like type/subtype, in lower case (e.g. application/pdf)');
  }
  const client = createGatewayClient(io, parseGatewayUrl(values.gateway));
  return {
    files: positionals,
    settings: {
      client,
      apiKey: apiKey.trim(),
      ...(evidenceType !== undefined ? { evidenceType: evidenceType as EvidenceType } : {}),
      ...(mediaType !== undefined ? { mediaType } : {}),
      ...(values.out !== undefined ? { outDir: values.out } : {}),
      force: values.force === true,
      json: values.json === true,
    },
  };
}

/** Hashes every file and assigns receipt paths and request items. Fails before any network call. */
async function prepare(
  io: CliIo,
  files: readonly string[],
  settings: Settings,
): Promise<{ targets: Target[]; items: EvidenceItem[] }> {
  if (settings.outDir !== undefined)
    await ensureDirectory(resolvePath(io, settings.outDir), settings.outDir);
  const targets: Target[] = [];
  const items: EvidenceItem[] = [];
  const itemBySha256 = new Map<string, number>();
  const receiptPaths = new Set<string>();
  for (const file of files) {
    const { size, digests } = await hashUserFile(io, file);
    const receiptShown =
      settings.outDir !== undefined
        ? join(settings.outDir, basename(file) + RECEIPT_SUFFIX)
        : file + RECEIPT_SUFFIX;
    const receiptPath = resolvePath(io, receiptShown);
    if (receiptPaths.has(receiptPath)) {
      throw usage(
        `two files would write the same receipt ${receiptShown}; deposit them separately`,
      );
    }
    receiptPaths.add(receiptPath);
    await checkOverwrite(receiptPath, receiptShown, digests, settings.force);
    let item = itemBySha256.get(digests.sha256);
    if (item === undefined) {
      item = items.length;
      itemBySha256.set(digests.sha256, item);
      items.push({
        digests: [digests.sha256, ...(digests.sm3 ? [digests.sm3] : [])],
        size,
        ...(settings.evidenceType ? { evidenceType: settings.evidenceType } : {}),
        ...(settings.mediaType ? { mediaType: settings.mediaType } : {}),
      });
    }
    targets.push({ file, size, digests, receiptShown, receiptPath, item });
  }
  return { targets, items };
}

async function ensureDirectory(path: string, shown: string): Promise<void> {
  try {
    await mkdir(path, { recursive: true });
    if (!(await stat(path)).isDirectory())
      throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR', syscall: 'mkdir' });
  } catch (error) {
    throw ioError('create directory', shown, error);
  }
}

/**
 * A receipt already at `path` is replaced only when it is for the same content (re-running a
 * deposit refreshes it) or with `--force`: a receipt for other content may be the only proof the
 * depositor has of an earlier version.
 */
async function checkOverwrite(
  path: string,
  shown: string,
  digests: DigestSet,
  force: boolean,
): Promise<void> {
  if (force) return;
  const existing = await readIfExists(path, shown);
  if (existing === undefined) return;
  let sameContent = false;
  try {
    const value = JSON.parse(existing.toString('utf8')) as { record?: { digests?: unknown } };
    sameContent =
      Array.isArray(value.record?.digests) && value.record.digests.includes(digests.sha256);
  } catch {
    sameContent = false;
  }
  if (!sameContent) {
    throw new CliError(
      'OUTPUT_EXISTS',
      `${shown} exists and is not a receipt for this file's content; move it away or pass --force`,
    );
  }
}

/**
 * Sends the items in batches; a batch that fails as a whole fails its items and stops the rest. A
 * gateway configured for smaller batches refuses the whole request with `BATCH_TOO_LARGE` before
 * depositing anything, so the batch is halved and sent again.
 */
async function send(settings: Settings, items: readonly EvidenceItem[]): Promise<DepositResult[]> {
  const results: DepositResult[] = [];
  let size = DEPOSIT_BATCH_ITEMS;
  while (results.length < items.length) {
    const chunk = items.slice(results.length, results.length + size);
    try {
      results.push(...(await settings.client.depositBatch(chunk, settings.apiKey)));
    } catch (error) {
      const failure = toCliError(error);
      if (failure.code === 'BATCH_TOO_LARGE' && chunk.length > 1) {
        size = Math.ceil(chunk.length / 2);
        continue;
      }
      while (results.length < items.length) results.push(failure);
    }
  }
  return results;
}

/** Checks a returned receipt against the file and writes it. */
async function store(target: Target, receipt: unknown): Promise<void> {
  try {
    checkDigest(checkReceipt(receipt), target.digests);
  } catch (error) {
    throw new CliError(
      'GATEWAY_RESPONSE_INVALID',
      `the gateway returned a receipt that does not fit ${target.file}: ${(error as Error).message}`,
    );
  }
  await writeFileAtomic(target.receiptPath, target.receiptShown, jsonText(receipt));
}

/**
 * The files named: each FILE as it is, each FOLDER as every file under it (receipts and their
 * backups left out), in order.
 * @throws CliError `USAGE` for a folder without a file to deposit.
 */
async function expand(io: CliIo, named: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const name of named) {
    const isFolder = await stat(resolvePath(io, name)).then(
      (info) => info.isDirectory(),
      () => false,
    );
    if (!isFolder) {
      files.push(name);
      continue;
    }
    const inside = (await filesUnder(resolvePath(io, name), name)).filter(
      (file) => !isReceiptOrBackup(file),
    );
    if (inside.length === 0) throw usage(`${name} holds no file to deposit`);
    files.push(...inside.map((file) => join(name, file)));
  }
  return files;
}

async function run(args: readonly string[], io: CliIo): Promise<ExitStatus> {
  const { settings, files: named } = parseSettings(args, io);
  const files = await expand(io, named);
  const { targets, items } = await prepare(io, files, settings);
  const results = await send(settings, items);
  const outcomes: Outcome[] = [];
  for (const target of targets) {
    const result = results[target.item];
    if (result === undefined || result instanceof CliError) {
      outcomes.push(failed(target, result ?? new CliError('INTERNAL', 'no result for this file')));
    } else if ('error' in result) {
      // Refused by the gateway: keep its code, whatever it is; a refusal exits 1.
      outcomes.push({ target, error: result.error, exit: EXIT_NOT_VERIFIED });
    } else {
      try {
        await store(target, result.receipt);
        outcomes.push({ target, status: result.status });
      } catch (error) {
        outcomes.push(failed(target, error));
      }
    }
  }
  report(io, settings, outcomes);
  return worstExitStatus(outcomes.map((o) => ('error' in o ? o.exit : EXIT_OK)));
}

function report(io: CliIo, settings: Settings, outcomes: readonly Outcome[]): void {
  if (settings.json) {
    io.stdout(
      jsonText({
        gateway: settings.client.url,
        results: outcomes.map((outcome) => ({
          file: outcome.target.file,
          size: outcome.target.size,
          digests: outcome.target.digests,
          ...('error' in outcome
            ? { error: outcome.error }
            : { status: outcome.status, receipt: outcome.target.receiptShown }),
        })),
      }),
    );
    return;
  }
  // One line per distinct failure: a request refused as a whole names all its files once.
  const failures = new Map<string, { error: Failure; files: string[] }>();
  for (const outcome of outcomes) {
    if ('error' in outcome) {
      const { error } = outcome;
      const key = error.fields?.length ? `#${failures.size}` : `${error.code}\0${error.message}`;
      const group = failures.get(key) ?? { error, files: [] };
      group.files.push(outcome.target.file);
      failures.set(key, group);
    } else {
      io.stdout(
        `${outcome.status.padEnd(8)}  ${outcome.target.file} -> ${outcome.target.receiptShown}\n`,
      );
    }
  }
  for (const { error, files } of failures.values()) {
    io.stderr(errorText({ ...error, message: `${files.join(', ')}: ${error.message}` }));
  }
}

export const depositCommand: Command = {
  name: 'deposit',
  summary: 'deposit the digests of files at a gateway and save the receipts',
  help: HELP,
  run,
};
