/**
 * The HTTP application, built separately from `listen()` so tests drive it with `inject()`.
 *
 * Registration follows Fastify's documented order: ecosystem plugins (OpenAPI and its UI), our
 * infrastructure plugins (error handler, authentication), decorators, hooks, then the route
 * groups, each an encapsulated plugin.
 */

import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  LogController,
} from 'fastify';
import type { ErrorObject } from 'ajv';
import { ValidationError } from '../core/errors';
import { findPersonalData } from '../core/personal-data';
import { toFieldErrors } from '../core/schema';
import type { AuditLog } from './audit/audit-log';
import type { KeyStore } from './auth/api-keys';
import { createAgreementService, type AgreementService } from './agreement-service';
import { createBackupService, type BackupService } from './backup';
import type { Config } from './config';
import { toHttpError } from './http-errors';
import { createDossierBuilder } from './dossier';
import { inlinePdfRenderer, type PdfRenderer } from './pdf/pdf-renderer';
import { createEvidenceService, type EvidenceService } from './evidence-service';
import type { Ledger } from './ledger/ledger';
import anchoringPlugin, { type AnchoringOverrides } from './plugins/anchoring';
import auditPlugin from './plugins/audit';
import authPlugin from './plugins/auth';
import errorHandlerPlugin from './plugins/error-handler';
import limitsPlugin from './plugins/limits';
import metricsPlugin from './plugins/metrics';
import { createMetrics, type NodeMetrics } from './metrics';
import adminBackupRoutes, { backupSchema } from './routes/admin-backups';
import adminNodeKeyRoutes from './routes/admin-node-keys';
import adminPrincipalRoutes from './routes/admin-principals';
import auditRoutes, { auditEntrySchema } from './routes/audit';
import adminKeyRoutes from './routes/admin-keys';
import anchorRoutes from './routes/anchors';
import anchoringRoutes from './routes/anchoring';
import documentRoutes from './routes/documents';
import agreementRoutes from './routes/agreements';
import evidenceRoutes from './routes/evidence';
import healthRoutes from './routes/health';
import publicRoutes from './routes/public';
import replicaRoutes from './routes/replica';
import {
  SOURCE_HEIGHT_FILE,
  createReplicaFollower,
  type ReplicaFollower,
} from './replica/follower';
import { ForkRecord, type ForkTarget } from './replica/forks';
import { configuredSource, type ReplicaSource } from './replica/source';
import verifyPageRoutes from './routes/verify-page';
import { SECURITY_SCHEMES } from './routes/security';
import { withLinks, withOptionalBodies } from './openapi-document';
import { SHARED_SCHEMAS } from './schemas';

export interface AppDeps {
  readonly ledger: Ledger;
  readonly keys: KeyStore;
  /** A pino logger; without one the app logs nothing. */
  readonly logger?: FastifyBaseLogger;
  /** Deposits allowed to wait in the group-commit queue (default `config.maxQueued`). */
  readonly maxQueued?: number;
  /** The audit log every `/v1` request is recorded in; without one nothing is recorded. */
  readonly audit?: AuditLog;
  /** TLS material (PEM) read from `config.tlsCert`, `tlsKey`, `tlsCa`; without it, plain HTTP. */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer; readonly ca?: Buffer };
  /** Epoch milliseconds for the signed-request time window (tests). */
  readonly requestClock?: () => number;
  /** Event-loop sampling interval of load shedding, ms (tests). */
  readonly pressureSampleIntervalMs?: number;
  /** Anchor targets instead of `config.anchorTargets`, and a job without timer (tests). */
  readonly anchoring?: AnchoringOverrides;
  /** Epoch milliseconds: the ledger's clock, which the agreement scheduler follows (tests). */
  readonly clock?: () => number;
  /** Folder of the built verification page (default: `dist/web`, routes/verify-page.ts). */
  readonly webDir?: string;
  /** The metrics to record into (default: a fresh set in its own registry). */
  readonly metrics?: NodeMetrics;
  /** Where PDFs are rendered; default on this thread (the node passes a thread of their own). */
  readonly pdf?: PdfRenderer;
  /** A replica's source instead of `config.replicaSource`, and a job without timer (tests). */
  readonly replica?: { readonly source: ReplicaSource; readonly manual?: boolean };
}

