/**
 * Property-based fuzzing of every route with fast-check, through `app.inject()` on the real
 * embedded ledger: malformed and hostile requests (random methods, paths and parameters, query
 * strings, headers and credentials, content types, JSON bodies with wrong types, huge strings,
 * unicode, prototype-pollution keys, deep nesting, invalid UTF-8). The node must never answer
 * 5xx, never crash, never pollute a prototype, and every error body must be
 * `{ statusCode, code, message, fields? }` with a known code.
 *
 * `FUZZ_SEED` replays a run; `FUZZ_TOTAL` changes the request count (default 10,500).
 */

import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestBytes } from '../../core/digest';
import { ERROR_CODES } from '../../core/errors';
import { itemFor } from './helpers';
import {
  makeEmbeddedApp,
  newSigner,
  signedHeaders,
  type EmbeddedTestApp,
  type TestSigner,
} from './security-helpers';

const TOTAL = Number(process.env.FUZZ_TOTAL ?? 10_500);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
/** Streams that never end on their own: fuzzed only with requests that are refused up front. */
const STREAMS = new Set(['/v1/agreements/events']);
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;
const HOSTILE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty'];
const FIELD_NAMES = [
  'digests',
  'items',
  'kind',
  'reference',
  'documentDigest',
  'mediaType',
  'size',
  'process',
  'token',
  'phase',
  'evidenceType',
  'identityCommitment',
  'metadataCommitment',
  'org',
  'account',
  'role',
  'apiKey',
  'publicKey',
  'algorithm',
  'key',
  'userId',
  'tlsFingerprint',
  'requireSignature',
  'id',
  'parties',
  'instalments',
  'amount',
  'currency',
  'dueTime',
  'caseNumber',
  'reason',
  'depositor',
  'records',
  'root',
  'chainId',
  'anchor',
  'block',
  ...HOSTILE_KEYS,
];

interface Route {
  readonly method: string;
  readonly template: string;
}

const known = new Set<string>(ERROR_CODES);
/** Digests deposited during the run, so later requests reach records that exist. */
const deposited: string[] = [];
const statuses = new Map<number, number>();
let sent = 0;

