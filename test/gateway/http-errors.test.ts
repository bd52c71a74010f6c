import { describe, expect, it } from 'vitest';
import {
  AccessError,
  ERROR_CODES,
  EvidenceError,
  LedgerError,
  ValidationError,
} from '../../core/errors';
import { HTTP_STATUS, toHttpError } from '../../gateway/http-errors';

describe('toHttpError', () => {
  it('maps every code in core to a status', () => {
    for (const code of ERROR_CODES) expect(HTTP_STATUS[code], code).toBeGreaterThanOrEqual(400);
    expect(Object.keys(HTTP_STATUS).sort()).toEqual([...ERROR_CODES].sort());
  });

  it('maps the documented statuses', () => {
    expect(HTTP_STATUS).toMatchObject({
      VALIDATION_FAILED: 400,
      INVALID_JSON: 400,
      DUPLICATE_IN_BATCH: 400,
      BATCH_ROOT_MISMATCH: 400,
      BODY_TOO_LARGE: 413,
      BATCH_TOO_LARGE: 413,
      UNSUPPORTED_MEDIA_TYPE: 415,
      UNAUTHENTICATED: 401,
      FORBIDDEN: 403,
      DEPOSITOR_MISMATCH: 403,
      EVIDENCE_NOT_FOUND: 404,
      RECEIPT_NOT_FOUND: 404,
      NOT_FOUND: 404,
      CONFLICT: 409,
      OVERLOADED: 503,
      LEDGER_UNAVAILABLE: 503,
      LEDGER_TIMEOUT: 504,
      STORAGE_FULL: 507,
      LEDGER_CORRUPTED: 500,
      INTERNAL: 500,
    });
  });

  it('keeps code, message and fields of our errors', () => {
    const fields = [{ path: '/a', rule: 'required', message: 'x' }];
    expect(toHttpError(new ValidationError('VALIDATION_FAILED', 'bad', fields))).toEqual({
      body: { statusCode: 400, code: 'VALIDATION_FAILED', message: 'bad', fields },
      headers: {},
      internal: false,
    });
    expect(toHttpError(new AccessError('FORBIDDEN', 'no')).body).toEqual({
      statusCode: 403,
      code: 'FORBIDDEN',
      message: 'no',
    });
  });

  it('reads codes from errors of another realm by shape', () => {
    expect(toHttpError({ code: 'EVIDENCE_NOT_FOUND', message: 'gone' }).body.statusCode).toBe(404);
  });

  it('sets Retry-After for try-again-later codes', () => {
    expect(toHttpError(new LedgerError('OVERLOADED', 'busy')).headers).toEqual({
      'retry-after': '1',
    });
    expect(toHttpError(new LedgerError('LEDGER_UNAVAILABLE', 'down')).headers).toEqual({
      'retry-after': '5',
    });
    expect(toHttpError(new LedgerError('LEDGER_TIMEOUT', 'slow')).headers).toEqual({});
  });

  it('hides unknown errors behind INTERNAL', () => {
    const mapped = toHttpError(new Error('password=hunter2 at /etc/secret'));
    expect(mapped.body).toEqual({ statusCode: 500, code: 'INTERNAL', message: 'internal error' });
    expect(mapped.internal).toBe(true);
    expect(toHttpError(undefined).body.code).toBe('INTERNAL');
    expect(toHttpError(new EvidenceError('INTERNAL', 'chaincode failed')).internal).toBe(true);
  });

  it('translates Fastify errors into our codes', () => {
    const fastify = (code: string, statusCode: number) =>
      Object.assign(new Error('fastify text'), { code, statusCode });
    expect(toHttpError(fastify('FST_ERR_CTP_INVALID_MEDIA_TYPE', 415)).body.code).toBe(
      'UNSUPPORTED_MEDIA_TYPE',
    );
    expect(toHttpError(fastify('FST_ERR_CTP_BODY_TOO_LARGE', 413)).body.code).toBe(
      'BODY_TOO_LARGE',
    );
    expect(toHttpError(fastify('FST_ERR_CTP_INVALID_JSON_BODY', 400)).body.code).toBe(
      'INVALID_JSON',
    );
    expect(toHttpError(fastify('FST_ERR_CTP_EMPTY_JSON_BODY', 400)).body.code).toBe('INVALID_JSON');
    expect(toHttpError(fastify('FST_ERR_SOMETHING_NEW', 400)).body).toMatchObject({
      statusCode: 400,
      code: 'VALIDATION_FAILED',
    });
    expect(toHttpError(fastify('FST_ERR_SOMETHING_NEW', 400)).body.fields).toEqual([
      { path: '', rule: 'request', message: 'the request is malformed' },
    ]);
    expect(toHttpError(fastify('FST_ERR_SOMETHING_NEW', 404)).body.code).toBe('NOT_FOUND');
    expect(toHttpError(fastify('FST_ERR_SOMETHING_NEW', 500)).body.code).toBe('INTERNAL');
    const validation = Object.assign(new Error('x'), {
      validation: [
        {
          instancePath: '/a',
          keyword: 'type',
          params: {},
          message: 'must be string',
          schemaPath: '#',
        },
      ],
    });
    expect(toHttpError(validation).body).toEqual({
      statusCode: 400,
      code: 'VALIDATION_FAILED',
      message: 'request is invalid',
      fields: [{ path: '/a', rule: 'type', message: 'must be string' }],
    });
  });

  it('shows header names with hyphens in field paths, and still masks made-up tokens', () => {
    const fields = (path: string) =>
      toHttpError(
        new ValidationError('VALIDATION_FAILED', 'bad', [{ path, rule: 'r', message: 'm' }]),
      ).body.fields;
    expect(fields('/last-event-id')).toEqual([{ path: '/last-event-id', rule: 'r', message: 'm' }]);
    expect(fields('/x-evidence-nonce/0')).toEqual([
      { path: '/x-evidence-nonce/0', rule: 'r', message: 'm' },
    ]);
    expect(fields('/13800138000')?.[0]?.path).toBe('/*');
    expect(fields('/has space')?.[0]?.path).toBe('/*');
    expect(fields('/-leading')?.[0]?.path).toBe('/*');
  });
});
