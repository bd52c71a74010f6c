/**
 * The public verification page in a real browser: the built node process serves `/verify`,
 * Debian's Chromium (driven by playwright-core) opens it, and files are set on its inputs as a
 * user would drop them. Proven here:
 *
 * - a deposited file is hashed in the browser and found on chain; a changed one is not;
 * - with the receipt, the full offline verification runs in the page (VERIFIED; MISMATCH for the
 *   changed file), against the node's trust file or a pinned one (UNTRUSTED for another chain's);
 * - a 24 MiB file is hashed in chunks to the same digests as node:crypto;
 * - once the node holds proof that its chain's key signed two histories, the page says so;
 * - no request carries a body, every request is a GET to the node's own origin on 127.0.0.1, and
 *   Chromium resolves no other host at all (as with the network cable pulled);
 * - no console error: no Content-Security-Policy or Trusted Types violation.
 *
 * Chromium is required: the suite FAILS (it does not skip) when it is missing
 * (scripts/install-system-deps.sh installs it). Screenshots go to test-artifacts/.
 */

import { createPrivateKey, randomBytes, sign } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type BrowserContext, type Page, type Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blockHash, blockSigningBytes } from '../../core/block';
import { digestBytes, type DigestSet } from '../../core/digest';
import type { Receipt } from '../../core/receipt';
import { parseTimestampResponse, parseTimestampToken } from '../../core/timestamp';
import { authorityCertificate } from '../../core/timestamp-authority';
import type { TrustFile } from '../../core/trust';
import { ensureBuilt } from '../support/build';
import { adminKey, createKey, startNode, type NodeProcess } from '../support/node-process';
import { fontConfig } from '../support/fonts';
import {
  createTsaAuthority,
  startTsaServer,
  type TsaAuthority,
  type TsaServer,
} from '../support/openssl-tsa';
import { waitFor } from '../support/wait';
import { makeNodeKey, trustFor } from '../support/receipt-factory';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = path.resolve('test-artifacts');

interface SeenRequest {
  readonly url: string;
  readonly method: string;
  readonly body: Buffer | null;
}

