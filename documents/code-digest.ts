/**
 * Stable fingerprints of compiled code, printed on court-facing documents so a court can tell which
 * build produced them and an expert can check that build independently.
 *
 * Definition: the SHA-256 of a `sha256sum`-style manifest of `.js` files of the build folder
 * (`dist/`), one line per file,
 *
 *     <hex sha256 of the file's bytes><two spaces><path relative to dist, '/'-separated>\n
 *
 * lines sorted by path in byte order. Source maps, type declarations and everything else are left
 * out; so are symbolic links. Two scopes:
 *
 * - the **verifier** ({@link verifierCodeDigest}, on verification reports): the `.js` files under
 *   `core/`, `documents/` and `verifier-cli/`, i.e. the code that decided the verdict and wrote the
 *   report. The gateway, the chaincode and the tests are not part of it, so they do not change it:
 *
 *       cd dist && find core documents verifier-cli -type f -name '*.js' | LC_ALL=C sort | xargs sha256sum | sha256sum
 *
 * - the **whole build** ({@link buildCodeDigest}, in the node's compliance dossier): every `.js`
 *   file under `dist/`, the browser bundle of the public page (`dist/web/`) included:
 *
 *       cd dist && find . -type f -name '*.js' | sed 's|^\./||' | LC_ALL=C sort | xargs sha256sum | sha256sum
 *
 * (the printed hex, prefixed `sha256:`). Build from a clean `dist/`: files a previous build left
 * behind are counted too.
 */

import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Digest } from '../core/digest';

/** The folders of the build that make up the verifier. */
export const VERIFIER_CODE_FOLDERS = ['core', 'documents', 'verifier-cli'] as const;

/** Relative paths ('/'-separated) of the regular `.js` files under `root/relative`, recursively. */
async function jsFiles(root: string, relative: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(join(root, relative), { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const found: string[] = [];
  for (const entry of entries) {
    const path = relative === '' ? entry.name : `${relative}/${entry.name}`;
    if (entry.isDirectory()) found.push(...(await jsFiles(root, path)));
    else if (entry.isFile() && entry.name.endsWith('.js')) found.push(path);
  }
  return found;
}

/** Byte-order comparison of UTF-8 strings, as `LC_ALL=C sort` orders them. */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * The manifest a digest is taken over (see the module comment), for people who want to see which
 * files it covers: the `.js` files under `folders` of `distDir`, or under all of it when `folders`
 * is `'all'`. Empty when there are none.
 * @throws Error (from node:fs) when a file cannot be read.
 */
export async function codeManifest(
  distDir: string,
  folders: readonly string[] | 'all',
): Promise<string> {
  const paths: string[] = [];
  for (const folder of folders === 'all' ? [''] : folders)
    paths.push(...(await jsFiles(distDir, folder)));
  paths.sort(byteOrder);
  let manifest = '';
  for (const path of paths) {
    const hex = createHash('sha256')
      .update(await readFile(join(distDir, path)))
      .digest('hex');
    manifest += `${hex}  ${path}\n`;
  }
  return manifest;
}

function manifestDigest(manifest: string): Digest | undefined {
  if (manifest === '') return undefined;
  return `sha256:${createHash('sha256').update(manifest, 'utf8').digest('hex')}`;
}

/** The manifest of the verifier's code (see the module comment). */
export function verifierCodeManifest(distDir: string): Promise<string> {
  return codeManifest(distDir, VERIFIER_CODE_FOLDERS);
}

/**
 * `sha256:` fingerprint of the compiled verifier under `distDir` (see the module comment), or
 * `undefined` when there is none there.
 * @throws Error (from node:fs) when a file cannot be read.
 */
export async function verifierCodeDigest(distDir: string): Promise<Digest | undefined> {
  return manifestDigest(await verifierCodeManifest(distDir));
}

/**
 * `sha256:` fingerprint of every `.js` file of the build under `distDir` (see the module comment),
 * or `undefined` when there is none.
 * @throws Error (from node:fs) when a file cannot be read.
 */
export async function buildCodeDigest(distDir: string): Promise<Digest | undefined> {
  return manifestDigest(await codeManifest(distDir, 'all'));
}

/**
 * The build folder this module runs from (`dist/`, as it lives in `dist/documents/`), or
 * `undefined` when it runs from the TypeScript sources, where there is no build to fingerprint.
 */
export function runningDistDir(): string | undefined {
  return __filename.endsWith('.js') ? resolve(__dirname, '..') : undefined;
}
