/** Builds `dist/` once per test process when a test needs the compiled code. */

import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';

let built = false;

export function ensureBuilt(): void {
  if (built) return;
  if (!existsSync('dist/gateway/main.js') || process.env.FORCE_BUILD === '1') {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  }
  // The public verification page the node serves (npm run build:web).
  if (!existsSync('dist/web/verify-page.js') || process.env.FORCE_BUILD === '1') {
    execFileSync(process.execPath, ['scripts/build-web.mjs'], { stdio: 'inherit' });
  }
  built = statSync('dist').isDirectory();
}
