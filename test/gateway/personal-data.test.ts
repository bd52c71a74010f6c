/**
 * Personal data never reaches chain state, the node's stores, its logs or its responses
 * (DESIGN.md §6). A real node (embedded ledger, keys file, audit log, pino at trace level) is sent
 * names, an ID number, a phone number and addresses in every field a client can send: bodies of
 * every write route, path parameters, query strings, headers, content types. Then every file under
 * the data directory is searched (raw bytes, and the decompressed content of both LevelDB stores
 * read through LevelDB, since it may compress with snappy), and so are the log and every response.
 */

import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Level } from 'level';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestBytes } from '../../core/digest';
import { loadConfig } from '../../gateway/config';
import { openEmbeddedLedger } from '../../gateway/ledger/embedded-ledger';
import { startNode, type RunningNode } from '../../gateway/server';
import { tempDir } from './helpers';
import { LogCapture } from './security-helpers';

const NAMES = ['张三', '欧阳娜娜'];
const ID_NUMBER = '11010519491231002X';
const PHONE = '13812345678';
const ADDRESSES = ['北京市朝阳区建国路88号', '88 Jianguo Road Chaoyang'];
const SECRETS = [...NAMES, ID_NUMBER, PHONE, ...ADDRESSES];
/** Every form a secret could be stored or logged in: UTF-8, percent-encoded, JSON-escaped. */
function forms(secret: string): string[] {
  const escaped = JSON.stringify(secret).slice(1, -1);
  const unicode = [...secret].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return [
    secret,
    secret.toLowerCase(),
    encodeURIComponent(secret),
    encodeURIComponent(secret).toLowerCase(),
    escaped,
    unicode.join(''),
    secret.replace(/ /g, '+'),
  ].filter((form, index, all) => all.indexOf(form) === index);
}
/** Header values are bytes: send the UTF-8 bytes of CJK text as they would arrive. */
const header = (text: string) => Buffer.from(text, 'utf8').toString('latin1');

function findSecrets(text: string, where: string, found: string[]): void {
  for (const secret of SECRETS) {
    for (const form of forms(secret)) {
      if (text.includes(form) || text.toLowerCase().includes(form.toLowerCase())) {
        found.push(`${where}: ${form}`);
      }
    }
  }
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await filesUnder(full)));
    else files.push(full);
  }
  return files;
}

