/**
 * The public verification page as the gateway serves it: the built files, their content types and
 * the strict Content-Security-Policy; and the public lookup the page calls, which must reveal
 * non-sensitive facts only. (test/e2e/verify-page.e2e.test.ts drives the page in Chromium.)
 */

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../gateway/app';
import { VERIFY_PAGE_CSP } from '../../gateway/routes/verify-page';
import { getWith, itemFor, makeTestApp, postJson, tempDir, type TestApp } from './helpers';

interface BuildWeb {
  buildWeb(options: { outDir: string }): Promise<{ bundle: string; bytes: number }>;
}

const BUILD_SCRIPT = pathToFileURL(path.resolve(__dirname, '../../scripts/build-web.mjs')).href;

describe('the verification page', () => {
  let webDir: string;
  let test: TestApp;
  let app: ReturnType<typeof buildApp>;

  beforeAll(async () => {
    webDir = await tempDir('web-');
    const { buildWeb } = (await import(BUILD_SCRIPT)) as BuildWeb;
    await buildWeb({ outDir: webDir });
    test = await makeTestApp();
    app = pageApp(webDir);
    await app.ready();
  }, 60_000);
  afterAll(async () => {
    await app.close();
    await test.close();
    await fs.rm(webDir, { recursive: true, force: true });
  });

  /** A second app over the test app's ledger and keys, with its own data directory. */
  const pageApp = (dir: string) =>
    buildApp(
      { ...test.config, dataDir: path.join(dir, 'data') },
      { ledger: test.ledger, keys: test.keys, webDir: dir },
    );

  it.each([
    ['/verify', 'verify.html', 'text/html; charset=utf-8'],
    ['/verify/verify-page.js', 'verify-page.js', 'text/javascript; charset=utf-8'],
    ['/verify/verify.css', 'verify.css', 'text/css; charset=utf-8'],
  ])('serves %s as built, with its content type and the strict CSP', async (url, file, type) => {
    const response = await app.inject({ method: 'GET', url });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe(type);
    expect(response.headers['content-security-policy']).toBe(VERIFY_PAGE_CSP);
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['referrer-policy']).toBe('no-referrer');
    expect(response.headers['x-frame-options']).toBe('DENY');
    expect(response.rawPayload.equals(await fs.readFile(path.join(webDir, file)))).toBe(true);
  });

  it('allows nothing from elsewhere: no inline code, no other origin, no framing', () => {
    const directives = Object.fromEntries(
      VERIFY_PAGE_CSP.split('; ').map((d) => [d.split(' ')[0], d.split(' ').slice(1).join(' ')]),
    );
    expect(directives).toMatchObject({
      'default-src': "'self'",
      'script-src': "'self'",
      'style-src': "'self'",
      'connect-src': "'self'",
      'object-src': "'none'",
      'frame-ancestors': "'none'",
      'form-action': "'none'",
    });
    expect(VERIFY_PAGE_CSP).not.toMatch(/unsafe|https?:|\*/);
  });

  it('has an HTML page that names only its own two assets and no other origin', async () => {
    const html = (await app.inject({ method: 'GET', url: '/verify' })).body;
    const references = [...html.matchAll(/(?:src|href)="([^"]*)"/g)].map((m) => m[1]);
    expect(references).toEqual(['/verify/verify.css', '/verify/verify-page.js']);
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/<script>|style="/);
  });

  it('has a bundle that makes no request but to this origin and evaluates no strings', async () => {
    const bundle = await fs.readFile(path.join(webDir, 'verify-page.js'), 'utf8');
    // Licence notices (kept at the end) name their authors' sites; they are comments.
    const js = bundle.replace(/\/\*[\s\S]*?\*\//g, '');
    // Matches, not the bundle, in a failure message.
    expect(js.match(/\beval\(|new Function\(|innerHTML|outerHTML|document\.write/g)).toBeNull();
    expect(js.match(/https?:\/\/[^"'`\s]*/g)).toBeNull();
    const fetched = [...js.matchAll(/fetch\(\s*[`'"]([^`'"$]*)/g)].map((m) => m[1]);
    expect(fetched.sort()).toEqual([
      '/v1/anchoring/trust',
      '/v1/forks',
      '/v1/public/evidence/',
      '/v1/trust',
    ]);
  });

  it('documents the page as a 200 text/html answer in the OpenAPI document', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json<{
      paths: Record<string, { get?: { responses: Record<string, { content?: object }> } }>;
    }>();
    const responses = doc.paths['/verify']?.get?.responses ?? {};
    expect(Object.keys(responses).sort()).toEqual(['200', '4XX', '5XX']);
    expect(responses['200']?.content).toEqual({ 'text/html': { schema: { type: 'string' } } });
    expect(Object.keys(doc.paths).filter((p) => p.startsWith('/verify/'))).toEqual([]);
  });

  it('answers 404 NOT_FOUND, naming the fix, where the page was not built', async () => {
    const empty = await tempDir('no-web-');
    const bare = pageApp(empty);
    try {
      const response = await bare.inject({ method: 'GET', url: '/verify' });
      expect(response.statusCode).toBe(404);
      expect(response.json()).toMatchObject({ code: 'NOT_FOUND' });
      expect(response.json<{ message: string }>().message).toContain('npm run build:web');
    } finally {
      await bare.close();
      await fs.rm(empty, { recursive: true, force: true });
    }
  });
});

describe('GET /v1/public/evidence/:digest, as the page calls it', () => {
  let test: TestApp;
  beforeAll(async () => {
    test = await makeTestApp();
  });
  afterAll(async () => test.close());

  it('tells time, transaction, chain and attestation count, and nothing about the depositor', async () => {
    const key = await test.keyFor('depositor', 'PlatformOrg', 'lawyer-zhang-01');
    const item = itemFor();
    const deposited = await postJson(test.app, '/v1/evidence', key, {
      ...item,
      evidenceType: 'contract',
      mediaType: 'application/pdf',
      size: 64,
    });
    expect(deposited.statusCode).toBe(201);
    const response = await getWith(test.app, `/v1/public/evidence/${item.digests[0]}`);
    expect(response.statusCode).toBe(200);
    const body = response.json<Record<string, unknown>>();
    expect(Object.keys(body).sort()).toEqual([
      'attestations',
      'chainId',
      'digest',
      'onChain',
      'time',
      'txId',
    ]);
    expect(response.body).not.toMatch(/lawyer|PlatformOrg|contract|application\/pdf|sm3:/);
  });
});