describe('the public verification page in Chromium', () => {
  let dir: string;
  let node: NodeProcess;
  let context: BrowserContext;
  let page: Page;
  const requests: SeenRequest[] = [];
  const problems: string[] = [];
  const files: Record<string, string> = {};
  let content: Buffer;
  let digests: DigestSet;
  let big: Buffer;
  let admin: string;
  let firstNodeKey: string;
  let depositor: string;
  let authority: TsaAuthority | undefined;
  let tsa: TsaServer | undefined;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `Chromium is not installed at ${CHROMIUM} (Debian: apt-get install chromium, or run scripts/install-system-deps.sh)`,
      );
    }
    ensureBuilt();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'e2e-verify-page-'));
    // The node has a time-stamp authority stamp its tip, so receipts can be upgraded with stamps.
    authority = await createTsaAuthority('rsa');
    tsa = await startTsaServer(authority);
    node = await startNode({
      dataDir: path.join(dir, 'data'),
      env: {
        EVIDENCE_ANCHOR_TARGETS: JSON.stringify([
          { name: 'node-tsa', kind: 'rfc3161', url: tsa.url, certFile: authority.certFile },
        ]),
        EVIDENCE_ANCHOR_INTERVAL_MS: '200',
      },
    });
    admin = await adminKey(node.dataDir);
    // The key that signs the first blocks (a later test rotates it away).
    firstNodeKey = await fs.readFile(path.join(node.dataDir, 'node-key.pem'), 'utf8');
    depositor = await createKey(node.url, admin, {
      org: 'PlatformOrg',
      account: 'lawyer-1',
      role: 'depositor',
    });

    content = Buffer.concat([Buffer.from('调解协议 mediation agreement\n'), randomBytes(4096)]);
    digests = digestBytes(content);
    const response = await fetch(`${node.url}/v1/evidence`, {
      method: 'POST',
      headers: { authorization: `Bearer ${depositor}`, 'content-type': 'application/json' },
      body: JSON.stringify({ digests: [digests.sha256, digests.sm3], evidenceType: 'contract' }),
    });
    expect(response.status).toBe(201);
    const receipt = ((await response.json()) as { receipt: Receipt }).receipt;
    const trust = await (await fetch(`${node.url}/v1/trust`)).text();

    big = randomBytes(24 * 1024 * 1024 + 11);
    const write = async (name: string, data: string | Buffer) => {
      files[name] = path.join(dir, name);
      await fs.writeFile(files[name] as string, data);
    };
    await write('agreement.pdf', content);
    await write('agreement-changed.pdf', Buffer.concat([content, Buffer.from(' ')]));
    await write('agreement.pdf.receipt.json', JSON.stringify(receipt, null, 2));
    await write('trust.json', trust);
    await write('other-trust.json', JSON.stringify(trustFor('other-chain', makeNodeKey())));
    await write('video.bin', big);

    context = await chromium.launchPersistentContext(path.join(dir, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      env: { ...process.env, FONTCONFIG_FILE: await fontConfig(dir) },
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        // As with the network cable pulled: no host resolves but the node's own address.
        '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
      ],
      viewport: { width: 1000, height: 900 },
      serviceWorkers: 'block',
    });
    context.on('request', (request: Request) => {
      requests.push({
        url: request.url(),
        method: request.method(),
        body: request.postDataBuffer(),
      });
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (message) => {
      if (message.type() !== 'error' && message.type() !== 'warning') return;
      // The lookup of a digest that is not on chain is a 404, which Chromium reports as such.
      const expected404 =
        message.text().includes('status of 404') &&
        /\/v1\/public\/evidence\/|\/favicon\.ico$/.test(message.location().url);
      if (!expected404) problems.push(`${message.type()}: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    await fs.mkdir(ARTIFACTS, { recursive: true });
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await node?.stop();
    await tsa?.close();
    await authority?.remove();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  const open = async (query = '') => {
    await page.goto(`${node.url}/verify${query}`);
    await page.locator('html[data-ready="true"]').waitFor();
  };

  /** `[step, status]` of each row of the checks table. */
  const checkRows = async (): Promise<(string | null)[][]> => {
    const rows = page.locator('#checks-body tr');
    const found: (string | null)[][] = [];
    for (let i = 0; i < (await rows.count()); i++) {
      const row = rows.nth(i);
      found.push([await row.getAttribute('data-step'), await row.getAttribute('data-status')]);
    }
    return found;
  };

  /** The rows of a receipt that verified: each step of core's verification passed. */
  const EVERY_CHECK_PASSED = [
    ['receipt', 'pass'],
    ['digest', 'pass'],
    ['inclusion', 'pass'],
    ['transaction', 'pass'],
    ['block', 'pass'],
    ['signature', 'pass'],
  ];

  const digestShown = (algorithm: string) =>
    page.locator(`#file-digests dd[data-algorithm="${algorithm}"]`).textContent();

  it('hashes a deposited file in the browser and finds it on chain', async () => {
    await open();
    await page.setInputFiles('#file-input', files['agreement.pdf'] as string);
    await page.locator('#lookup[data-state="on-chain"]').waitFor();
    expect(await digestShown('sha256')).toBe(digests.sha256);
    expect(await digestShown('sm3')).toBe(digests.sm3);
    expect(await page.locator('#progress').getAttribute('value')).toBe('100');
    await expect(page.locator('#lookup').textContent()).resolves.toContain('已上链');
  }, 60_000);

  it('does not find a changed file', async () => {
    await page.setInputFiles('#file-input', files['agreement-changed.pdf'] as string);
    await page.locator('#lookup[data-state="not-on-chain"]').waitFor();
    await expect(page.locator('#lookup').textContent()).resolves.toContain('Not on chain');
  }, 60_000);

  it('verifies the file against its receipt in the page: VERIFIED, every check passed', async () => {
    await page.setInputFiles('#file-input', files['agreement.pdf'] as string);
    await page.locator('#lookup[data-state="on-chain"]').waitFor();
    await page.setInputFiles('#receipt-input', files['agreement.pdf.receipt.json'] as string);
    await page.locator('#verdict[data-verdict="VERIFIED"]').waitFor();
    expect(await checkRows()).toEqual(EVERY_CHECK_PASSED);
    await expect(page.locator('#trust-source').textContent()).resolves.toContain(
      'a court should pin its own',
    );
    await page.screenshot({ path: path.join(ARTIFACTS, 'verify-page.png'), fullPage: true });
  }, 60_000);

  it('says MISMATCH when the file does not match the receipt', async () => {
    await page.setInputFiles('#file-input', files['agreement-changed.pdf'] as string);
    await page.locator('#verdict[data-verdict="MISMATCH"]').waitFor();
    await expect(page.locator('#verdict').textContent()).resolves.toContain('不一致');
    await expect(
      page.locator('#checks-body tr[data-step="digest"]').textContent(),
    ).resolves.toContain('DIGEST_MISMATCH');
    await page.screenshot({
      path: path.join(ARTIFACTS, 'verify-page-mismatch.png'),
      fullPage: true,
    });
  }, 60_000);

  it("verifies against a pinned trust file, and refuses another chain's as UNTRUSTED", async () => {
    await page.setInputFiles('#file-input', files['agreement.pdf'] as string);
    await page.setInputFiles('#trust-input', files['other-trust.json'] as string);
    await page.locator('#verdict[data-verdict="UNTRUSTED"]').waitFor();
    await page.setInputFiles('#trust-input', files['trust.json'] as string);
    await page.locator('#verdict[data-verdict="VERIFIED"]').waitFor();
    await expect(page.locator('#trust-source').textContent()).resolves.toContain(
      'Pinned trust file trust.json',
    );
  }, 60_000);

  it('hashes a 24 MiB file in chunks to the digests node:crypto gives', async () => {
    await open();
    await page.setInputFiles('#file-input', files['video.bin'] as string);
    await page.locator('#lookup[data-state="not-on-chain"]').waitFor({ timeout: 60_000 });
    const expected = digestBytes(big);
    expect(await digestShown('sha256')).toBe(expected.sha256);
    expect(await digestShown('sm3')).toBe(expected.sm3);
    await expect(page.locator('#progress-text').textContent()).resolves.toContain('100%');
  }, 90_000);

  it('looks up the digest a QR code names, without a file', async () => {
    await open(`?digest=${digests.sha256}`);
    await page.locator('#lookup[data-state="on-chain"]').waitFor();
    await expect(page.locator('#qr-digest').textContent()).resolves.toContain(digests.sha256);
  }, 60_000);

  it('takes a file dropped on the zone, as from the desktop', async () => {
    await open();
    // Playwright's drag-and-drop moves elements, not files: dispatch the drop a desktop makes.
    await page.evaluate(`(() => {
      const transfer = new DataTransfer();
      transfer.items.add(new File(['dropped, never deposited'], 'dropped.txt'));
      const zone = document.getElementById('file-drop');
      zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: transfer, bubbles: true, cancelable: true }));
      zone.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    })()`);
    await page.locator('#lookup[data-state="not-on-chain"]').waitFor();
    await expect(page.locator('#file-name').textContent()).resolves.toBe('dropped.txt');
    expect(await digestShown('sha256')).toBe(
      digestBytes(Buffer.from('dropped, never deposited')).sha256,
    );
  }, 60_000);

  it('is usable from the keyboard: Tab reaches the three labelled file inputs in order', async () => {
    await open();
    const focused: unknown[] = [];
    for (let i = 0; i < 3; i++) {
      await page.keyboard.press('Tab');
      focused.push(await page.evaluate('document.activeElement && document.activeElement.id'));
    }
    expect(focused).toEqual(['file-input', 'receipt-input', 'trust-input']);
    for (const id of ['file-input', 'receipt-input', 'trust-input']) {
      const label = page.locator(`label[for="${id}"]`);
      expect(await label.count()).toBe(1);
      expect((await label.textContent())?.trim()).not.toBe('');
    }
  }, 60_000);

  it('verifies a receipt time-stamped by an RSA authority in the page, and refuses the token changed', async () => {
    // A real RFC 3161 authority (OpenSSL) stamps the receipt's block; the court pins it.
    const authority = await createTsaAuthority('rsa');
    try {
      const receipt = JSON.parse(
        await fs.readFile(files['agreement.pdf.receipt.json'] as string, 'utf8'),
      ) as Receipt;
      const imprint = blockHash(receipt.proof.block.header).slice('sha256:'.length);
      const reply = parseTimestampResponse(await authority.stamp(imprint));
      if (!reply.token) throw new Error('the authority did not stamp');
      const token = Buffer.from(reply.token);
      const stamped: Receipt = {
        ...receipt,
        anchors: [
          {
            kind: 'rfc3161-timestamp',
            authority: 'test-tsa',
            headers: [],
            token: token.toString('base64'),
          },
        ],
      };
      const pinned = JSON.parse(
        await fs.readFile(files['trust.json'] as string, 'utf8'),
      ) as TrustFile;
      const court: TrustFile = {
        ...pinned,
        chains: [
          ...pinned.chains,
          {
            kind: 'rfc3161',
            chainId: 'test-tsa',
            operator: 'Test Time Service',
            keys: [authorityCertificate(authority.certificatePem).key],
          },
        ],
      };
      const signature = parseTimestampToken(token).signer.signature;
      const at = token.indexOf(Buffer.from(signature)) + 10;
      const forged = Buffer.from(token);
      forged[at] = (forged[at] as number) ^ 0x01;
      const tampered: Receipt = {
        ...stamped,
        anchors: [
          { ...(stamped.anchors?.[0] as object), token: forged.toString('base64') } as never,
        ],
      };
      const tsaDir = path.join(dir, 'tsa');
      await fs.mkdir(tsaDir);
      const file = (name: string) => path.join(tsaDir, name);
      await fs.writeFile(file('stamped.receipt.json'), JSON.stringify(stamped));
      await fs.writeFile(file('tampered.receipt.json'), JSON.stringify(tampered));
      await fs.writeFile(file('court-trust.json'), JSON.stringify(court));

      await open();
      await page.setInputFiles('#file-input', files['agreement.pdf'] as string);
      await page.setInputFiles('#trust-input', file('court-trust.json'));
      await page.setInputFiles('#receipt-input', file('stamped.receipt.json'));
      await page.locator('#verdict[data-verdict="VERIFIED"]').waitFor();
      expect(await checkRows()).toEqual([...EVERY_CHECK_PASSED, ['anchor', 'pass']]);
      await expect(
        page.locator('#checks-body tr[data-step="anchor"]').textContent(),
      ).resolves.toContain('time-stamped by test-tsa (Test Time Service)');
      await page.setInputFiles('#receipt-input', file('tampered.receipt.json'));
      await page.locator('#verdict[data-verdict="PROOF_INVALID"]').waitFor();
      await expect(
        page.locator('#checks-body tr[data-step="anchor"]').textContent(),
      ).resolves.toContain('ANCHOR_PROOF_INVALID');
    } finally {
      await authority.remove();
    }
  }, 60_000);

  it("verifies a receipt the node upgraded with its authority's stamp, with the node's trust alone", async () => {
    const receipt = JSON.parse(
      await fs.readFile(files['agreement.pdf.receipt.json'] as string, 'utf8'),
    ) as Receipt;
    const upgraded = await waitFor('the node to stamp the deposit', async () => {
      const response = await fetch(`${node.url}/v1/receipts/upgrade`, {
        method: 'POST',
        headers: { authorization: `Bearer ${depositor}`, 'content-type': 'application/json' },
        body: JSON.stringify(receipt),
      });
      return response.status === 200 ? ((await response.json()) as Receipt) : undefined;
    });
    expect(upgraded.anchors?.[0]).toMatchObject({
      kind: 'rfc3161-timestamp',
      authority: 'node-tsa',
    });
    const targets = (await (await fetch(`${node.url}/v1/anchoring/trust`)).json()) as TrustFile;
    expect(targets.chains).toEqual([
      expect.objectContaining({ kind: 'rfc3161', chainId: 'node-tsa' }),
    ]);
    const file = path.join(dir, 'agreement.upgraded.receipt.json');
    await fs.writeFile(file, JSON.stringify(upgraded));
    await open();
    await page.setInputFiles('#file-input', files['agreement.pdf'] as string);
    await page.setInputFiles('#receipt-input', file);
    await page.locator('#verdict[data-verdict="VERIFIED"]').waitFor();
    expect(await checkRows()).toEqual([...EVERY_CHECK_PASSED, ['anchor', 'pass']]);
    await expect(page.locator('#trust-source').textContent()).resolves.toContain(
      'pinned for its anchor targets (node-tsa)',
    );
  }, 60_000);

  it('verifies a block signed with SM2 in the page, and refuses the signature changed', async () => {
    // The node moves to an SM2 key (GB/T 32918) by a rotation; the next deposit's block is SM2.
    const rotated = await fetch(`${node.url}/v1/admin/node-keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ algorithm: 'sm2-sm3' }),
    });
    expect(rotated.status).toBe(201);
    const sm2Content = Buffer.concat([Buffer.from('国密 SM2 exhibit\n'), randomBytes(2048)]);
    const sm2Digests = digestBytes(sm2Content);
    const response = await fetch(`${node.url}/v1/evidence`, {
      method: 'POST',
      headers: { authorization: `Bearer ${depositor}`, 'content-type': 'application/json' },
      body: JSON.stringify({ digests: [sm2Digests.sha256, sm2Digests.sm3], evidenceType: 'other' }),
    });
    expect(response.status).toBe(201);
    const receipt = ((await response.json()) as { receipt: Receipt }).receipt;
    expect(receipt.proof.block.signature.algorithm).toBe('sm2-sm3');
    const signature = Buffer.from(receipt.proof.block.signature.value, 'base64');
    signature[signature.length - 5] = (signature[signature.length - 5] as number) ^ 0x10;
    const tampered = structuredClone(receipt);
    (tampered.proof.block.signature as { value: string }).value = signature.toString('base64');
    const sm2Dir = path.join(dir, 'sm2');
    await fs.mkdir(sm2Dir);
    const at = (name: string) => path.join(sm2Dir, name);
    await fs.writeFile(at('exhibit.bin'), sm2Content);
    await fs.writeFile(at('exhibit.bin.receipt.json'), JSON.stringify(receipt));
    await fs.writeFile(at('tampered.receipt.json'), JSON.stringify(tampered));
    await fs.writeFile(at('trust.json'), await (await fetch(`${node.url}/v1/trust`)).text());

    await open();
    await page.setInputFiles('#file-input', at('exhibit.bin'));
    await page.setInputFiles('#trust-input', at('trust.json'));
    await page.setInputFiles('#receipt-input', at('exhibit.bin.receipt.json'));
    await page.locator('#verdict[data-verdict="VERIFIED"]').waitFor();
    expect(await checkRows()).toEqual(EVERY_CHECK_PASSED);
    await page.setInputFiles('#receipt-input', at('tampered.receipt.json'));
    await page.locator('#verdict[data-verdict="PROOF_INVALID"]').waitFor();
    await expect(
      page.locator('#checks-body tr[data-step="signature"]').textContent(),
    ).resolves.toContain('SIGNATURE_INVALID');

    // A court's file that marks the SM2 key compromised: without an anchor, UNTRUSTED.
    const pinned = JSON.parse(await fs.readFile(at('trust.json'), 'utf8')) as TrustFile;
    const signer = receipt.proof.block.signature.keyId;
    const compromised: TrustFile = {
      ...pinned,
      chains: pinned.chains.map((chain) => ({
        ...chain,
        keys: chain.keys.map((k) =>
          k.keyId === signer ? { ...k, compromisedSince: '2026-01-01T00:00:00Z' } : k,
        ),
      })),
    };
    await fs.writeFile(at('compromised.json'), JSON.stringify(compromised));
    await page.setInputFiles('#receipt-input', at('exhibit.bin.receipt.json'));
    await page.setInputFiles('#trust-input', at('compromised.json'));
    await page.locator('#verdict[data-verdict="UNTRUSTED"]').waitFor();
    await expect(page.locator('#checks-body').textContent()).resolves.toContain('KEY_COMPROMISED');
  }, 60_000);

  it('warns, in both languages, once the node holds proof that its chain signed two histories', async () => {
    await open();
    expect(await page.locator('#fork-warning').isHidden()).toBe(true);
    // The receipt's block, and another one at its height signed by the key that signed it.
    const receipt = JSON.parse(
      await fs.readFile(files['agreement.pdf.receipt.json'] as string, 'utf8'),
    ) as Receipt;
    const held = receipt.proof.block;
    const key = createPrivateKey(firstNodeKey);
    const header = {
      ...held.header,
      time: new Date(Date.parse(held.header.time) + 1).toISOString(),
    };
    const value = sign(null, Buffer.from(blockSigningBytes(header)), key).toString('base64');
    const court = await createKey(node.url, admin, {
      org: 'CourtOrg',
      account: 'judge-1',
      role: 'court',
    });
    const given = await fetch(`${node.url}/v1/forks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${court}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        type: 'judicial-evidence-fork',
        chainId: held.header.chainId,
        number: held.header.number,
        held,
        served: { header, signature: { ...held.signature, value } },
        detectedAt: new Date().toISOString(),
      }),
    });
    expect(given.status, await given.text()).toBe(200);
    await open();
    const warning = page.locator('#fork-warning');
    await warning.waitFor({ state: 'visible' });
    const text = (await warning.textContent()) ?? '';
    expect(text).toContain(`第 ${held.header.number} 号区块签署了两个不同的区块`);
    expect(text).toContain(`signed two different blocks at height ${held.header.number}`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'verify-page-fork.png'), fullPage: true });
  }, 60_000);

  it('sent no file, made only GETs to the node itself, and broke no policy', () => {
    const origin = new URL(node.url).origin;
    expect(requests.length).toBeGreaterThan(5);
    const needles = [content.subarray(0, 64), big.subarray(1_000_000, 1_000_064)];
    for (const request of requests) {
      const url = new URL(request.url);
      expect(url.hostname, request.url).toBe('127.0.0.1');
      expect(url.origin, request.url).toBe(origin);
      expect(request.method, request.url).toBe('GET');
      expect(request.body, request.url).toBeNull();
      for (const needle of needles) {
        expect(request.url.includes(needle.toString('hex')), request.url).toBe(false);
      }
    }
    const paths = new Set(
      requests.map((r) => new URL(r.url).pathname.replace(/sha256:[0-9a-f]{64}$/, ':digest')),
    );
    expect([...paths].sort()).toEqual(
      [
        '/favicon.ico',
        '/v1/anchoring/trust',
        '/v1/forks',
        '/v1/public/evidence/:digest',
        '/v1/trust',
        '/verify',
        '/verify/verify-page.js',
        '/verify/verify.css',
      ].filter((p) => p !== '/favicon.ico' || paths.has(p)),
    );
    expect(problems).toEqual([]);
  });
});
