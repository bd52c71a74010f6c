import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPENAPI_LINKS, withLinks } from '../../gateway/openapi-document';
import { getWith, makeTestApp, type TestApp } from './helpers';

interface Document {
  paths: Record<string, Record<string, { responses: Record<string, { links?: object }> }>>;
}

/** The operation an `operationRef` of this document points at. */
function resolve(document: Document, ref: string): unknown {
  const match = /^#\/paths\/([^/]+)\/([a-z]+)$/.exec(ref);
  if (!match) return undefined;
  const path = (match[1] as string).replace(/~1/g, '/').replace(/~0/g, '~');
  return document.paths[path]?.[match[2] as string];
}

describe('OpenAPI links', () => {
  let t: TestApp;
  let document: Document;

  beforeAll(async () => {
    t = await makeTestApp();
    document = (await getWith(t.app, '/openapi.json')).json<Document>();
  });
  afterAll(async () => {
    await t.close();
  });

  it('lead from a deposit to its record, receipt, history, certificate, public facts and upgrade', () => {
    for (const status of ['200', '201']) {
      const links = document.paths['/v1/evidence']?.post?.responses[status]?.links;
      expect(Object.keys(links ?? {}).sort()).toEqual(
        [
          'annotate',
          'certificate',
          'history',
          'publicFacts',
          'receipt',
          'record',
          'upgrade',
        ].sort(),
      );
      expect(links).toMatchObject({
        receipt: {
          operationRef: '#/paths/~1v1~1evidence~1{digest}~1receipt/get',
          parameters: { digest: '$response.body#/digest' },
        },
        upgrade: { requestBody: '$response.body#/receipt' },
      });
    }
  });

  it('point only at operations the document has, from every source in the table', () => {
    let count = 0;
    for (const source of OPENAPI_LINKS) {
      for (const status of source.statuses) {
        const links = document.paths[source.path]?.[source.method]?.responses[status]?.links as
          Record<string, { operationRef: string }> | undefined;
        expect(links, `${source.method} ${source.path} ${status}`).toBeDefined();
        for (const link of Object.values(links ?? {})) {
          expect(resolve(document, link.operationRef), link.operationRef).toBeDefined();
          count += 1;
        }
      }
    }
    // Seven for each of the deposit's two answers, three for an agreement, one for each admin kind.
    expect(count).toBe(20);
  });

  it('refuses a link to an operation or an answer the document does not have', () => {
    const base = () => ({
      paths: { '/a': { post: { responses: { '201': {} } } }, '/b': { get: { responses: {} } } },
    });
    const link = (path: string, status: string) => [
      {
        path: '/a',
        method: 'post' as const,
        statuses: [status],
        links: { x: { path, method: 'get' as const, description: 'x' } },
      },
    ];
    expect(withLinks(base(), link('/b', '201')).paths['/a'].post.responses['201']).toEqual({
      links: { x: { operationRef: '#/paths/~1b/get', description: 'x' } },
    });
    expect(() => withLinks(base(), link('/c', '201'))).toThrow(/no operation get \/c/);
    expect(() => withLinks(base(), link('/b', '200'))).toThrow(/has no 200 answer/);
  });
});
