/**
 * The HTTP API against its own OpenAPI document, by a tool that is not ours: schemathesis reads
 * `/openapi.json` from the real, built node and sends thousands of requests generated from it
 * (boundary values, random values, values that break the documented schema, sequences that follow
 * the documented links), then checks every answer:
 *
 * - no 5xx, and the node process is still running at the end;
 * - every status code, content type, header and body is one the document declares;
 * - every request the document forbids is refused with a 4xx, and a method a path does not have
 *   with 405.
 *
 * Each role reaches other code (a platform or a lawyer deposits, a court annotates and confirms,
 * a bank records payments, another chain's node records anchors, an auditor reads the audit log,
 * an admin manages keys), so the run is made with a key of each. The event stream never ends by
 * itself: it gets a run of its own with a short read timeout. Seeds are fixed, so a failure
 * reproduces with the command line the test prints.
 *
 * schemathesis comes from PyPI, pinned, into a cache outside the repository
 * (scripts/install-test-tools.sh, run here when the tool is missing). The suite FAILS, it does not
 * skip, when the tool cannot be installed.
 */

import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../support/build';
import { adminKey, createKey, startNode, type NodeProcess } from '../support/node-process';

/**
 * The checks (schemathesis's names): answers as documented; requests that break the document
 * refused with a 4xx (a missing required header included); a method a path does not have
 * answered 405. Not `positive_data_acceptance`: the document cannot state every rule the node
 * applies (two parties with the same account, a date that does not exist), so schema-valid
 * requests are rightly refused.
 */
const CHECKS = [
  'not_a_server_error',
  'status_code_conformance',
  'content_type_conformance',
  'response_headers_conformance',
  'response_schema_conformance',
  'negative_data_rejection',
  'missing_required_header',
  'unsupported_method',
].join(',');
/**
 * A request the document forbids may be refused with 413 too: a batch over `maxItems` is
 * `BATCH_TOO_LARGE`, a size limit like `BODY_TOO_LARGE` (gateway/http-errors.ts). And not with a
 * 5xx, which schemathesis would accept here: `not_a_server_error` refuses those anyway.
 */
const CONFIG = `[checks.negative_data_rejection]
expected-statuses = [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429]
`;
const EVENTS = '/v1/agreements/events';
/**
 * Generated examples per operation and phase: 15 in the test run; more for a longer hunt
 * (`API_CONTRACT_EXAMPLES=80 npx vitest run test/e2e/api-contract.e2e.test.ts`).
 */
const EXAMPLES = Number(process.env.API_CONTRACT_EXAMPLES ?? 15);
const RUN_TIMEOUT_MS = Math.max(360_000, EXAMPLES * 24_000);

/** The part of schemathesis's JSON report this suite reads. */
interface RunReport {
  readonly complete: boolean;
  readonly operations: { readonly selected: number; readonly tested: number };
  readonly test_cases: { readonly generated: number; readonly errored: number };
  readonly failures: ReadonlyArray<{
    readonly code: string;
    readonly title: string;
    readonly operations: readonly string[];
  }>;
  readonly errors: readonly unknown[];
}

interface Run {
  readonly report: RunReport;
  readonly command: string;
  readonly output: string;
}

