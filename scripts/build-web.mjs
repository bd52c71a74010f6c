// Builds the public verification page (`/verify`) into dist/web/: the static HTML and CSS, and one
// JS bundle made by esbuild from web/verify-page.ts together with core's verification code, so the
// browser runs the very checks `evidence verify` runs. `npm run build:web`; `npm run build` calls it.
//
// What core needs from Node is provided for the browser, and nothing else gets in:
//   node:crypto             -> web/crypto-shim.ts (SHA-256, SM3, Ed25519, ECDSA P-256, RSA PKCS#1 v1.5; noble)
//                              (SM2 signatures: sm-crypto-v2, bundled as it is, also on noble)
//   Buffer                  -> the `buffer` package, injected (web/buffer-global.ts)
//   core/schema-compiler.ts -> web/schema-compiler.ts: validators Ajv compiles HERE, at build time,
//                              from core's own schemas and options (the page's Content-Security-
//                              Policy forbids the code generation Ajv does at run time)
// Any other `node:` import fails the build. The page loads nothing from elsewhere.

import { copyFile, mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Ajv from 'ajv';
import standaloneCode from 'ajv/dist/standalone/index.js';
import { analyzeMetafile, build } from 'esbuild';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

/** The schemas the page validates with (`$id`, and where core exports them). */
export const BROWSER_SCHEMAS = [
  { id: 'receipt', module: './core/receipt', name: 'receiptSchema' },
  { id: 'trust-file', module: './core/trust', name: 'trustFileSchema' },
];

/** Static files copied as they are. */
const STATIC_FILES = ['verify.html', 'verify.css'];

/** Core's schemas and Ajv options, loaded from the TypeScript sources (bundled in memory). */
async function coreSchemas() {
  const lines = BROWSER_SCHEMAS.map(
    (s) => `export { ${s.name} as ${JSON.stringify(s.id)} } from '${s.module}';`,
  );
  lines.push(`export { AJV_OPTIONS } from './core/schema-compiler';`);
  const result = await build({
    stdin: { contents: lines.join('\n'), resolveDir: ROOT, loader: 'ts' },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    write: false,
    logLevel: 'silent',
  });
  const module = { exports: {} };
  new Function('module', 'exports', 'require', result.outputFiles[0].text)(
    module,
    module.exports,
    require,
  );
  return module.exports;
}

/**
 * Source of a module exporting, as default, `{ [$id]: validate }` for {@link BROWSER_SCHEMAS}:
 * Ajv's standalone code, compiled with core's options. ES module for the bundle; CommonJS
 * (`module.exports.default`) for tests that compare it with core's run-time validators.
 */
export async function validatorsSource({ esm = true } = {}) {
  const schemas = await coreSchemas();
  const ajv = new Ajv({ ...schemas.AJV_OPTIONS, code: { source: true, esm } });
  const names = {};
  BROWSER_SCHEMAS.forEach((s, index) => {
    ajv.addSchema(schemas[s.id]);
    names[`v${index}`] = s.id;
  });
  // Ajv exports each validator by name: a binding in ESM, a property of `exports` in CommonJS.
  const table = `{ ${Object.entries(names)
    .map(([name, id]) => `${JSON.stringify(id)}: ${esm ? name : `exports.${name}`}`)
    .join(', ')} }`;
  return (
    standaloneCode(ajv, names) +
    (esm ? `\nexport default ${table};\n` : `\nmodule.exports.default = ${table};\n`)
  );
}

/** esbuild plugin: the substitutions listed at the top of this file. */
function browserCore(validators) {
  const web = (file) => join(ROOT, 'web', file);
  return {
    name: 'browser-core',
    setup(plugin) {
      plugin.onResolve({ filter: /^node:crypto$/ }, () => ({ path: web('crypto-shim.ts') }));
      plugin.onResolve({ filter: /^\.\/schema-compiler$/ }, (args) =>
        relative(ROOT, args.importer).startsWith('core')
          ? { path: web('schema-compiler.ts') }
          : undefined,
      );
      plugin.onResolve({ filter: /^virtual:precompiled-validators$/ }, () => ({
        path: 'precompiled-validators',
        namespace: 'virtual',
      }));
      plugin.onLoad({ filter: /.*/, namespace: 'virtual' }, () => ({
        contents: validators,
        resolveDir: ROOT,
        loader: 'js',
      }));
      plugin.onResolve({ filter: /^node:/ }, (args) => ({
        errors: [
          {
            text: `${relative(ROOT, args.importer)} imports ${args.path}, which the page does not provide`,
          },
        ],
      }));
    },
  };
}

/**
 * Builds the page into `outDir` (default dist/web). Returns the bundle's path and size and
 * esbuild's metafile (what went into it).
 * @throws when esbuild fails (an unresolved import, a Node module reached from the page).
 */
export async function buildWeb({ outDir = join(ROOT, 'dist', 'web') } = {}) {
  await mkdir(outDir, { recursive: true });
  const result = await build({
    entryPoints: [join(ROOT, 'web', 'verify-page.ts')],
    outfile: join(outDir, 'verify-page.js'),
    bundle: true,
    minify: true,
    format: 'iife',
    platform: 'browser',
    target: ['es2022'],
    charset: 'utf8',
    legalComments: 'eof',
    inject: [join(ROOT, 'web', 'buffer-global.ts')],
    plugins: [browserCore(await validatorsSource())],
    metafile: true,
    logLevel: 'warning',
  });
  for (const file of STATIC_FILES) await copyFile(join(ROOT, 'web', file), join(outDir, file));
  const [[path, output]] = Object.entries(result.metafile.outputs);
  return {
    bundle: relative(ROOT, resolve(ROOT, path)),
    bytes: output.bytes,
    metafile: result.metafile,
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { bundle, bytes, metafile } = await buildWeb();
  console.log(`${bundle}  ${(bytes / 1024).toFixed(1)} KiB`);
  if (process.argv.includes('--analyze')) console.log(await analyzeMetafile(metafile));
}
