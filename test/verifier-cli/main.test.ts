import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../verifier-cli/main';
import { runCli } from './cli-harness';

const cwd = process.cwd();
const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };

describe('evidence (top level)', () => {
  it('prints the version from package.json', async () => {
    const run = await runCli(['--version'], { cwd });
    expect(run.status).toBe(0);
    expect(run.stdout).toBe(`judicial-evidence-node ${version}\n`);
  });

  it('lists every command with --help', async () => {
    const run = await runCli(['--help'], { cwd });
    expect(run.status).toBe(0);
    for (const command of COMMANDS)
      expect(run.stdout).toMatch(new RegExp(`^ {2}${command.name} +\\S`, 'm'));
  });

  it.each(COMMANDS.map((c) => c.name))(
    'prints the help of %s with --help and with help NAME',
    async (name) => {
      const flag = await runCli([name, '--help'], { cwd });
      expect(flag.status).toBe(0);
      expect(flag.stdout).toMatch(new RegExp(`^Usage: evidence ${name} `));
      const word = await runCli(['help', name], { cwd });
      expect(word.stdout).toBe(flag.stdout);
    },
  );

  it('exits 2 with the overview on stderr when no command is given', async () => {
    const run = await runCli([], { cwd });
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('Usage: evidence COMMAND');
  });

  it.each([[['notarize', 'x']], [['--frobnicate']], [['help', 'notarize']]])(
    'exits 2 (USAGE) for %j',
    async (argv) => {
      const run = await runCli(argv, { cwd });
      expect(run.status).toBe(2);
      expect(run.errorCodes).toEqual(['USAGE']);
    },
  );

  it('prints a usage error as JSON on stdout under --json', async () => {
    const run = await runCli(['verify', '--json'], { cwd });
    expect(run.status).toBe(2);
    expect(run.json()).toEqual({ error: { code: 'USAGE', message: expect.any(String) } });
  });
});