/**
 * An incoming `x-request-id` is kept (logged, audited, echoed) when it is a plain token that holds
 * no personal data, so a caller can trace its call; anything else gets a fresh UUID.
 */
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

function requestIdOf(incoming: unknown): string {
  return typeof incoming === 'string' &&
    SAFE_REQUEST_ID.test(incoming) &&
    findPersonalData(incoming) === undefined
    ? incoming
    : randomUUID();
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The evidence service behind the routes (closed with the app; the ledger is not). */
    readonly evidence: EvidenceService;
    /** Mediation agreements: transitions, the event stream and the due-date scheduler. */
    readonly agreements: AgreementService;
    /** Online backups (`EVIDENCE_BACKUP_DIR`). */
    readonly backups: BackupService;
  }
}

/** Fastify's schema errors, as our one validation error with every field as a JSON pointer. */
function schemaErrorFormatter(errors: unknown, dataVar: string): Error {
  const fields = toFieldErrors(errors as ErrorObject[]);
  return new ValidationError(
    'VALIDATION_FAILED',
    `${dataVar} is invalid (${fields.length} problem${fields.length > 1 ? 's' : ''})`,
    fields,
  );
}

/**
 * Node server options. Node checks request timeouts every `connectionsCheckingInterval` (30 s by
 * default): check often enough for `requestTimeoutMs` to mean what it says.
 */
function serverOptions(config: Config) {
  return {
    connectionsCheckingInterval: Math.min(30_000, Math.max(250, config.requestTimeoutMs / 4)),
  };
}

/** Node TLS server options: the certificate, and with a CA, client certificates (mutual TLS). */
function httpsOptions(config: Config, tls: NonNullable<AppDeps['tls']>) {
  return {
    cert: tls.cert,
    key: tls.key,
    minVersion: 'TLSv1.2' as const,
    ...(tls.ca
      ? {
          ca: tls.ca,
          requestCert: true,
          // `optional`: a client without a certificate may still use an API key or a signature;
          // a certificate that does not chain to the CA is refused by the auth plugin.
          rejectUnauthorized: config.tlsClientAuth === 'require',
        }
      : {}),
  };
}

/**
 * Builds the application. Nothing listens until the caller calls `listen()`; plugins load on
 * `ready()`, `listen()` or the first `inject()`. Closing the app drains the deposit queue but
 * leaves the ledger open: its owner closes it.
 */
