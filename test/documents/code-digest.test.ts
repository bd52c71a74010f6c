import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  buildCodeDigest,
  codeManifest,
  runningDistDir,
  verifierCodeDigest,
  verifierCodeManifest,
} from '../../documents/code-digest';
import { ensureBuilt } from '../support/build';

const roots: string[] = [];
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

function build(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'code-digest-'));
  roots.push(root);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

/** A documented coreutils recipe, run by the shell: the independent cross-check. */
function shellDigest(dist: string, recipe: string): string {
  const out = execFileSync('sh', ['-c', recipe], { cwd: dist, encoding: 'utf8' });
  return `sha256:${out.slice(0, 64)}`;
}

const VERIFIER_RECIPE =
  "find core documents verifier-cli -type f -name '*.js' | LC_ALL=C sort | xargs sha256sum | sha256sum";
const BUILD_RECIPE =
  "find . -type f -name '*.js' | sed 's|^\\./||' | LC_ALL=C sort | xargs sha256sum | sha256sum";

const coreutilsDigest = (dist: string): string => shellDigest(dist, VERIFIER_RECIPE);

const files = {
  'core/verify.js': 'exports.verify = 1;\n',
  'core/digest.js': 'exports.digest = 2;\n',
  'core/verify.js.map': '{"version":3}',
  'verifier-cli/main.js': 'exports.main = 3;\n',
  'verifier-cli/commands/verify.js': 'exports.v = 4;\n',
  'documents/verification-report.js': 'exports.r = 7;\n',
  'documents/verification-report.d.ts': 'export {};\n',
  'gateway/app.js': 'exports.app = 5;\n',
  'chaincode/index.js': 'exports.cc = 6;\n',
};

describe('verifierCodeDigest', () => {
  it('equals the documented sha256sum recipe', async () => {
    const dist = build(files);
    expect(await verifierCodeDigest(dist)).toBe(coreutilsDigest(dist));
  });

  it('covers the .js files of core, documents and verifier-cli only, in byte order', async () => {
    const dist = build(files);
    const paths = (await verifierCodeManifest(dist))
      .trim()
      .split('\n')
      .map((line) => line.slice(66));
    expect(paths).toEqual([
      'core/digest.js',
      'core/verify.js',
      'documents/verification-report.js',
      'verifier-cli/commands/verify.js',
      'verifier-cli/main.js',
    ]);
  });

  it('changes when one byte of the verifier changes, and not for other parts of the build', async () => {
    const base = await verifierCodeDigest(build(files));
    expect(
      await verifierCodeDigest(build({ ...files, 'core/verify.js': 'exports.verify = 2;\n' })),
    ).not.toBe(base);
    expect(await verifierCodeDigest(build({ ...files, 'verifier-cli/new.js': '' }))).not.toBe(base);
    expect(await verifierCodeDigest(build({ ...files, 'gateway/app.js': 'changed' }))).toBe(base);
    expect(await verifierCodeDigest(build({ ...files, 'core/verify.js.map': 'changed' }))).toBe(
      base,
    );
  });

  it('ignores symbolic links', async () => {
    const dist = build(files);
    const base = await verifierCodeDigest(dist);
    symlinkSync(join(dist, 'gateway/app.js'), join(dist, 'core/linked.js'));
    expect(await verifierCodeDigest(dist)).toBe(base);
  });

  it('is undefined where there is no compiled verifier', async () => {
    expect(await verifierCodeDigest(build({ 'core/verify.ts': 'export {};' }))).toBeUndefined();
    expect(await verifierCodeDigest(join(tmpdir(), 'no-such-dist-folder-here'))).toBeUndefined();
  });

  it('has no build to fingerprint when run from the sources', () => {
    expect(runningDistDir()).toBeUndefined();
  });

  it('matches the recipe on the real build', async () => {
    ensureBuilt();
    const dist = resolve(__dirname, '../../dist');
    expect(await verifierCodeDigest(dist)).toBe(coreutilsDigest(dist));
  });
});

describe('buildCodeDigest', () => {
  it('equals the documented sha256sum recipe over the whole build', async () => {
    const dist = build({ ...files, 'web/verify-page.js': '(()=>{})();\n', 'top.js': '1;\n' });
    expect(await buildCodeDigest(dist)).toBe(shellDigest(dist, BUILD_RECIPE));
  });

  it('covers every .js file, at any depth, and nothing else', async () => {
    const dist = build({ ...files, 'web/verify-page.js': '', 'web/verify.html': '' });
    const paths = (await codeManifest(dist, 'all'))
      .trim()
      .split('\n')
      .map((line) => line.slice(66));
    expect(paths).toEqual([
      'chaincode/index.js',
      'core/digest.js',
      'core/verify.js',
      'documents/verification-report.js',
      'gateway/app.js',
      'verifier-cli/commands/verify.js',
      'verifier-cli/main.js',
      'web/verify-page.js',
    ]);
  });

  it('changes with the gateway too, unlike the verifier digest', async () => {
    const base = await buildCodeDigest(build(files));
    expect(await buildCodeDigest(build({ ...files, 'gateway/app.js': 'changed' }))).not.toBe(base);
  });

  it('is undefined for a folder without .js files', async () => {
    expect(await buildCodeDigest(build({ 'a.ts': '' }))).toBeUndefined();
  });
});