describe('the HTTP API against its OpenAPI document (schemathesis)', () => {
  let tool: string;
  let dir: string;
  let node: NodeProcess;
  const keys: Record<string, string> = {};

  beforeAll(async () => {
    ensureBuilt();
    tool = execFileSync('bash', ['scripts/install-test-tools.sh'], { encoding: 'utf8' }).trim();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'api-contract-'));
    node = await startNode({
      dataDir: path.join(dir, 'data'),
      // Generated requests come fast from one principal; the limit is a policy, not the subject.
      // Backups on, so their 202 answers are checked too (and BACKUP_RUNNING while one runs).
      env: { EVIDENCE_RATE_LIMIT_MAX: '1000000', EVIDENCE_BACKUP_DIR: path.join(dir, 'backups') },
    });
    keys.admin = await adminKey(node.dataDir);
    for (const [role, org] of [
      ['platform', 'PlatformOrg'],
      ['depositor', 'LawFirmOrg'],
      ['court', 'CourtOrg'],
      ['payment', 'BankOrg'],
      ['anchor', 'PlatformOrg'],
      ['auditor', 'AuditOrg'],
    ] as const) {
      keys[role] = await createKey(node.url, keys.admin, {
        org,
        account: `contract-${role}`,
        role,
      });
    }
  }, 300_000);

  afterAll(async () => {
    await node?.stop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  async function run(key: string, seed: number, extra: readonly string[]): Promise<Run> {
    const report = path.join(dir, `report-${seed}.json`);
    const config = path.join(dir, 'schemathesis.toml');
    await fs.writeFile(config, CONFIG);
    const args = [
      '--config-file',
      config,
      'run',
      `${node.url}/openapi.json`,
      '--checks',
      CHECKS,
      '--max-examples',
      String(EXAMPLES),
      '--workers',
      '1',
      '--seed',
      String(seed),
      // Made-up signature headers would only be refused as bad signatures; the key is real.
      '--generation-with-security-parameters',
      'false',
      '--generation-database',
      'none',
      '--no-color',
      '--report',
      'json',
      '--report-json-path',
      report,
      ...extra,
    ];
    const command = `schemathesis ${args.join(' ')} -H 'authorization: Bearer <key>' (${config}: ${JSON.stringify(CONFIG)})`;
    const output = await new Promise<string>((resolve) => {
      execFile(
        tool,
        [...args, '-H', `authorization: Bearer ${key}`],
        { cwd: dir, timeout: RUN_TIMEOUT_MS, maxBuffer: 64 * 1_048_576 },
        // Exit status 1 means failures: the report says which.
        (_error, stdout, stderr) => resolve(`${stdout}${stderr}`),
      );
    });
    let parsed: RunReport;
    try {
      parsed = JSON.parse(await fs.readFile(report, 'utf8')) as RunReport;
    } catch {
      throw new Error(`schemathesis wrote no report (${command}):\n${output.slice(-4000)}`);
    }
    return { report: parsed, command, output };
  }

  /** What the node logged at error level or above: the cause of a 5xx. */
  function nodeErrors(): string {
    return node
      .output()
      .split('\n')
      .filter((line) => /"level":(50|60)/.test(line))
      .join('\n')
      .slice(-6000);
  }

  /** Failures in one line each, for the assertion message. */
  function failuresOf(result: Run): string[] {
    return result.report.failures.map(
      (failure) => `${failure.code} ${failure.title}: ${failure.operations.join(', ')}`,
    );
  }

  it('serves a stored receipt after a receipt upgrade was the first receipt it validated', async () => {
    // Found by the runs below: once a node had validated a receipt sent for an upgrade before it
    // rebuilt any batch from the chain, every later rebuild failed with 500 LEDGER_CORRUPTED, so
    // receipts and certificates of older deposits were gone until a restart
    // (core/schema-compiler.ts).
    const auth = { authorization: `Bearer ${keys.platform}`, 'content-type': 'application/json' };
    const deposit = async (digest: string) => {
      const response = await fetch(`${node.url}/v1/evidence`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ digests: [digest] }),
      });
      expect(response.status).toBe(201);
      return ((await response.json()) as { receipt: unknown }).receipt;
    };
    const digest = `sha256:${randomBytes(32).toString('hex')}`;
    const receipt = await deposit(digest);
    // Enough later transactions that the first one's batch is no longer kept rebuilt.
    for (let i = 0; i < 40; i++) await deposit(`sha256:${randomBytes(32).toString('hex')}`);
    const upgrade = await fetch(`${node.url}/v1/receipts/upgrade`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify(receipt),
    });
    expect((await upgrade.json()) as unknown).toMatchObject({ code: 'ANCHOR_PENDING' });
    const stored = await fetch(`${node.url}/v1/evidence/${digest}/receipt`, { headers: auth });
    expect(stored.status).toBe(200);
    expect(await stored.json()).toEqual(receipt);
  });

  for (const [role, seed] of [
    ['platform', 11],
    ['depositor', 15],
    ['court', 12],
    ['payment', 16],
    ['anchor', 17],
    ['auditor', 18],
    ['admin', 13],
  ] as const) {
    it(
      `answers every generated request as documented, with ${/^[aeiou]/.test(role) ? 'an' : 'a'} ${role} key`,
      async () => {
        const result = await run(keys[role] as string, seed, [
          '--request-timeout',
          '15',
          '--exclude-path',
          EVENTS,
        ]);
        expect(
          failuresOf(result),
          `${result.command}\n${result.output.slice(-6000)}\n${nodeErrors()}`,
        ).toEqual([]);
        expect(result.report.errors, result.output.slice(-6000)).toEqual([]);
        expect(result.report.complete).toBe(true);
        // Every operation but the stream was tested, with many cases each.
        expect(result.report.operations.tested).toBe(result.report.operations.selected);
        expect(result.report.operations.tested).toBeGreaterThanOrEqual(40);
        expect(result.report.test_cases.generated).toBeGreaterThan(1_000);
        expect(node.child.exitCode).toBeNull();
      },
      RUN_TIMEOUT_MS + 30_000,
    );
  }

  it(
    'answers requests for the event stream as documented, events included',
    async () => {
      const result = await run(keys.court as string, 14, [
        '--request-timeout',
        '2',
        '--include-path',
        EVENTS,
      ]);
      expect(failuresOf(result), `${result.command}\n${result.output.slice(-6000)}`).toEqual([]);
      expect(result.report.operations.tested).toBe(1);
      expect(result.report.test_cases.generated).toBeGreaterThan(5);
      expect(node.child.exitCode).toBeNull();
    },
    RUN_TIMEOUT_MS + 30_000,
  );
});