export function buildApp(config: Config, deps: AppDeps): FastifyInstance {
  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: false }),
    ...(deps.tls
      ? { https: { ...httpsOptions(config, deps.tls), ...serverOptions(config) } }
      : { http: serverOptions(config) }),
    bodyLimit: config.bodyLimit,
    // Slow clients (slowloris) and idle sockets are cut off; see config.ts for the bounds.
    requestTimeout: config.requestTimeoutMs,
    connectionTimeout: config.connectionTimeoutMs,
    // Fastify logs raw URLs, which a client controls: one safe line per request instead (below).
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: (request) => requestIdOf(request.headers['x-request-id']),
    // Reject what does not fit instead of repairing it: no coercion, no defaults, no silently
    // dropped properties, and every error at once (bodies are bounded by bodyLimit).
    ajv: {
      customOptions: {
        allErrors: true,
        removeAdditional: false,
        coerceTypes: false,
        useDefaults: false,
      },
    },
    schemaErrorFormatter,
    // Errors the router raises before any route runs (a bad URL encoding, a parameter longer
    // than maxParamLength) get our error shape too, without echoing the URL.
    frameworkErrors: (error, _request, reply) => {
      const mapped = toHttpError(error);
      const raw = reply as unknown as FastifyReply;
      void raw.code(mapped.body.statusCode).headers(mapped.headers).send(mapped.body);
    },
    // Long garbage in a :digest parameter should be a 400 naming /digest, not an unmatched route.
    routerOptions: { maxParamLength: 1024 },
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });

  const metrics =
    deps.metrics ??
    createMetrics({
      queue: () => ({ waiting: service.waiting, inFlight: service.inFlight }),
      ledgerThreadId: () => deps.ledger.osThreadId,
    });
  const service = createEvidenceService({
    ledger: deps.ledger,
    org: config.org,
    groupCommitMax: config.groupCommitMax,
    groupCommitDelayMs: config.groupCommitDelayMs,
    submitTimeoutMs: config.submitTimeoutMs,
    maxQueued: deps.maxQueued ?? config.maxQueued,
    onInternalError: (error) => app.log.error({ err: error }, 'deposit failed'),
    metrics: metrics.deposits,
  });

  const agreements = createAgreementService({
    ledger: deps.ledger,
    evidence: service,
    org: config.org,
    dataDir: config.dataDir,
    submitTimeoutMs: config.submitTimeoutMs,
    checkIntervalMs: config.agreementCheckIntervalMs,
    eventCapacity: config.agreementEventsBuffer,
    ...(deps.clock ? { clock: deps.clock } : {}),
    onError: (error, message) => app.log.error({ err: error }, message),
    scheduling: !deps.ledger.isReplica?.(),
  });
  // A replica's source, read once (its key file) for the replica's job and its fork notices.
  const source = deps.ledger.isReplica?.()
    ? (deps.replica?.source ?? configuredSource(config))
    : undefined;
  const forks = forkRecordOf(config, deps, metrics, app.log, source);
  const follower = replicaFollowerOf(config, deps, metrics, app.log, forks, source);

  for (const schema of SHARED_SCHEMAS) app.addSchema(schema);
  app.addSchema(auditEntrySchema);
  app.addSchema(backupSchema);
  // JSON only: Fastify's default text/plain parser would turn a wrong content type into a 400.
  app.removeContentTypeParser('text/plain');

  // 0. Our error shape first: a route takes the error handler set before it is added, so every
  // route (the documentation's and the metrics' included) answers a refusal such as load
  // shedding with its code and status, never as a 500.
  void app.register(errorHandlerPlugin);

  // 1. Ecosystem plugins.
  void app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Judicial evidence node',
        description:
          'Deposit evidence digests and get receipts that a judge verifies offline. Errors are ' +
          '`{ statusCode, code, message, fields? }` with stable codes.',
        version: '1',
      },
      components: { securitySchemes: SECURITY_SCHEMES },
      tags: [
        { name: 'evidence', description: 'Deposits, reads, receipts and annotations (API key)' },
        { name: 'public', description: 'No API key' },
        { name: 'admin', description: 'API keys (admin role)' },
        { name: 'agreements', description: 'Mediation agreements watched on chain (API key)' },
        { name: 'anchors', description: 'Cross-chain anchors: recorded here, and of this chain' },
        { name: 'audit', description: 'The hash-chained audit log (auditor role)' },
        { name: 'replicas', description: "Whole blocks, and a replica's copy of another chain" },
        { name: 'operations', description: 'Probes' },
      ],
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) =>
        typeof json.$id === 'string' ? json.$id : `def-${i}`,
    },
    transformObject: (document) =>
      'openapiObject' in document
        ? withLinks(withOptionalBodies(document.openapiObject))
        : document.swaggerObject,
  });
  void app.register(swaggerUi, { routePrefix: '/docs' });

  // 2. Our infrastructure plugins.
  void app.register(metricsPlugin, { metrics });
  void app.register(limitsPlugin, {
    rateLimitMax: config.rateLimitMax,
    rateLimitWindowMs: config.rateLimitWindowMs,
    maxEventLoopDelayMs: config.maxEventLoopDelayMs,
    ...(deps.pressureSampleIntervalMs ? { sampleIntervalMs: deps.pressureSampleIntervalMs } : {}),
  });
  void app.register(authPlugin, {
    keys: deps.keys,
    signatureWindowMs: config.signatureWindowMs,
    nonceCacheMax: config.nonceCacheMax,
    ...(deps.requestClock ? { clock: deps.requestClock } : {}),
  });
  if (deps.audit) void app.register(auditPlugin, { audit: deps.audit });
  void app.register(anchoringPlugin, {
    config,
    ledger: deps.ledger,
    ...(deps.anchoring ? { overrides: deps.anchoring } : {}),
  });

  // 3. Decorators.
  app.decorate('evidence', service);
  app.decorate('agreements', agreements);
  const backups = createBackupService({
    dir: config.backupDir,
    sources: {
      ledger: deps.ledger,
      agreements,
      anchoring: { copyStore: (location) => app.anchoring.copyStore(location) },
      ...(deps.audit ? { audit: deps.audit } : {}),
      keysFile: config.keysFile,
      ...(deps.ledger.isReplica?.()
        ? { extraFiles: [path.join(config.dataDir, SOURCE_HEIGHT_FILE)] }
        : {}),
    },
    onError: (error, id) =>
      app.log.error(
        { err: error, backup: id ?? null },
        id ? 'backup failed' : 'backup directory unreadable',
      ),
    metrics: metrics.backups,
    // A backup holds the node key: every one that finished is in the audit log, even scheduled.
    onFinished: (view) =>
      deps.audit?.append({
        type: 'backup',
        params: { id: view.id, state: view.state },
        ...(view.error ? { code: view.error.code } : {}),
      }),
    intervalMs: config.backupIntervalMs,
    keep: config.backupKeep,
    ...(deps.clock ? { clock: deps.clock } : {}),
  });
  app.decorate('backups', backups);

  // 4. Hooks.
  app.addHook('onClose', async () => service.close());
  // The request id is in the audit log; returning it lets a client name its request.
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.addHook('onResponse', async (request, reply) => {
    request.log.info(
      {
        method: request.method,
        route: request.routeOptions.url ?? null,
        statusCode: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
        principal: request.principal?.keyId ?? null,
      },
      'request completed',
    );
  });
  // The scheduler starts once the app is ready; event streams end before connections are closed.
  app.addHook('onReady', async () => agreements.start());
  app.addHook('onReady', async () => backups.open());
  app.addHook('onReady', async () => {
    // The signing key's age, for alerts on a rotation policy: from its rotation, or block 0.
    const current = deps.ledger.nodeKeys?.().at(-1);
    if (!current) return;
    const since = current.notBefore ?? (await deps.ledger.blockHeader?.(0))?.header.time;
    if (since !== undefined) metrics.nodeKey.current(Date.parse(since), current);
  });
  app.addHook('preClose', async () => agreements.closeStreams());
  // A running backup finishes before anything closes (onClose hooks run last-added first, and
  // plugins' before the app's): preClose runs before all of them.
  app.addHook('preClose', async () => backups.close());
  app.addHook('onClose', async () => agreements.close());
  if (forks) {
    // Read back before the replica's job starts: a proof kept stops it.
    app.addHook('onReady', async () => void (await forks.load()));
    app.addHook('onClose', async () => forks.close());
  }
  if (follower) {
    app.addHook('onReady', async () => follower.start());
    app.addHook('onClose', async () => follower.close());
  }

  // 5. Routes.
  void app.register(healthRoutes, { service });
  void app.register(publicRoutes, { prefix: '/v1', service });
  void app.register(evidenceRoutes, {
    prefix: '/v1',
    service,
    batchMaxItems: config.batchMaxItems,
  });
  void app.register(adminKeyRoutes, { prefix: '/v1', keys: deps.keys });
  void app.register(adminPrincipalRoutes, { prefix: '/v1', keys: deps.keys });
  void app.register(adminBackupRoutes, { prefix: '/v1', backups });
  void app.register(adminNodeKeyRoutes, {
    prefix: '/v1',
    ledger: deps.ledger,
    backups,
    ...(deps.audit ? { audit: deps.audit } : {}),
    onRotated: (rotation) => metrics.nodeKey.rotated(Date.parse(rotation.time), rotation),
  });
  if (deps.audit) void app.register(auditRoutes, { prefix: '/v1', audit: deps.audit });
  void app.register(anchorRoutes, { prefix: '/v1', ledger: deps.ledger, config });
  void app.register(anchoringRoutes, { prefix: '/v1', config });
  void app.register(replicaRoutes, {
    prefix: '/v1',
    ledger: deps.ledger,
    ...(follower ? { follower } : {}),
    ...(forks ? { forks } : {}),
  });
  void app.register(agreementRoutes, {
    prefix: '/v1',
    agreements,
    heartbeatMs: config.agreementEventsHeartbeatMs,
  });
  const pdf = deps.pdf ?? inlinePdfRenderer();
  app.addHook('onClose', async () => pdf.close());
  void app.register(documentRoutes, {
    prefix: '/v1',
    service,
    config,
    pdf,
    dossier: createDossierBuilder({
      config,
      ledger: deps.ledger,
      anchoring: () => app.anchoring.status(),
      ...(deps.audit ? { audit: deps.audit } : {}),
      backups: () => backups.dossier(),
      ...(forks ? { fork: () => forks.current() } : {}),
    }),
  });
  void app.register(verifyPageRoutes, deps.webDir ? { webDir: deps.webDir } : {});
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  return app;
}

