/**
 * Which software produced a document: the name and version of the project's package.json, found by
 * walking up from this file, so it works from `dist/documents/` and from the TypeScript source
 * under test alike. The verifier prints it on reports; the node states it in its dossier.
 */

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const PACKAGE_NAME = 'judicial-evidence-node';

export interface SoftwareVersion {
  readonly name: string;
  readonly version: string;
}

let cached: SoftwareVersion | undefined;

/** Name and version of this package; version `unknown` if its package.json cannot be found. */
export function softwareVersion(): SoftwareVersion {
  cached ??= findVersion(__dirname);
  return cached;
}

function findVersion(start: string): SoftwareVersion {
  let dir = start;
  for (;;) {
    const found = readPackage(join(dir, 'package.json'));
    if (found) return found;
    const parent = dirname(dir);
    if (parent === dir) return { name: PACKAGE_NAME, version: 'unknown' };
    dir = parent;
  }
}

function readPackage(path: string): SoftwareVersion | undefined {
  try {
    const value = JSON.parse(readFileSync(path, 'utf8')) as { name?: unknown; version?: unknown };
    if (value.name === PACKAGE_NAME && typeof value.version === 'string') {
      return { name: PACKAGE_NAME, version: value.version };
    }
  } catch {
    // no package.json here, or not ours: keep walking up
  }
  return undefined;
}
