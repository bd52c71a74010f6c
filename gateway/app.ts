/**
 * The HTTP application, built separately from `listen()` so tests drive it with `inject()`.
 *
 * Registration follows Fastify's documented order: ecosystem plugins (OpenAPI and its UI), our
 * infrastructure plugins (error handler, authentication), decorators, hooks, then the route
 * groups, each an encapsulated plugin.
 */

import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { ErrorObject } from 'ajv';
import { ValidationError } from '../core/errors';
import { toFieldErrors } from '../core/schema';
import type { KeyStore } from './auth/api-keys';
import type { Config } from './config';
import { createEvidenceService, type EvidenceService } from './evidence-service';
import type { Ledger } from './ledger/ledger';
import authPlugin from './plugins/auth';
import errorHandlerPlugin from './plugins/error-handler';
import adminKeyRoutes from './routes/admin-keys';
import evidenceRoutes from './routes/evidence';
import healthRoutes from './routes/health';
import publicRoutes from './routes/public';
import { SECURITY_SCHEMES } from './routes/security';
import { SHARED_SCHEMAS } from './schemas';

export interface AppDeps {
  readonly ledger: Ledger;
  readonly keys: KeyStore;
  /** A pino logger; without one the app logs nothing. */
  readonly logger?: FastifyBaseLogger;
  /** Deposits allowed to wait in the group-commit queue (default 50,000). */
  readonly maxQueued?: number;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The evidence service behind the routes (closed with the app; the ledger is not). */
    readonly evidence: EvidenceService;
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
 * Builds the application. Nothing listens until the caller calls `listen()`; plugins load on
 * `ready()`, `listen()` or the first `inject()`. Closing the app drains the deposit queue but
 * leaves the ledger open: its owner closes it.
 */
export function buildApp(config: Config, deps: AppDeps): FastifyInstance {
  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: false }),
    bodyLimit: config.bodyLimit,
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
    // Long garbage in a :digest parameter should be a 400 naming /digest, not an unmatched route.
    routerOptions: { maxParamLength: 1024 },
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });

  const service = createEvidenceService({
    ledger: deps.ledger,
    org: config.org,
    groupCommitMax: config.groupCommitMax,
    groupCommitDelayMs: config.groupCommitDelayMs,
    submitTimeoutMs: config.submitTimeoutMs,
    ...(deps.maxQueued === undefined ? {} : { maxQueued: deps.maxQueued }),
    onInternalError: (error) => app.log.error({ err: error }, 'deposit failed'),
  });

  for (const schema of SHARED_SCHEMAS) app.addSchema(schema);
  // JSON only: Fastify's default text/plain parser would turn a wrong content type into a 400.
  app.removeContentTypeParser('text/plain');

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
        { name: 'operations', description: 'Probes' },
      ],
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) =>
        typeof json.$id === 'string' ? json.$id : `def-${i}`,
    },
  });
  void app.register(swaggerUi, { routePrefix: '/docs' });

  // 2. Our infrastructure plugins.
  void app.register(errorHandlerPlugin);
  void app.register(authPlugin, { keys: deps.keys });

  // 3. Decorators.
  app.decorate('evidence', service);

  // 4. Hooks.
  app.addHook('onClose', async () => service.close());

  // 5. Routes.
  void app.register(healthRoutes, { service });
  void app.register(publicRoutes, { prefix: '/v1', service });
  void app.register(evidenceRoutes, {
    prefix: '/v1',
    service,
    batchMaxItems: config.batchMaxItems,
  });
  void app.register(adminKeyRoutes, { prefix: '/v1', keys: deps.keys });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  return app;
}
