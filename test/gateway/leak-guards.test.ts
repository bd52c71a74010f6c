import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { safePointer, toHttpError } from '../../gateway/http-errors';
import { HEADER_HOLDERS, loggerOptions, SENSITIVE_HEADERS } from '../../gateway/logging';
import { LogCapture } from './security-helpers';

describe('what errors and logs may carry', () => {
  it('shows schema property names and indices in field pointers, and * for anything else', () => {
    expect(safePointer('')).toBe('');
    expect(safePointer('/items/12/digests/0')).toBe('/items/12/digests/0');
    expect(safePointer('/张三')).toBe('/*');
    expect(safePointer('/x13812345678/a')).toBe('/*/a');
    expect(safePointer('/a~1b/has space')).toBe('/*/*');
    const mapped = toHttpError({
      validation: [
        {
          keyword: 'additionalProperties',
          instancePath: '',
          schemaPath: '#/additionalProperties',
          params: { additionalProperty: '欧阳娜娜' },
          message: 'must NOT have additional properties',
        },
      ],
    });
    expect(mapped.body.fields).toEqual([
      { path: '/*', rule: 'additionalProperties', message: 'must NOT have additional properties' },
    ]);
  });

  it('answers Fastify client errors in our words, never quoting the request', () => {
    const mapped = toHttpError({
      statusCode: 400,
      code: 'FST_ERR_BAD_URL',
      message: "'/v1/13812345678%zz' is not a valid url component",
    });
    expect(mapped.body).toEqual({
      statusCode: 400,
      code: 'VALIDATION_FAILED',
      message: 'the request is malformed',
      fields: [{ path: '', rule: 'request', message: 'the request is malformed' }],
    });
  });

  it('maps a write on a full disk outside the ledger to 507 STORAGE_FULL', () => {
    const error = Object.assign(new Error('ENOSPC: no space left on device, write'), {
      code: 'ENOSPC',
    });
    expect(toHttpError(error).body.code).toBe('STORAGE_FULL');
    expect(toHttpError(error).body.statusCode).toBe(507);
  });

  it('maps the security codes: 401 for credentials, 429 for rate limits', () => {
    for (const code of [
      'STALE_TIMESTAMP',
      'REPLAYED_NONCE',
      'BAD_SIGNATURE',
      'SIGNATURE_REQUIRED',
    ]) {
      expect(toHttpError({ code, message: 'x' }).body.statusCode, code).toBe(401);
    }
    expect(toHttpError({ code: 'RATE_LIMITED', message: 'x' }).body.statusCode).toBe(429);
  });

  it('redacts credentials wherever headers are logged, and logs requests without their URL', () => {
    const capture = new LogCapture();
    const logger = pino(loggerOptions('info'), capture);
    const headers = Object.fromEntries(SENSITIVE_HEADERS.map((name) => [name, `secret-${name}`]));
    logger.info({ req: { headers } }, 'a');
    logger.info({ headers }, 'b');
    logger.info({ request: { headers } }, 'c');
    for (const holder of HEADER_HOLDERS) logger.info({ [holder]: { headers } }, holder);
    logger.info(
      { req: { method: 'GET', url: '/v1/evidence/13812345678', id: 'r1', headers } },
      'd',
    );
    for (const name of SENSITIVE_HEADERS) expect(capture.text).not.toContain(`secret-${name}`);
    expect(capture.text).toContain('[redacted]');
    expect(capture.text).not.toContain('13812345678');
  });
});
