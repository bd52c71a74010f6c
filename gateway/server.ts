/**
 * Running the node: load the configuration, open the ledger and the API keys, build the app,
 * listen, and close everything on SIGTERM/SIGINT. `runNode` returns the process exit status, as a
 * CLI's `main(argv, io)` does; the ledger opener is injected so tests run it against a fake.
 *
 * Exit statuses: 0 stopped by a signal, 1 failed to start or to stop, 2 bad configuration.
 */

import type { EventEmitter } from 'node:events';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import type { NodeKeyAlgorithm } from '../core/block';
import { isEvidenceError, ReplicaError } from '../core/errors';
import { openAuditLog, type AuditLog } from './audit/audit-log';
import { openKeyStore } from './auth/api-keys';
import { buildApp, type AppDeps } from './app';
import { loadConfig, type Config, type LedgerThread } from './config';
import { NEEDS_GENESIS, type ReplicaOptions } from './ledger/embedded-ledger';
import type { Ledger } from './ledger/ledger';
import { configuredSource } from './replica/source';
import { loggerOptions } from './logging';
import { threadedPdfRenderer } from './pdf/pdf-renderer';

export type OpenLedger = (options: {
  dataDir: string;
  org: string;
  chainId?: string;
  /** What new node keys sign with (`EVIDENCE_NODE_KEY_ALGORITHM`); embedded ledger only. */
  nodeKeyAlgorithm?: NodeKeyAlgorithm;
  /** Keep a verified copy of another node's chain (`EVIDENCE_REPLICA_*`, docs/replicas.md). */
  replica?: ReplicaOptions;
  /** Refuse a chain of another organisation than `org` (a node's own chain; not a replica's). */
  requireOrg?: boolean;
  /** Where an embedded ledger runs (`EVIDENCE_LEDGER_THREAD`); other adapters ignore it. */
  thread: LedgerThread;
  /**
   * Called once if the ledger fails for good while the node runs (its thread died): every call
   * fails from then on, so the node stops and exits with status 1 for its supervisor to restart.
   */
  onFailure?: (error: Error) => void;
}) => Promise<Ledger>;

export interface NodeIo {
  readonly stdout: (line: string) => void;
  readonly stderr: (line: string) => void;
}

export interface RunningNode {
  readonly app: FastifyInstance;
  /** `http://host:port` with the port actually bound. */
  readonly url: string;
  /** Closes the app (draining deposits), then the ledger. Safe to call twice. */
  stop(): Promise<void>;
  /** Settles with the error if the ledger fails for good (see {@link OpenLedger}); never rejects. */
  readonly failure: Promise<Error>;
}

export interface StartOptions {
  readonly openLedger: OpenLedger;
  readonly io?: NodeIo;
  /** Pino destination; default stdout. */
  readonly logDestination?: pino.DestinationStream;
}

export interface RunOptions extends StartOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Where SIGTERM/SIGINT arrive; default `process`. */
  readonly signals?: EventEmitter;
  /** Called once the node listens (tests use it to reach and stop the node). */
  readonly onListening?: (node: RunningNode) => void;
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_CONFIG = 2;

const defaultIo: NodeIo = {
  stdout: (line) => process.stdout.write(`${line}\n`),
  stderr: (line) => process.stderr.write(`${line}\n`),
};

