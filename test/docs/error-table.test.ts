/**
 * The README's error table is part of the contract with clients: every stable code appears in it
 * exactly once, with the HTTP status of gateway/http-errors.ts and the exit status of
 * verifier-cli/exit-codes.ts.
 */

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, type ErrorCode } from '../../core/errors';
import { HTTP_STATUS } from '../../gateway/http-errors';
import { exitStatusForError } from '../../verifier-cli/exit-codes';

interface Row {
  readonly codes: string[];
  readonly http: number;
  readonly exits: number[];
}

function errorRows(): Row[] {
  const readme = readFileSync('README.md', 'utf8');
  const section = readme.slice(readme.indexOf('## Errors'), readme.indexOf('### Verdicts'));
  return section
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => {
      const [codes = '', http = '', exits = ''] = line
        .split('|')
        .slice(1)
        .map((cell) => cell.trim());
      return {
        codes: [...codes.matchAll(/`([A-Z_]+)`/g)].map((m) => m[1]!),
        http: Number.parseInt(http, 10),
        exits: exits.split('/').map((e) => Number.parseInt(e.trim(), 10)),
      };
    });
}

describe('README error table', () => {
  const rows = errorRows();

  it('names every stable code exactly once', () => {
    const listed = rows.flatMap((row) => row.codes).sort();
    expect(listed).toEqual([...ERROR_CODES].sort());
  });

  it('gives each code the HTTP status and CLI exit status the code uses', () => {
    for (const row of rows) {
      row.codes.forEach((code, index) => {
        expect(HTTP_STATUS[code as ErrorCode], code).toBe(row.http);
        const exit = row.exits.length === 1 ? row.exits[0] : row.exits[index];
        expect(exitStatusForError(code as ErrorCode), code).toBe(exit);
      });
    }
  });
});