/**
 * The node's record of a fork of its chain (replica/forks.ts), on a ledger that keeps whole
 * blocks: told to the fork peers and, on a replica, to its source.
 */
function forkRecordOf(
  config: Config,
  deps: AppDeps,
  metrics: NodeMetrics,
  log: FastifyBaseLogger,
  source: ReplicaSource | undefined,
): ForkRecord | undefined {
  if (!deps.ledger.rawBlocks) return undefined;
  const replica = deps.ledger.isReplica?.() === true;
  const targets: ForkTarget[] = [
    ...(source?.apiKey !== undefined
      ? [{ name: 'source', url: source.url, apiKey: source.apiKey }]
      : []),
    ...config.forkPeers,
  ];
  return new ForkRecord({
    dataDir: config.dataDir,
    targets,
    logger: log.child({ component: 'forks' }),
    onKept: (proof, origin) =>
      deps.audit?.append({
        type: 'fork',
        params: { chainId: proof.chainId, block: String(proof.number), how: origin.how },
      }),
    onForked: () => {
      metrics.chainForked();
      if (replica) metrics.replica.forked();
    },
  });
}

/** The replica's job, on a replica with its source (`config.replicaSource`, or `deps.replica`). */
function replicaFollowerOf(
  config: Config,
  deps: AppDeps,
  metrics: NodeMetrics,
  log: FastifyBaseLogger,
  forks: ForkRecord | undefined,
  source: ReplicaSource | undefined,
): ReplicaFollower | undefined {
  if (!source) return undefined;
  return createReplicaFollower({
    ledger: deps.ledger,
    source,
    dataDir: config.dataDir,
    ...(forks ? { forks } : {}),
    intervalMs: config.replicaIntervalMs,
    metrics: metrics.replica,
    ...(deps.replica?.manual ? { manual: true } : {}),
    ...(deps.clock ? { clock: deps.clock } : {}),
    logger: log.child({ component: 'replica' }),
  });
}
