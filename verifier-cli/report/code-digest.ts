/**
 * A stable fingerprint of the verifier's own code, printed on every report so a court can tell
 * which build produced it and an expert can check that build independently.
 *
 * Definition: the SHA-256 of a `sha256sum`-style manifest of the compiled verifier, i.e. of the
 * `.js` files under `core/` and `verifier-cli/` of the build folder (`dist/`), one line per file,
 *
 *     <hex sha256 of the file's bytes><two spaces><path relative to dist, '/'-separated>\n
 *
 * lines sorted by path in byte order. Source maps, type declarations and everything else are left
 * out; so are symbolic links. Anyone can recompute it with coreutils:
 *
 *     cd dist && find core verifier-cli -type f -name '*.js' | LC_ALL=C sort | xargs sha256sum | sha256sum
 *
 * (the printed hex, prefixed `sha256:`). The gateway, the chaincode and the tests are not part of
 * the verifier, so they do not change it.
 */

import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Digest } from '../../core/digest';

/** The folders of the build that make up the verifier. */
export const VERIFIER_CODE_FOLDERS = ['core', 'verifier-cli'] as const;

/** Relative paths ('/'-separated) of the regular `.js` files under `dir`, recursively. */
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
    const path = `${relative}/${entry.name}`;
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
 * The manifest the digest is taken over (see the module comment), for people who want to see
 * which files it covers. Empty when `distDir` holds no compiled verifier.
 * @throws Error (from node:fs) when a file cannot be read.
 */
export async function verifierCodeManifest(distDir: string): Promise<string> {
  const paths: string[] = [];
  for (const folder of VERIFIER_CODE_FOLDERS) paths.push(...(await jsFiles(distDir, folder)));
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

/**
 * `sha256:` fingerprint of the compiled verifier under `distDir` (see the module comment), or
 * `undefined` when there is none there (e.g. when running from the TypeScript sources).
 * @throws Error (from node:fs) when a file cannot be read.
 */
export async function verifierCodeDigest(distDir: string): Promise<Digest | undefined> {
  const manifest = await verifierCodeManifest(distDir);
  if (manifest === '') return undefined;
  return `sha256:${createHash('sha256').update(manifest, 'utf8').digest('hex')}`;
}

/**
 * The build folder this module runs from: `dist/` when compiled (`dist/verifier-cli/report/`).
 * From the sources it is the repository root, where {@link verifierCodeDigest} finds no `.js`.
 */
export function runningDistDir(): string {
  return resolve(__dirname, '..', '..');
}