function urlOf(host: string, port: number, tls: boolean): string {
  return `${tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** The TLS files the configuration names, read once at start. */
async function readTls(config: Config): Promise<AppDeps['tls']> {
  if (config.tlsCert === undefined || config.tlsKey === undefined) return undefined;
  const [cert, key, ca] = await Promise.all([
    fs.readFile(config.tlsCert),
    fs.readFile(config.tlsKey),
    config.tlsCa === undefined ? undefined : fs.readFile(config.tlsCa),
  ]);
  return ca === undefined ? { cert, key } : { cert, key, ca };
}

/**
 * Opens the ledger and the keys and listens.
 * @throws whatever opening or listening throws; what was opened is closed again first.
 */
export async function startNode(config: Config, options: StartOptions): Promise<RunningNode> {
  const io = options.io ?? defaultIo;
  const logger = pino(
    loggerOptions(config.logLevel),
    options.logDestination ?? pino.destination(1),
  );
  const tls = await readTls(config);
  let failed!: (error: Error) => void;
  const failure = new Promise<Error>((resolve) => (failed = resolve));
  const open = (replica?: ReplicaOptions) =>
    options.openLedger({
      dataDir: config.dataDir,
      org: config.org,
      ...(config.chainId === undefined ? {} : { chainId: config.chainId }),
      ...(config.nodeKeyAlgorithm === undefined
        ? {}
        : { nodeKeyAlgorithm: config.nodeKeyAlgorithm }),
      ...(replica ? { replica } : {}),
      requireOrg: true,
      thread: config.ledgerThread,
      onFailure: (error) => failed(error),
    });
  const ledger = await openReplicaOr(config, open);
  let app: FastifyInstance | undefined;
  let audit: AuditLog | undefined;
  try {
    audit = await openAuditLog({
      dataDir: config.dataDir,
      retentionDays: config.auditRetentionDays,
      onError: (error) => logger.error({ err: error }, 'audit log write failed'),
    });
    const { keys, adminKeyFile } = await openKeyStore({
      file: config.keysFile,
      org: config.org,
      adminKeyFile: path.join(config.dataDir, 'admin.key'),
    });
    app = buildApp(config, {
      ledger,
      keys,
      logger,
      audit,
      pdf: threadedPdfRenderer(),
      ...(tls ? { tls } : {}),
    });
    await app.listen({ host: config.host, port: config.port });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const url = urlOf(config.host, port, tls !== undefined);
    io.stdout(`Evidence node listening on ${url}`);
    io.stdout(`API docs: ${url}/docs`);
    if (adminKeyFile) io.stdout(`First admin API key written to ${adminKeyFile}`);
    const running = app;
    const runningAudit = audit;
    let stopping: Promise<void> | undefined;
    return {
      failure,
      app: running,
      url,
      stop: () => {
        stopping ??= (async () => {
          try {
            await running.close();
          } finally {
            await runningAudit.close().catch(() => undefined);
            await ledger.close();
          }
        })();
        return stopping;
      },
    };
  } catch (error) {
    await app?.close().catch(() => undefined);
    await audit?.close().catch(() => undefined);
    await ledger.close().catch(() => undefined);
    throw error;
  }
}

/**
 * Opens the ledger, as a replica when the configuration says so: a replica restarts from the
 * blocks it holds, even with its source down; only a new one asks the source for block 0 first.
 */
async function openReplicaOr(
  config: Config,
  open: (replica?: ReplicaOptions) => Promise<Ledger>,
): Promise<Ledger> {
  const trust = config.replicaTrust;
  const source = configuredSource(config);
  if (trust === undefined || !source) return open();
  try {
    return await open({ trust });
  } catch (error) {
    if (!(isEvidenceError(error) && error.message === NEEDS_GENESIS)) throw error;
  }
  const answer = await source.blocks(0, 1);
  const genesis = answer.blocks[0];
  if (genesis === undefined)
    throw new ReplicaError('BLOCK_INVALID', 'the source served no block 0');
  return open({ trust, genesis });
}

/** Lines explaining a configuration error: one per bad setting. */
export function describeConfigError(error: unknown): string[] {
  if (!isEvidenceError(error)) return [`configuration error: ${(error as Error).message}`];
  return [
    `${error.code}: ${error.message}`,
    ...(error.fields ?? []).map((field) => `  ${field.path}: ${field.message}`),
  ];
}

/** Runs the node until SIGTERM or SIGINT; resolves with the exit status. */
export async function runNode(options: RunOptions): Promise<number> {
  const io = options.io ?? defaultIo;
  let config: Config;
  try {
    config = loadConfig(options.env ?? process.env);
  } catch (error) {
    for (const line of describeConfigError(error)) io.stderr(line);
    return EXIT_CONFIG;
  }
  let node: RunningNode;
  try {
    node = await startNode(config, options);
  } catch (error) {
    const code = isEvidenceError(error) ? `${error.code}: ` : '';
    io.stderr(`Evidence node failed to start: ${code}${(error as Error).message}`);
    return EXIT_FAILURE;
  }
  const signals = options.signals ?? process;
  return new Promise<number>((resolve) => {
    let stopped = false;
    const stop = (status: number) => {
      if (stopped) return;
      stopped = true;
      signals.off('SIGTERM', onSignal);
      signals.off('SIGINT', onSignal);
      node.stop().then(
        () => resolve(status),
        (error: unknown) => {
          io.stderr(`Evidence node failed to stop cleanly: ${(error as Error).message}`);
          resolve(EXIT_FAILURE);
        },
      );
    };
    const onSignal = (signal: string) => {
      node.app.log.info({ signal }, 'stopping');
      stop(EXIT_OK);
    };
    signals.on('SIGTERM', onSignal);
    signals.on('SIGINT', onSignal);
    void node.failure.then((error) => {
      if (stopped) return;
      node.app.log.fatal({ err: error }, 'the ledger failed; stopping');
      io.stderr(`Evidence node stopping: ${error.message}`);
      stop(EXIT_FAILURE);
    });
    options.onListening?.(node);
  });
}