describe('personal data', () => {
  let dir: string;
  let node: RunningNode | undefined;
  const log = new LogCapture();
  const printed: string[] = [];
  const responses: string[] = [];
  const outcomes: Array<[string, number]> = [];

  beforeAll(async () => {
    dir = await tempDir('pii-');
    const config = loadConfig(
      {},
      { dataDir: dir, port: 0, logLevel: 'trace', maxEventLoopDelayMs: 0 },
    );
    node = await startNode(config, {
      openLedger: openEmbeddedLedger,
      io: { stdout: (l) => printed.push(l), stderr: (l) => printed.push(l) },
      logDestination: log,
    });
  });

  afterAll(async () => {
    await node?.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  async function send(
    what: string,
    method: string,
    target: string,
    options: { key?: string; headers?: Record<string, string>; body?: string } = {},
  ): Promise<{ status: number; json: Record<string, unknown> }> {
    const response = await fetch(`${(node as RunningNode).url}${target}`, {
      method,
      headers: {
        ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(options.key ? { authorization: `Bearer ${options.key}` } : {}),
        ...options.headers,
      },
      ...(options.body !== undefined ? { body: options.body } : {}),
    });
    const text = await response.text();
    const headers = [...response.headers.entries()].map(([k, v]) => `${k}: ${v}`).join('\n');
    responses.push(`${headers}\n\n${text}`);
    outcomes.push([what, response.status]);
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // not JSON (e.g. a 408 from Node)
    }
    return { status: response.status, json };
  }

  it('refuses personal data in every field, stores none of it, logs none and echoes none', async () => {
    const admin = (await fs.readFile(path.join(dir, 'admin.key'), 'utf8')).trim();
    const create = async (body: unknown) =>
      send('create principal', 'POST', '/v1/admin/principals', {
        key: admin,
        body: JSON.stringify(body),
      });
    const platform = (await create({ org: 'ShopOrg', account: 'shop-1', role: 'platform' })).json
      .key as string;
    const court = (await create({ org: 'CourtOrg', account: 'judge-1', role: 'court' })).json
      .key as string;
    const auditor = (await create({ org: 'AuditOrg', account: 'auditor-1', role: 'auditor' })).json
      .key as string;
    expect([platform, court, auditor].every((k) => /^ek_/.test(k))).toBe(true);

    // Fixtures whose content is full of personal data: only their digests are sent.
    const fixtures = [
      `借款合同\n出借人：${NAMES[0]}，身份证号 ${ID_NUMBER}，电话 ${PHONE}\n地址：${ADDRESSES[0]}`,
      `Chat log: ${NAMES[1]} <${PHONE}> lives at ${ADDRESSES[1]}`,
    ];
    const digests = fixtures.map((text) => digestBytes(Buffer.from(text, 'utf8')));
    const good = await send('deposit fixture', 'POST', '/v1/evidence', {
      key: platform,
      body: JSON.stringify({
        digests: [digests[0]?.sha256, digests[0]?.sm3],
        mediaType: 'text/plain',
      }),
    });
    expect(good.status).toBe(201);
    const digest = good.json.digest as string;
    const batch = await send('batch fixture', 'POST', '/v1/evidence/batch', {
      key: platform,
      body: JSON.stringify({ items: [{ digests: [digests[1]?.sha256] }] }),
    });
    expect(batch.status).toBe(200);
    const annotated = await send('annotation', 'POST', `/v1/evidence/${digest}/annotations`, {
      key: court,
      body: JSON.stringify({ kind: 'court-hold', reference: '(2026)京0105民初1234号' }),
    });
    expect(annotated.status).toBe(201);

    const sha = `sha256:${'a'.repeat(64)}`;
    for (const secret of SECRETS) {
      const items = [
        { digests: [sha], mediaType: `text/${secret}` },
        { digests: [sha], process: { token: secret, phase: 'before' } },
        { digests: [sha], process: { token: `order-${secret}`, phase: 'during' } },
        { digests: [sha], evidenceType: secret },
        { digests: [secret] },
        { digests: [`sha256:${secret}`] },
        { digests: [sha], identityCommitment: secret, metadataCommitment: `sha256:${secret}` },
        { digests: [sha], size: secret },
        { digests: [sha], [secret]: secret },
        { digests: [sha], depositor: { org: secret, account: secret } },
      ];
      for (const item of items) {
        const single = await send('deposit', 'POST', '/v1/evidence', {
          key: platform,
          body: JSON.stringify(item),
        });
        expect(single.status, JSON.stringify(item)).toBe(400);
      }
      const many = await send('batch', 'POST', '/v1/evidence/batch', {
        key: platform,
        body: JSON.stringify({ items, [secret]: 1 }),
      });
      expect(many.status).toBe(400);
      const perItem = await send('batch items', 'POST', '/v1/evidence/batch', {
        key: platform,
        body: JSON.stringify({ items }),
      });
      expect(perItem.status).toBe(200);
      expect(
        (perItem.json.results as Array<Record<string, unknown>>).every((r) => 'error' in r),
      ).toBe(true);
      for (const annotation of [
        { kind: 'note', reference: secret },
        { kind: 'note', reference: `case-${secret}` },
        { kind: 'note', reference: `(2026)${secret}民初1号` },
        { kind: secret },
        { kind: 'note', documentDigest: `sha256:${secret}` },
        { kind: 'note', by: { org: secret, account: secret } },
        { kind: 'note', [secret]: secret },
      ]) {
        const refused = await send('annotate', 'POST', `/v1/evidence/${digest}/annotations`, {
          key: court,
          body: JSON.stringify(annotation),
        });
        expect(refused.status, JSON.stringify(annotation)).toBe(400);
      }
      for (const principal of [
        { org: secret, account: 'a', role: 'platform' },
        { org: 'A', account: secret, role: 'platform' },
        { org: 'A', account: `a.${secret}`, role: 'platform' },
        { org: 'A', account: 'a', role: secret },
        { org: 'A', account: 'a', role: 'platform', tlsFingerprint: secret },
        {
          org: 'A',
          account: 'a',
          role: 'platform',
          publicKey: { algorithm: 'sm2-sm3', key: secret, userId: secret },
        },
      ]) {
        const refused = await create(principal);
        expect(refused.status, JSON.stringify(principal)).toBe(400);
        const legacy = await send('create key', 'POST', '/v1/admin/keys', {
          key: admin,
          body: JSON.stringify(principal),
        });
        expect(legacy.status).toBe(400);
      }
      const encoded = encodeURIComponent(secret);
      for (const [method, target, key] of [
        ['GET', `/v1/evidence/${encoded}`, auditor],
        ['GET', `/v1/evidence/${encoded}/receipt`, auditor],
        ['GET', `/v1/evidence/${encoded}/history`, auditor],
        ['POST', `/v1/evidence/${encoded}/annotations`, court],
        ['GET', `/v1/public/evidence/${encoded}`, undefined],
        ['GET', `/v1/anchors/${encoded}`, undefined],
        ['GET', `/v1/anchors/${encoded}/forks`, undefined],
        ['GET', `/v1/admin/principals/${encoded}`, admin],
        ['PATCH', `/v1/admin/principals/${encoded}`, admin],
        ['DELETE', `/v1/admin/keys/${encoded}`, admin],
        ['POST', `/v1/admin/principals/${encoded}/rotate`, admin],
        ['GET', `/v1/audit?from=${encoded}`, auditor],
        ['GET', `/v1/chain?name=${encoded}`, undefined],
        ['GET', `/${encoded}`, undefined],
        ['GET', `/v1/${encoded}/x`, auditor],
      ] as const) {
        const response = await send('path or query', method, target, {
          ...(key ? { key } : {}),
          ...(method === 'POST' || method === 'PATCH' ? { body: '{"role":"court"}' } : {}),
        });
        expect(response.status, `${method} ${target}`).toBeGreaterThanOrEqual(200);
      }
      const headerSets: Array<Record<string, string>> = [
        { authorization: `Bearer ${header(secret)}` },
        { 'x-api-key': header(secret) },
        { 'x-request-id': header(secret), authorization: `Bearer ${auditor}` },
        { 'user-agent': header(secret), authorization: `Bearer ${auditor}` },
        { 'x-evidence-key-id': header(secret), 'x-evidence-nonce': header(secret) },
        {
          'x-evidence-key-id': `sha256:${'b'.repeat(64)}`,
          'x-evidence-timestamp': String(Date.now()),
          'x-evidence-nonce': `${PHONE}-nonce-${PHONE}`,
          'x-evidence-signature': 'AAAA',
        },
      ];
      for (const headers of headerSets) {
        const response = await send('headers', 'GET', `/v1/evidence/${digest}`, { headers });
        expect(response.status).toBeLessThan(500);
      }
      for (const contentType of [
        `application/${header(secret)}`,
        `text/plain; name=${header(secret)}`,
      ]) {
        const response = await send('content type', 'POST', '/v1/evidence', {
          key: platform,
          headers: { 'content-type': contentType },
          body: JSON.stringify({ digests: [sha], note: secret }),
        });
        expect(response.status).toBe(415);
      }
      const broken = await send('invalid json', 'POST', '/v1/evidence', {
        key: platform,
        body: `{"digests": ["${secret}"`,
      });
      expect(broken.status).toBe(400);
    }

    // The reads that worked still work: refusals changed nothing.
    const state = await send('read', 'GET', `/v1/evidence/${digest}`, { key: auditor });
    expect(state.status).toBe(200);
    expect((state.json.annotations as unknown[]).length).toBe(1);
    const audit = await send('audit', 'GET', '/v1/audit?limit=1000', { key: auditor });
    expect(audit.status).toBe(200);
    expect(outcomes.filter(([, status]) => status >= 500)).toEqual([]);

    await (node as RunningNode).stop();
    node = undefined;

    const found: string[] = [];
    // 1. Every file under the data directory, raw bytes (LevelDB .log and .ldb, keys, node key).
    const files = await filesUnder(dir);
    expect(files.some((f) => f.endsWith('.log'))).toBe(true);
    for (const file of files) {
      const bytes = await fs.readFile(file);
      findSecrets(bytes.toString('utf8'), path.relative(dir, file), found);
      findSecrets(bytes.toString('latin1'), `${path.relative(dir, file)} (latin1)`, found);
    }
    // 2. Both stores opened through LevelDB: everything decompressed, keys and values.
    let records = 0;
    for (const store of ['ledger', 'audit']) {
      const db = new Level<string, string>(path.join(dir, store), { valueEncoding: 'utf8' });
      for await (const [key, value] of db.iterator()) {
        records += 1;
        findSecrets(`${key}\n${value}`, `${store} store`, found);
      }
      await db.close();
    }
    expect(records).toBeGreaterThan(100);
    // 3. The log and what the node printed; 4. every response.
    expect(log.text.length).toBeGreaterThan(1000);
    findSecrets(log.text, 'log', found);
    findSecrets(printed.join('\n'), 'stdout', found);
    responses.forEach((text, index) => findSecrets(text, `response ${index}`, found));
    console.log(
      `personal data scan: ${outcomes.length} requests, ${files.length} files, ${records} ` +
        `LevelDB records, ${log.text.length} log bytes, ${responses.length} responses; ` +
        `${found.length} findings`,
    );
    expect(found).toEqual([]);

    // The fixtures' digests did go on chain, and the chain still verifies.
    const ledger = await openEmbeddedLedger({ dataDir: dir, org: 'NodeOrg' });
    expect(await ledger.verifyChain()).toBeGreaterThan(1);
    await ledger.close();
    expect(
      createHash('sha256')
        .update(fixtures[0] as string)
        .digest('hex'),
    ).toBe(digest.slice('sha256:'.length));
  }, 120_000);
});