describe('fuzzing every route', () => {
  let t: EmbeddedTestApp;
  let routes: Route[];
  let keys: string[];
  let signer: TestSigner;
  const prototypeBefore = Object.getOwnPropertyNames(Object.prototype).sort();

  beforeAll(async () => {
    t = await makeEmbeddedApp({ config: { batchMaxItems: 50 }, logLevel: 'warn' });
    keys = [
      t.adminKey,
      await t.keyFor('platform'),
      await t.keyFor('court', 'CourtOrg'),
      await t.keyFor('auditor'),
      await t.keyFor('depositor'),
      await t.keyFor('payment'),
      await t.keyFor('anchor'),
    ];
    signer = newSigner('ed25519');
    await t.keys.createPrincipal({
      org: 'PlatformOrg',
      account: 'fuzz-signer',
      role: 'platform',
      apiKey: false,
      publicKey: signer.publicKey,
    });
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json() as {
      paths: Record<string, Record<string, unknown>>;
    };
    routes = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => ({
        method: method.toUpperCase(),
        template: path.replace(/\{([A-Za-z]+)\}/g, ':$1'),
      })),
    );
    routes.push({ method: 'GET', template: '/docs' }, { method: 'GET', template: '/openapi.json' });
  }, 60_000);

  afterAll(async () => {
    await t?.close();
  });

  // -- arbitraries ----------------------------------------------------------------------------

  const validDigest = fc.constant(null).map(() => digestBytes(randomBytes(16)).sha256);
  const unicode = fc.string({ unit: 'binary', maxLength: 40 });
  const huge = fc
    .tuple(
      fc.constantFrom('a', '9', '\u4e00', '\ud83d\ude00', '%', '\\'),
      fc.integer({ min: 1000, max: 100_000 }),
    )
    .map(([c, n]) => c.repeat(n));
  const text = fc.oneof(
    { weight: 4, arbitrary: fc.string({ maxLength: 30 }) },
    { weight: 2, arbitrary: unicode },
    { weight: 1, arbitrary: huge },
    { weight: 2, arbitrary: fc.constantFrom(...HOSTILE_KEYS, '', ' ', '..', '%00', '\u0000') },
    { weight: 2, arbitrary: validDigest },
    {
      weight: 1,
      arbitrary: fc.constantFrom('(2026)京0105民初1234号', 'sha256:', 'sm3:' + 'f'.repeat(64)),
    },
  );
  const scalar = fc.oneof(
    text,
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.constantFrom(Number.MAX_SAFE_INTEGER + 2, -0, 1e308),
  );
  const hostile = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      { weight: 4, arbitrary: scalar },
      { weight: 1, arbitrary: fc.array(tie('value'), { maxLength: 5 }) },
      {
        weight: 2,
        arbitrary: fc.dictionary(
          fc.oneof(fc.constantFrom(...FIELD_NAMES), fc.string({ maxLength: 12 })),
          tie('value'),
          { maxKeys: 6 },
        ),
      },
    ),
  })).value;
  /** A JSON text that `JSON.stringify` cannot make: prototype keys as own keys, duplicates. */
  const pollutingText = fc
    .tuple(fc.constantFrom(...HOSTILE_KEYS), hostile, fc.constantFrom(...FIELD_NAMES))
    .map(
      ([key, value, field]) =>
        `{"${field}":${JSON.stringify(value) ?? 'null'},"${key}":{"polluted":true,"prototype":{"polluted":true}},"${field}":1}`,
    );
  const deepText = fc
    .tuple(fc.integer({ min: 100, max: 150_000 }), fc.constantFrom('[', '{"a":'))
    .map(([depth, open]) =>
      open === '['
        ? `${'['.repeat(depth)}${']'.repeat(depth)}`
        : `${open.repeat(depth)}1${'}'.repeat(depth)}`,
    );
  const evidenceLike = fc.record(
    {
      digests: fc.oneof(fc.array(fc.oneof(validDigest, text), { maxLength: 4 }), hostile),
      evidenceType: fc.oneof(fc.constantFrom('document', 'video', 'other'), text),
      mediaType: fc.oneof(fc.constant('application/pdf'), text),
      size: fc.oneof(fc.nat(), scalar),
      process: fc.oneof(fc.record({ token: text, phase: fc.constantFrom('before', 'x') }), hostile),
    },
    { requiredKeys: ['digests'] },
  );
  const body = fc.oneof(
    { weight: 3, arbitrary: hostile.map((value) => JSON.stringify(value)) },
    { weight: 3, arbitrary: evidenceLike.map((value) => JSON.stringify(value)) },
    {
      weight: 2,
      arbitrary: fc
        .array(fc.oneof(evidenceLike, hostile), { maxLength: 60 })
        .map((items) => JSON.stringify({ items })),
    },
    { weight: 2, arbitrary: pollutingText },
    { weight: 1, arbitrary: deepText },
    { weight: 3, arbitrary: fc.constant(null).map(() => JSON.stringify(itemFor())) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)) },
    { weight: 1, arbitrary: fc.constantFrom('', '{', 'null', '1e400', '"x"', '[]', '{}', 'NaN') },
    {
      weight: 1,
      arbitrary: fc.integer({ min: 1_048_000, max: 1_100_000 }).map((n) => `"${'x'.repeat(n)}"`),
    },
  );
  const contentType = fc.oneof(
    { weight: 6, arbitrary: fc.constant('application/json') },
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        'application/json; charset=utf-8',
        'APPLICATION/JSON',
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=xyz',
        'application/json; charset=latin1',
        'application/vnd.api+json',
        'application/octet-stream',
        '',
        '*/*',
        'application/json, text/plain',
      ),
    },
    { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
  );
  const authorization = (): fc.Arbitrary<Record<string, string>> =>
    fc.oneof(
      {
        weight: 6,
        arbitrary: fc.constantFrom(...keys).map((key) => ({ authorization: `Bearer ${key}` })),
      },
      { weight: 1, arbitrary: fc.constantFrom(...keys).map((key) => ({ 'x-api-key': key })) },
      { weight: 1, arbitrary: fc.constant({}) },
      {
        weight: 2,
        arbitrary: fc
          .oneof(
            text,
            fc.constantFrom('Bearer', 'Bearer ', 'Basic YTpi', `Bearer ek_${'A'.repeat(43)}`),
          )
          .map((value) => ({ authorization: value })),
      },
      {
        weight: 1,
        arbitrary: fc
          .record({
            'x-evidence-key-id': fc.oneof(fc.constant(signer.keyId), text),
            'x-evidence-timestamp': fc.oneof(fc.constant(String(Date.now())), text),
            'x-evidence-nonce': fc.oneof(fc.constant('n'.repeat(20)), text),
            'x-evidence-signature': fc.oneof(fc.constant('AAAA'), text),
          })
          .map((headers) => headers as Record<string, string>),
      },
    );
  const extraHeaders = fc.dictionary(
    fc.constantFrom(
      'accept',
      'accept-encoding',
      'content-encoding',
      'x-request-id',
      'user-agent',
      'origin',
      'x-forwarded-for',
      'cookie',
    ),
    fc.oneof(text, fc.constantFrom('gzip', 'br', '*/*', 'application/json')),
    { maxKeys: 3 },
  );
  const param = fc.oneof(
    { weight: 2, arbitrary: validDigest },
    {
      weight: 2,
      arbitrary: fc.nat().map((i) => deposited[i % Math.max(1, deposited.length)] ?? 'x'),
    },
    { weight: 3, arbitrary: text.map((value) => encodeURIComponent(value)) },
    {
      weight: 1,
      arbitrary: fc.constantFrom('%zz', '%', '%c0%af', '..%2f..', '%E4%B8', 'a%00b', '..', '.'),
    },
    { weight: 1, arbitrary: fc.constantFrom('AAAAAAAAAAAA', 'agreement-1', '0', '-1') },
  );
  const query = fc.option(
    fc
      .array(
        fc.tuple(
          fc.oneof(
            fc.constantFrom('from', 'limit', 'org', 'account', '__proto__[x]', 'constructor'),
            fc.string({ maxLength: 8 }),
          ),
          fc.oneof(fc.nat().map(String), text),
        ),
        { maxLength: 4 },
      )
      .map((pairs) =>
        pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&'),
      ),
  );

  function url(template: string, params: readonly string[], search: string | null): string {
    let index = 0;
    const path = template.replace(/:[A-Za-z]+/g, () => params[index++ % params.length] ?? 'x');
    return search === null ? path : `${path}?${search}`;
  }

  async function send(options: InjectOptions): Promise<void> {
    sent += 1;
    let timer: NodeJS.Timeout | undefined;
    const response = await Promise.race([
      t.app.inject(options),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new Error(
                `no answer in 10 s: ${options.method} ${String(options.url).slice(0, 200)}`,
              ),
            ),
          10_000,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
    if (response.statusCode === 201 && options.url === '/v1/evidence') {
      deposited.push((response.json() as { digest: string }).digest);
    }
    const where = `${options.method} ${String(options.url).slice(0, 120)}`;
    if (response.statusCode >= 500) {
      throw new Error(`${response.statusCode} for ${where}: ${response.body.slice(0, 300)}`);
    }
    if (response.statusCode >= 400 && options.method !== 'HEAD') {
      let parsed: { statusCode?: unknown; code?: unknown; message?: unknown };
      try {
        parsed = response.json();
      } catch {
        throw new Error(
          `${response.statusCode} without a JSON body for ${where}: ${response.body.slice(0, 200)}`,
        );
      }
      if (
        parsed.statusCode !== response.statusCode ||
        typeof parsed.code !== 'string' ||
        !known.has(parsed.code) ||
        typeof parsed.message !== 'string'
      ) {
        throw new Error(`malformed error body for ${where}: ${response.body.slice(0, 300)}`);
      }
    }
  }

  function request(route: fc.Arbitrary<Route>, methodNoise: boolean): fc.Arbitrary<InjectOptions> {
    return fc
      .record({
        route,
        method: methodNoise
          ? fc.option(fc.constantFrom(...METHODS), { freq: 3 })
          : fc.constant(null),
        params: fc.array(param, { minLength: 1, maxLength: 3 }),
        search: query,
        auth: authorization(),
        extra: extraHeaders,
        contentType,
        body: fc.option(body, { freq: 5 }),
        signed: fc.boolean(),
      })
      .map(
        ({
          route: r,
          method,
          params,
          search,
          auth,
          extra,
          contentType: type,
          body: payload,
          signed,
        }) => {
          const verb = method ?? r.method;
          const target = url(r.template, params, search);
          const stream = STREAMS.has(r.template);
          let headers: Record<string, string> = { ...extra, ...auth };
          if (signed && !stream) {
            // A correctly signed request (of an empty body): whatever body is sent instead is
            // refused as BAD_SIGNATURE, after parsing; without a body it passes to the route.
            headers = {
              ...extra,
              ...signedHeaders(signer, { method: verb as 'POST', url: target }, Date.now()).headers,
            };
          }
          if (stream) headers = { ...extra, authorization: 'Bearer invalid' };
          const hasBody = payload !== null && verb !== 'GET' && verb !== 'HEAD';
          if (hasBody) headers['content-type'] = type;
          return {
            method: verb as InjectOptions['method'],
            url: target,
            headers,
            ...(hasBody ? { payload: payload as string | Buffer } : {}),
          } as InjectOptions;
        },
      );
  }

  it(`answers ${TOTAL} malformed and hostile requests without a 5xx, a crash or a bad error body`, async () => {
    const started = Date.now();
    const routed = Math.ceil((TOTAL * 0.7) / routes.length);
    for (const route of routes) {
      await fc.assert(
        fc.asyncProperty(request(fc.constant(route), false), (options) => send(options)),
        { numRuns: routed, ...(SEED === undefined ? {} : { seed: SEED }), endOnFailure: true },
      );
    }
    const junkPaths = fc.oneof(
      fc.constantFrom(...routes),
      fc.webPath().map((path) => ({ method: 'GET', template: path || '/' })),
      fc
        .constantFrom(
          '/',
          '/v1',
          '/v1/',
          '//v1//evidence',
          '/v1/evidence/',
          '/V1/EVIDENCE',
          '/docs/../openapi.json',
        )
        .map((template) => ({ method: 'GET', template })),
    );
    const rest = Math.max(0, TOTAL - sent);
    await fc.assert(
      fc.asyncProperty(request(junkPaths, true), (options) => send(options)),
      { numRuns: rest, ...(SEED === undefined ? {} : { seed: SEED }), endOnFailure: true },
    );
    const seconds = (Date.now() - started) / 1000;
    console.log(
      `fuzz: ${sent} requests over ${routes.length} routes in ${seconds.toFixed(1)} s; statuses ` +
        JSON.stringify(Object.fromEntries([...statuses].sort(([a], [b]) => a - b))),
    );
    expect(sent).toBeGreaterThanOrEqual(TOTAL);

    // No prototype was polluted, and the node still works and its stores still verify.
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeBefore);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const deposit = await t.app.inject({
      method: 'POST',
      url: '/v1/evidence',
      headers: { authorization: `Bearer ${keys[1]}`, 'content-type': 'application/json' },
      payload: JSON.stringify(itemFor()),
    });
    expect(deposit.statusCode).toBe(201);
    expect(await t.ledger.verifyChain()).toBeGreaterThan(1);
    await t.audit.flush();
    expect((await t.audit.verify()).intact).toBe(true);
    expect(t.log.text).not.toMatch(/"level":50/);
  }, 240_000);
});
