/**
 * The public verification page, no API key: `GET /verify` and its two assets, built into
 * `dist/web/` by `npm run build:web` (scripts/build-web.mjs). The page hashes a file in the
 * browser and never uploads it; it calls only `GET /v1/public/evidence/:digest`, `GET /v1/trust`
 * and `GET /v1/anchoring/trust` on this node.
 *
 * Every answer carries a strict Content-Security-Policy: everything from this origin only, no
 * inline script or style, no plugins, no framing, no form posts, and Trusted Types required (the
 * page writes text, never markup). With no asset from elsewhere the page works on a network that
 * reaches only this node.
 *
 * The files are read once, when the app starts. When they are missing (the TypeScript was
 * compiled without `build:web`) the routes answer 404 `NOT_FOUND` naming the fix.
 */

import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { StateError } from '../../core/errors';
import { ERROR_RESPONSES } from '../schemas';

export const VERIFY_PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ');

/** Where the page is; QR codes of certificates open `<publicUrl>/verify?digest=...`. */
export const VERIFY_PAGE_PATH = '/verify';

/** The files of the page and how they are served (the HTML names the two assets by path). */
export const VERIFY_PAGE_ASSETS = [
  { path: VERIFY_PAGE_PATH, file: 'verify.html', type: 'text/html; charset=utf-8' },
  {
    path: '/verify/verify-page.js',
    file: 'verify-page.js',
    type: 'text/javascript; charset=utf-8',
  },
  { path: '/verify/verify.css', file: 'verify.css', type: 'text/css; charset=utf-8' },
] as const;

export interface VerifyPageRoutesOptions {
  /** Folder of the built page; default {@link defaultWebDir}. */
  readonly webDir?: string;
}

/**
 * Where the built page is: `dist/web/` beside the compiled gateway, or, when the gateway runs
 * from the TypeScript sources (tests), the repository's `dist/web/`.
 */
export function defaultWebDir(): string {
  return __filename.endsWith('.js')
    ? resolve(__dirname, '..', '..', 'web')
    : resolve(__dirname, '..', '..', 'dist', 'web');
}

/** `text/html` of `text/html; charset=utf-8`: the key of an OpenAPI response's `content`. */
function mediaTypeOf(type: string): string {
  return type.split(';')[0] ?? type;
}

async function readIfPresent(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

const verifyPageRoutes: FastifyPluginAsync<VerifyPageRoutesOptions> = async (
  app: FastifyInstance,
  options,
) => {
  const dir = options.webDir ?? defaultWebDir();
  for (const asset of VERIFY_PAGE_ASSETS) {
    const body = await readIfPresent(join(dir, asset.file));
    if (body === undefined) app.log.warn({ file: asset.file }, 'verification page not built');
    app.get(
      asset.path,
      {
        schema: {
          tags: ['public'],
          summary:
            asset.file === 'verify.html'
              ? 'The public verification page: hashes a file in the browser, never uploads it'
              : `The verification page's ${asset.file}`,
          ...(asset.file === 'verify.html' ? {} : { hide: true }),
          response: {
            200: {
              description: `${asset.file} as built`,
              content: { [mediaTypeOf(asset.type)]: { schema: { type: 'string' } } },
            },
            ...ERROR_RESPONSES,
          },
        },
      },
      async (_request, reply) => {
        if (body === undefined) {
          throw new StateError(
            'NOT_FOUND',
            'the verification page was not built on this node (npm run build:web)',
          );
        }
        return reply
          .type(asset.type)
          .header('content-security-policy', VERIFY_PAGE_CSP)
          .header('x-content-type-options', 'nosniff')
          .header('referrer-policy', 'no-referrer')
          .header('x-frame-options', 'DENY')
          .header('cross-origin-opener-policy', 'same-origin')
          .header('cross-origin-resource-policy', 'same-origin')
          .header('cache-control', 'no-cache')
          .send(body);
      },
    );
  }
};

export default verifyPageRoutes;
