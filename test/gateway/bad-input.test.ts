import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, getWith, itemFor, makeTestApp, postJson, type TestApp } from './helpers';

const HEX = 'a'.repeat(64);

interface ErrorBody {
  statusCode: number;
  code: string;
  message: string;
  fields?: { path: string; rule: string; message: string }[];
}

describe('bad input', () => {
  let t: TestApp;
  let key: string;
  let court: string;

  beforeAll(async () => {
    t = await makeTestApp({ config: { bodyLimit: 4096, batchMaxItems: 5 } });
    key = await t.keyFor('depositor');
    court = await t.keyFor('court', 'CourtOrg', 'judge-1');
  });
  afterAll(async () => {
    await t.close();
  });

  function fieldsOf(body: ErrorBody): [string, string][] {
    return (body.fields ?? []).map((field) => [field.path, field.rule]);
  }

  it('answers malformed JSON with 400 INVALID_JSON', async () => {
    const response = await postJson(t.app, '/v1/evidence', key, '{"digests": [');
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(response.json()).toEqual({
      statusCode: 400,
      code: 'INVALID_JSON',
      message: 'the body is not valid JSON',
      fields: [{ path: '', rule: 'json', message: 'body is not valid JSON' }],
    });
  });

  it('answers an empty JSON body and a prototype-poisoning body with 400 INVALID_JSON', async () => {
    expect((await postJson(t.app, '/v1/evidence', key, '')).json().code).toBe('INVALID_JSON');
    const poisoned = await postJson(
      t.app,
      '/v1/evidence',
      key,
      `{"digests":["sha256:${HEX}"],"__proto__":{"x":1}}`,
    );
    expect(poisoned.statusCode).toBe(400);
    expect(poisoned.json().code).toBe('INVALID_JSON');
  });

  it('names the keys of a body refused for poisoning a prototype, as valid JSON', async () => {
    const body =
      `{"digests":["sha256:${HEX}"],"__proto__":{"x":1},` +
      `"meta":[{"constructor":{"prototype":{"y":2}}}],"n":{"\\u005f_proto__":1}}`;
    const response = await postJson(t.app, '/v1/evidence', key, body);
    expect(response.statusCode).toBe(400);
    const answer = response.json<ErrorBody>();
    expect(answer.code).toBe('INVALID_JSON');
    expect(answer.message).toMatch(/__proto__/);
    expect(fieldsOf(answer).sort()).toEqual([
      ['/__proto__', 'forbiddenKey'],
      ['/meta/0/constructor/prototype', 'forbiddenKey'],
      ['/n/__proto__', 'forbiddenKey'],
    ]);
    // A real syntax error keeps its own answer.
    const broken = await postJson(t.app, '/v1/evidence', key, '{"__proto__": ');
    expect(fieldsOf(broken.json())).toEqual([['', 'json']]);
  });

  it('answers a method a path does not have with 405 and the methods it has in Allow', async () => {
    const cases: Array<[string, string, string]> = [
      ['POST', '/v1/chain', 'GET, HEAD'],
      ['DELETE', '/v1/evidence', 'POST'],
      ['PUT', `/v1/evidence/sha256:${HEX}`, 'GET, HEAD'],
      ['PROPFIND', '/v1/chain', 'GET, HEAD'],
      // A static path beside a parametric one (/v1/evidence/:digest) for other methods.
      ['GET', '/v1/evidence/batch', 'POST'],
    ];
    for (const [method, url, allow] of cases) {
      const response = await t.app.inject({ method: method as 'GET', url, headers: bearer(key) });
      expect([method, response.statusCode, response.headers.allow]).toEqual([method, 405, allow]);
      expect(response.json()).toMatchObject({ code: 'METHOD_NOT_ALLOWED' });
      expect(response.body).not.toContain(HEX);
    }
    const nowhere = await t.app.inject({ method: 'POST', url: '/v1/no/such/route' });
    expect([nowhere.statusCode, nowhere.headers.allow]).toEqual([404, undefined]);
    // A body that would be refused on a route is not what is wrong with a request to none.
    const badBody = await postJson(t.app, '/v1/chain', key, '{"broken": ');
    expect([badBody.statusCode, badBody.json().code]).toEqual([405, 'METHOD_NOT_ALLOWED']);
  });

  it('answers a QUERY request, which Fastify checks for a Content-Type first, as any other method', async () => {
    const known = await t.app.inject({ method: 'QUERY', url: '/v1/chain' });
    expect([known.statusCode, known.headers.allow, known.json().code]).toEqual([
      405,
      'GET, HEAD',
      'METHOD_NOT_ALLOWED',
    ]);
    const unknown = await t.app.inject({ method: 'QUERY', url: '/no/such/route' });
    expect([unknown.statusCode, unknown.json().code]).toEqual([404, 'NOT_FOUND']);
  });

  it('names a digest of the wrong length, alphabet or algorithm', async () => {
    const response = await postJson(t.app, '/v1/evidence', key, {
      digests: [`sha256:${'a'.repeat(63)}`, `sm3:${'G'.repeat(64)}`, `md5:${HEX}`],
    });
    expect(response.statusCode).toBe(400);
    const body = response.json() as ErrorBody;
    expect(body.code).toBe('VALIDATION_FAILED');
    expect(fieldsOf(body)).toEqual([
      ['/digests', 'maxItems'],
      ['/digests/0', 'pattern'],
      ['/digests/1', 'pattern'],
      ['/digests/2', 'pattern'],
    ]);
  });

  it('names a missing sha256 digest and a repeated algorithm (rules beyond the schema)', async () => {
    const onlySm3 = await postJson(t.app, '/v1/evidence', key, { digests: [`sm3:${HEX}`] });
    expect(onlySm3.statusCode).toBe(400);
    expect(fieldsOf(onlySm3.json())).toEqual([['/digests', 'digestPrimary']]);
    const twice = await postJson(t.app, '/v1/evidence', key, {
      digests: [`sha256:${HEX}`, `sha256:${'b'.repeat(64)}`],
    });
    expect(fieldsOf(twice.json())).toEqual([['/digests/1', 'digestAlgorithmUnique']]);
  });

  it('names missing and extra fields, and wrong types, all at once', async () => {
    const response = await postJson(t.app, '/v1/evidence', key, {
      evidenceType: 'diary',
      size: -1,
      mediaType: 'PDF',
      depositor: { org: 'x', account: 'y' },
      process: { token: 'ok' },
    });
    expect(response.statusCode).toBe(400);
    const body = response.json() as ErrorBody;
    expect(body.code).toBe('VALIDATION_FAILED');
    expect(fieldsOf(body)).toEqual([
      ['/digests', 'required'],
      ['/depositor', 'additionalProperties'],
      ['/evidenceType', 'enum'],
      ['/mediaType', 'pattern'],
      ['/size', 'minimum'],
      ['/process/phase', 'required'],
    ]);
    expect(t.ledger.submits).toHaveLength(0);
  });

  it('refuses a body that is not an object', async () => {
    for (const payload of ['[]', '"text"', '42', 'null']) {
      const response = await postJson(t.app, '/v1/evidence', key, payload);
      expect(response.statusCode).toBe(400);
      expect(response.json()).toMatchObject({
        code: 'VALIDATION_FAILED',
        fields: [{ path: '', rule: 'type' }],
      });
    }
  });

  it('answers an oversize body with 413 BODY_TOO_LARGE', async () => {
    const response = await postJson(t.app, '/v1/evidence', key, {
      digests: [`sha256:${HEX}`],
      pad: 'x'.repeat(5000),
    });
    expect(response.statusCode).toBe(413);
    expect(response.json()).toEqual({
      statusCode: 413,
      code: 'BODY_TOO_LARGE',
      message: 'the body is larger than this node accepts',
      fields: [{ path: '', rule: 'maxLength', message: 'body is too large' }],
    });
  });

  it('answers a batch over BATCH_MAX_ITEMS with 413 BATCH_TOO_LARGE naming /items', async () => {
    const items = Array.from({ length: 6 }, () => ({
      digests: [`sha256:${randomBytes(32).toString('hex')}`],
    }));
    const response = await postJson(t.app, '/v1/evidence/batch', key, { items });
    expect(response.statusCode).toBe(413);
    expect(response.json()).toEqual({
      statusCode: 413,
      code: 'BATCH_TOO_LARGE',
      message: 'a batch request holds at most 5 items',
      fields: [{ path: '/items', rule: 'maxItems', message: 'must NOT have more than 5 items' }],
    });
    expect(t.ledger.submits).toHaveLength(0);
  });

  it('refuses an empty batch, a batch without items and extra batch fields', async () => {
    const empty = await postJson(t.app, '/v1/evidence/batch', key, { items: [] });
    expect(empty.statusCode).toBe(400);
    expect(fieldsOf(empty.json())).toEqual([['/items', 'minItems']]);
    const wrong = await postJson(t.app, '/v1/evidence/batch', key, { item: [itemFor()] });
    expect(fieldsOf(wrong.json())).toEqual([
      ['/items', 'required'],
      ['/item', 'additionalProperties'],
    ]);
    const notArray = await postJson(t.app, '/v1/evidence/batch', key, { items: 'all of them' });
    expect(fieldsOf(notArray.json())).toEqual([['/items', 'type']]);
  });

  it('answers a wrong or missing content type with 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
      const response = await postJson(t.app, '/v1/evidence', key, JSON.stringify(itemFor()), {
        'content-type': type,
      });
      expect(response.statusCode).toBe(415);
      expect(response.json()).toMatchObject({ statusCode: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
    }
    const none = await t.app.inject({
      method: 'POST',
      url: '/v1/evidence',
      headers: bearer(key),
      payload: Buffer.from(JSON.stringify(itemFor())),
    });
    expect(none.statusCode).toBe(415);
    expect(none.json().code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('accepts application/json with a charset', async () => {
    const response = await postJson(t.app, '/v1/evidence', key, itemFor(), {
      'content-type': 'application/json; charset=utf-8',
    });
    expect(response.statusCode).toBe(201);
  });

  it('answers a bad :digest with 400 VALIDATION_FAILED naming /digest, never 404', async () => {
    const bad = [
      'sha256:abc',
      `sha256:${'A'.repeat(64)}`,
      `sm3:${HEX}`,
      `md5:${HEX}`,
      HEX,
      `sha256:${'a'.repeat(500)}`,
      'sha256%3A' + 'z'.repeat(64),
    ];
    for (const digest of bad) {
      for (const url of [
        `/v1/evidence/${digest}`,
        `/v1/evidence/${digest}/receipt`,
        `/v1/evidence/${digest}/history`,
        `/v1/public/evidence/${digest}`,
      ]) {
        const response = await getWith(t.app, url, key);
        expect(response.statusCode, url).toBe(400);
        expect(response.json()).toEqual({
          statusCode: 400,
          code: 'VALIDATION_FAILED',
          message: 'params is invalid (1 problem)',
          fields: [
            {
              path: '/digest',
              rule: 'pattern',
              message: 'must match pattern "^sha256:[0-9a-f]{64}$"',
            },
          ],
        });
      }
    }
  });

  it('refuses a bad annotation, naming every field', async () => {
    const response = await postJson(t.app, `/v1/evidence/sha256:${HEX}/annotations`, court, {
      kind: 'erase',
      reference: 'has spaces',
      documentDigest: 'md5:00',
      by: 'me',
    });
    expect(response.statusCode).toBe(400);
    expect(fieldsOf(response.json())).toEqual([
      ['/by', 'additionalProperties'],
      ['/kind', 'enum'],
      ['/reference', 'pattern'],
      ['/documentDigest', 'pattern'],
    ]);
  });

  it('answers unknown routes with 404 NOT_FOUND in the error shape', async () => {
    for (const [method, url] of [
      ['GET', '/v2/evidence'],
      ['DELETE', `/v1/evidence/sha256:${HEX}/nothing`],
      ['GET', '/'],
    ] as const) {
      const response = await t.app.inject({ method, url, headers: bearer(key) });
      expect(response.statusCode).toBe(404);
      expect(response.json()).toEqual({
        statusCode: 404,
        code: 'NOT_FOUND',
        message: `no route ${method} ${url}`,
      });
    }
  });

  it('never answers 500 to garbage', async () => {
    const payloads = [
      '{',
      '}',
      '[[[[[[[[[[',
      '{"digests":null}',
      '{"digests":[null]}',
      '{"digests":[1e400]}',
      `{"digests":["sha256:${HEX}"],"size":1e300}`,
      `{"digests":["sha256:${HEX}"],"size":9007199254740993}`,
      `{"digests":["sha256:${HEX}"],"size":1.5}`,
      '{"digests":["sha256:' + HEX + '"],"constructor":{"prototype":{"x":1}}}',
      '\u0000',
      '{"items":' + '['.repeat(2000) + ']'.repeat(2000) + '}',
      randomBytes(200).toString('latin1'),
    ];
    for (const url of [
      '/v1/evidence',
      '/v1/evidence/batch',
      `/v1/evidence/sha256:${HEX}/annotations`,
    ]) {
      for (const payload of payloads) {
        const response = await postJson(
          t.app,
          url,
          url.endsWith('annotations') ? court : key,
          payload,
        );
        const what = `${url} ${payload.slice(0, 40)}`;
        if (response.statusCode === 200) {
          // A well-formed batch of bad items: every item reports its own error.
          const { results } = response.json() as { results: { error?: { code: string } }[] };
          expect(
            results.every((result) => result.error?.code === 'VALIDATION_FAILED'),
            what,
          ).toBe(true);
          continue;
        }
        expect(response.statusCode, what).toBeGreaterThanOrEqual(400);
        expect(response.statusCode, what).toBeLessThan(500);
        const body = response.json() as ErrorBody;
        expect(
          Object.keys(body).every((k) => ['statusCode', 'code', 'message', 'fields'].includes(k)),
        ).toBe(true);
      }
    }
  });
});
