/**
 * Every relative link in the project's Markdown (README, BENCHMARKS, docs/, each part's README)
 * reaches a file of the repository, and every `#anchor` a heading of the file it names, as
 * GitHub renders headings into anchors. Links into code blocks are not links; web addresses are
 * not followed (the machine has no internet).
 */

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '..', '..');

/** The Markdown files git tracks. */
const FILES = execFileSync('git', ['ls-files', '*.md'], { cwd: ROOT, encoding: 'utf8' })
  .split('\n')
  .filter((name) => name !== '' && !name.startsWith('node_modules/'));

const withoutCode = (text: string) => text.replace(/```[\s\S]*?```/g, '');

/** A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces to dashes. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[`*_]/g, '')
    .replace(/[^\p{L}\p{N}\s-]/gu, '')
    .replace(/\s/g, '-');
}

const anchors = new Map<string, Set<string>>();

/** The anchors of `file`'s headings; a repeated heading gets `-1`, `-2`... */
function anchorsOf(file: string): Set<string> {
  let found = anchors.get(file);
  if (!found) {
    found = new Set();
    const seen = new Map<string, number>();
    for (const match of withoutCode(readFileSync(file, 'utf8')).matchAll(/^#{1,6}\s+(.*)$/gm)) {
      const anchor = anchorOf(match[1] as string);
      const times = seen.get(anchor) ?? 0;
      seen.set(anchor, times + 1);
      found.add(times === 0 ? anchor : `${anchor}-${times}`);
    }
    anchors.set(file, found);
  }
  return found;
}

describe('links in the Markdown', () => {
  it('finds the documents to check', () => {
    expect(FILES).toEqual(expect.arrayContaining(['README.md', 'BENCHMARKS.md']));
    expect(FILES.filter((name) => name.startsWith('docs/')).length).toBeGreaterThan(5);
  });

  it('makes anchors as GitHub does', () => {
    expect(anchorOf("Rebuilding the platform's node from a replica")).toBe(
      'rebuilding-the-platforms-node-from-a-replica',
    );
    expect(anchorOf('Trusted time stamps (RFC 3161)')).toBe('trusted-time-stamps-rfc-3161');
    expect(anchorOf('`evidence verify` verdicts')).toBe('evidence-verify-verdicts');
  });

  it.each(FILES)('%s: every relative link and anchor resolves', (name) => {
    const file = path.join(ROOT, name);
    const broken: string[] = [];
    for (const match of withoutCode(readFileSync(file, 'utf8')).matchAll(/\]\(([^)\s]+)\)/g)) {
      const link = match[1] as string;
      if (/^[a-z][a-z0-9+.-]*:/i.test(link)) continue;
      const [target, anchor] = link.split('#') as [string, string | undefined];
      const resolved = target === '' ? file : path.resolve(path.dirname(file), target);
      if (!existsSync(resolved)) broken.push(`${link}: no such file`);
      else if (anchor && resolved.endsWith('.md') && !anchorsOf(resolved).has(anchor))
        broken.push(`${link}: no such heading`);
    }
    expect(broken).toEqual([]);
  });
});
