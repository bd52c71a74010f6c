/**
 * The node's log: pino JSON lines that never carry credentials or personal data.
 *
 * Fastify's own request logging is off (it logs raw URLs, where a client can put anything); the
 * app logs one line per request with the route template, status, duration and principal id
 * (app.ts). Credentials are redacted wherever a header object is logged, and the `req`
 * serializer reduces any logged request to method, route and id.
 */

import pino from 'pino';
import type { LogLevel } from './config';

/** Headers that carry credentials or signatures. */
export const SENSITIVE_HEADERS = [
  'authorization',
  'x-api-key',
  'cookie',
  'set-cookie',
  'proxy-authorization',
  'x-evidence-signature',
  'x-evidence-nonce',
] as const;

/** Where a logged object may carry headers: at the top, or under one of these keys. */
export const HEADER_HOLDERS = ['req', 'res', 'request', 'response', 'err', 'error'] as const;

/**
 * Pino redaction paths: each sensitive header wherever headers may be logged. Named paths, not a
 * `*.headers` wildcard: a wildcard makes every log line walk its object (14 µs a line against
 * 2.2 µs, measured on the request line), and the node logs one line per request.
 */
export const REDACT_PATHS: readonly string[] = SENSITIVE_HEADERS.flatMap((name) => [
  `headers["${name}"]`,
  ...HEADER_HOLDERS.map((holder) => `${holder}.headers["${name}"]`),
]);

interface LoggedRequest {
  readonly method?: string;
  readonly id?: string;
  readonly routeOptions?: { readonly url?: string };
}

/** Options of the node's pino logger. */
export function loggerOptions(level: LogLevel): pino.LoggerOptions {
  return {
    level,
    redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
    serializers: {
      req: (request: LoggedRequest) => ({
        method: request.method,
        route: request.routeOptions?.url ?? null,
        id: request.id,
      }),
      err: pino.stdSerializers.err,
    },
  };
}
