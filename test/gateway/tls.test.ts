/**
 * TLS for the gateway from configured files, and mutual TLS: a throwaway CA, server and client
 * certificates made with `openssl` in a temp directory; a client certificate's SHA-256
 * fingerprint maps to a principal in the principals store.
 */

import { execFileSync } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { request } from 'node:https';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../gateway/config';
import { openEmbeddedLedger } from '../../gateway/ledger/embedded-ledger';
import { startNode, type RunningNode } from '../../gateway/server';
import { tempDir } from './helpers';

const DIGEST = `sha256:${'9'.repeat(64)}`;
const silent = new Writable({ write: (_chunk, _encoding, done) => done() });

interface Pem {
  readonly cert: string;
  readonly key: string;
}

function openssl(cwd: string, args: string[]): string {
  return execFileSync('openssl', args, { cwd, stdio: 'pipe' }).toString();
}

/** A CA, a server certificate for 127.0.0.1, and client certificates. */
async function makePki(dir: string) {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(dir, [
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=Throwaway Test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  const issue = async (name: string, ext: string, signer: 'ca' | 'self') => {
    await fs.writeFile(path.join(dir, `${name}.ext`), ext);
    if (signer === 'self') {
      openssl(dir, [
        'req',
        '-x509',
        ...ec,
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.pem`,
        '-days',
        '2',
        '-subj',
        `/CN=${name}`,
      ]);
    } else {
      openssl(dir, [
        'req',
        ...ec,
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.csr`,
        '-subj',
        `/CN=${name}`,
      ]);
      openssl(dir, [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.pem',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-out',
        `${name}.pem`,
        '-days',
        '2',
        '-extfile',
        `${name}.ext`,
      ]);
    }
    return {
      cert: await fs.readFile(path.join(dir, `${name}.pem`), 'utf8'),
      key: await fs.readFile(path.join(dir, `${name}.key`), 'utf8'),
    };
  };
  const client = 'extendedKeyUsage=clientAuth\n';
  return {
    ca: await fs.readFile(path.join(dir, 'ca.pem'), 'utf8'),
    server: await issue(
      'server',
      'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n',
      'ca',
    ),
    registered: await issue('registered-client', client, 'ca'),
    unregistered: await issue('unregistered-client', client, 'ca'),
    stranger: await issue('stranger', client, 'self'),
  };
}

function fingerprint(certPem: string): string {
  return `sha256:${createHash('sha256').update(new X509Certificate(certPem).raw).digest('hex')}`;
}

async function call(
  url: string,
  target: string,
  options: {
    ca: string;
    client?: Pem;
    headers?: Record<string, string>;
    method?: string;
    body?: unknown;
  },
): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}${target}`,
      {
        method: options.method ?? 'GET',
        ca: options.ca,
        ...(options.client ? { cert: options.client.cert, key: options.client.key } : {}),
        headers: {
          ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...options.headers,
        },
      },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      },
    );
    req.on('error', reject);
    req.end(options.body === undefined ? undefined : JSON.stringify(options.body));
  });
}

describe('TLS and mutual TLS', () => {
  let dir: string;
  let pki: Awaited<ReturnType<typeof makePki>>;
  const nodes: RunningNode[] = [];

  beforeAll(async () => {
    dir = await tempDir('tls-');
    pki = await makePki(dir);
  }, 60_000);

  afterAll(async () => {
    for (const node of nodes) await node.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  async function start(name: string, overrides: Partial<Config>): Promise<RunningNode> {
    const dataDir = path.join(dir, name);
    const config = loadConfig(
      {},
      {
        dataDir,
        port: 0,
        logLevel: 'silent',
        tlsCert: path.join(dir, 'server.pem'),
        tlsKey: path.join(dir, 'server.key'),
        ...overrides,
      },
    );
    const node = await startNode(config, {
      openLedger: openEmbeddedLedger,
      io: { stdout: () => undefined, stderr: () => undefined },
      logDestination: silent,
    });
    nodes.push(node);
    return node;
  }

  it('serves HTTPS only from the configured certificate and key', async () => {
    const node = await start('tls-only', {});
    expect(node.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const health = await call(node.url, '/healthz', { ca: pki.ca });
    expect(health).toEqual({ status: 200, body: { status: 'ok' } });
    await expect(fetch(node.url.replace('https:', 'http:') + '/healthz')).rejects.toThrow();
    const admin = (await fs.readFile(path.join(dir, 'tls-only', 'admin.key'), 'utf8')).trim();
    const read = await call(node.url, `/v1/evidence/${DIGEST}`, {
      ca: pki.ca,
      headers: { authorization: `Bearer ${admin}` },
    });
    expect([read.status, read.body.code]).toEqual([404, 'EVIDENCE_NOT_FOUND']);
  });

  it('maps a client certificate to its principal, and refuses unknown or untrusted ones', async () => {
    const node = await start('mtls-optional', { tlsCa: path.join(dir, 'ca.pem') });
    const admin = (await fs.readFile(path.join(dir, 'mtls-optional', 'admin.key'), 'utf8')).trim();
    const registered = fingerprint(pki.registered.cert);
    // Cross-check the fingerprint with OpenSSL's own.
    const opensslFingerprint = openssl(dir, [
      'x509',
      '-in',
      'registered-client.pem',
      '-noout',
      '-fingerprint',
      '-sha256',
    ]);
    expect(opensslFingerprint.split('=')[1]?.trim().replace(/:/g, '').toLowerCase()).toBe(
      registered.slice('sha256:'.length),
    );
    const principal = await call(node.url, '/v1/admin/principals', {
      ca: pki.ca,
      method: 'POST',
      headers: { authorization: `Bearer ${admin}` },
      body: {
        org: 'CourtOrg',
        account: 'records-office',
        role: 'auditor',
        apiKey: false,
        tlsFingerprint: registered,
      },
    });
    expect(principal.status).toBe(201);
    const id = (principal.body.principal as { id: string }).id;

    const url = `/v1/evidence/${DIGEST}`;
    const mapped = await call(node.url, url, { ca: pki.ca, client: pki.registered });
    expect([mapped.status, mapped.body.code]).toEqual([404, 'EVIDENCE_NOT_FOUND']);
    const unknown = await call(node.url, url, { ca: pki.ca, client: pki.unregistered });
    expect([unknown.status, unknown.body.code]).toEqual([401, 'UNAUTHENTICATED']);
    const untrusted = await call(node.url, url, { ca: pki.ca, client: pki.stranger });
    expect([untrusted.status, untrusted.body.code]).toEqual([401, 'UNAUTHENTICATED']);
    const none = await call(node.url, url, { ca: pki.ca });
    expect([none.status, none.body.code]).toEqual([401, 'UNAUTHENTICATED']);
    // Optional client auth: an API key still works without a certificate.
    const byKey = await call(node.url, url, {
      ca: pki.ca,
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(byKey.status).toBe(404);
    // The certificate's principal has role auditor: it may not deposit.
    const deposit = await call(node.url, '/v1/evidence', {
      ca: pki.ca,
      client: pki.registered,
      method: 'POST',
      body: { digests: [DIGEST] },
    });
    expect([deposit.status, deposit.body.code]).toEqual([403, 'FORBIDDEN']);
    // Revocation applies to certificates at once.
    const revoked = await node.app.inject({
      method: 'DELETE',
      url: `/v1/admin/principals/${id}`,
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(revoked.statusCode).toBe(200);
    const after = await call(node.url, url, { ca: pki.ca, client: pki.registered });
    expect([after.status, after.body.code]).toEqual([401, 'UNAUTHENTICATED']);
  });

  it('refuses the handshake without a trusted client certificate when client auth is required', async () => {
    const node = await start('mtls-required', {
      tlsCa: path.join(dir, 'ca.pem'),
      tlsClientAuth: 'require',
    });
    const url = `/v1/evidence/${DIGEST}`;
    await expect(call(node.url, url, { ca: pki.ca })).rejects.toThrow();
    await expect(call(node.url, url, { ca: pki.ca, client: pki.stranger })).rejects.toThrow();
    const trusted = await call(node.url, url, { ca: pki.ca, client: pki.unregistered });
    expect([trusted.status, trusted.body.code]).toEqual([401, 'UNAUTHENTICATED']);
  });
});
