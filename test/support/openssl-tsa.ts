/**
 * A real RFC 3161 time-stamp authority for tests, independent of the code under test: a
 * throw-away root CA and a TSA certificate made with `openssl`, time-stamp tokens signed by
 * `openssl ts -reply`, checked by `openssl ts -verify`, and, optionally, served over HTTP the way
 * a public TSA answers (RFC 3161 section 3.4). Everything lives in one temporary folder; every
 * `openssl` run is a child process that has exited before the call that started it settles.
 */

import { execFile } from 'node:child_process';
import { randomBytes, randomUUID, X509Certificate } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

/** The TSA's (and its root CA's) key: RSA 2048 or EC on prime256v1, both signing with SHA-256. */
export type TsaKeyType = 'rsa' | 'ec';

/** A time-stamp authority backed by `openssl ts`, with its keys and certificates on disk. */
export interface TsaAuthority {
  /** The temporary folder holding keys, certificates, the configuration and the serial file. */
  readonly dir: string;
  /** The self-signed root CA certificate (PEM), the trust anchor for the TSA. */
  readonly caCertFile: string;
  /**
   * The TSA's certificate (PEM), issued by the root CA, with extendedKeyUsage critical
   * timeStamping and keyUsage critical digitalSignature, nonRepudiation.
   */
  readonly certFile: string;
  /** The contents of `certFile`. */
  readonly certificatePem: string;
  /** The TSA certificate's SubjectPublicKeyInfo DER, base64. */
  readonly spkiBase64: string;
  readonly keyType: TsaKeyType;
  /**
   * A TimeStampResp (DER) for the SHA-256 message imprint `imprintHex` (64 hex digits), asked for
   * by `openssl ts -query` and answered by `openssl ts -reply`. By default the request carries a
   * nonce and certReq, so the token carries the TSA certificate and the root CA certificate.
   */
  stamp(imprintHex: string, options?: { nonce?: boolean; certReq?: boolean }): Promise<Buffer>;
  /**
   * The TimeStampResp (DER) `openssl ts -reply` gives for a DER TimeStampReq. A request OpenSSL
   * cannot parse, or for a digest other than SHA-256 and SM3, gets a response with status
   * rejection.
   */
  reply(requestDer: Uint8Array): Promise<Buffer>;
  /**
   * Whether `openssl ts -verify` accepts `der`, a TimeStampResp (or, with `token: true`, a bare
   * TimeStampToken), for the SHA-256 imprint `imprintHex`, chaining the TSA certificate to the
   * root CA. The TSA certificate is offered as an untrusted certificate, so a token without
   * certificates verifies too. Rejects only when `openssl` cannot be run.
   */
  opensslVerifies(
    imprintHex: string,
    der: Uint8Array,
    options?: { token?: boolean },
  ): Promise<boolean>;
  /** Removes the folder. */
  remove(): Promise<void>;
}

/** The policy every token is issued under unless the request names another allowed one. */
export const TSA_DEFAULT_POLICY = '1.3.6.1.4.1.99999.1';
/** The other policy a request may ask for. */
export const TSA_OTHER_POLICY = '1.3.6.1.4.1.99999.2';

const SECTION = 'tsa_config';
const IMPRINT = /^[0-9a-fA-F]{64}$/;

interface RunResult {
  readonly code: number;
  readonly stderr: string;
}

/** Runs `openssl` (no shell) in `cwd`; resolves with its exit code, rejects if it cannot start. */
function runOpenssl(cwd: string, args: readonly string[]): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(
      'openssl',
      args,
      {
        cwd,
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '', OPENSSL_CONF: path.join(cwd, 'openssl.cnf') },
        timeout: 30_000,
      },
      (error, _stdout, stderr) => {
        if (!error) return resolve({ code: 0, stderr });
        if (typeof error.code === 'number') return resolve({ code: error.code, stderr });
        reject(new Error(`openssl ${args.join(' ')}: ${error.message}\n${stderr}`));
      },
    );
  });
}

/** Runs `openssl` and rejects, with its stderr, unless it exits 0. */
async function openssl(cwd: string, args: readonly string[]): Promise<void> {
  const { code, stderr } = await runOpenssl(cwd, args);
  if (code !== 0) throw new Error(`openssl ${args.join(' ')} exited with ${code}:\n${stderr}`);
}

function keyArgs(keyType: TsaKeyType): string[] {
  return keyType === 'rsa'
    ? ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048']
    : ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];
}

/** A positive certificate serial number, as `-set_serial` takes it. */
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f;
  return `0x${bytes.toString('hex')}`;
}

/** The OpenSSL configuration: certificate requests and extensions, and the `ts` section. */
function configText(label: string): string {
  return [
    '[ req ]',
    'prompt = no',
    'distinguished_name = ca_name',
    'x509_extensions = ca_extensions',
    '',
    '[ ca_name ]',
    'O = Judicial Evidence Test',
    `CN = Test Time-Stamping Root CA ${label}`,
    '',
    '[ tsa_request ]',
    'prompt = no',
    'distinguished_name = tsa_name',
    '',
    '[ tsa_name ]',
    'O = Judicial Evidence Test',
    `CN = Test Time-Stamping Authority ${label}`,
    '',
    '[ ca_extensions ]',
    'basicConstraints = critical, CA:TRUE',
    'keyUsage = critical, keyCertSign, cRLSign',
    'subjectKeyIdentifier = hash',
    '',
    '[ tsa_extensions ]',
    'basicConstraints = critical, CA:FALSE',
    'keyUsage = critical, digitalSignature, nonRepudiation',
    'extendedKeyUsage = critical, timeStamping',
    'subjectKeyIdentifier = hash',
    'authorityKeyIdentifier = keyid:always',
    '',
    '[ tsa ]',
    `default_tsa = ${SECTION}`,
    '',
    `[ ${SECTION} ]`,
    'dir = .',
    'serial = $dir/tsa-serial',
    'crypto_device = builtin',
    'signer_cert = $dir/tsa-cert.pem',
    'certs = $dir/ca-cert.pem',
    'signer_key = $dir/tsa-key.pem',
    'signer_digest = sha256',
    `default_policy = ${TSA_DEFAULT_POLICY}`,
    `other_policies = ${TSA_OTHER_POLICY}`,
    'digests = sha256, sm3',
    'accuracy = secs:1',
    'ordering = no',
    'tsa_name = yes',
    'ess_cert_id_chain = no',
    'ess_cert_id_alg = sha256',
    '',
  ].join('\n');
}

/**
 * Makes a fresh TSA in a new temporary folder: a self-signed root CA (10 years) and a TSA
 * certificate it issues (3 years), both with `keyType` keys.
 */
export async function createTsaAuthority(keyType: TsaKeyType = 'rsa'): Promise<TsaAuthority> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tsa-'));
  try {
    return await setUp(dir, keyType);
  } catch (error) {
    await fs.rm(dir, { recursive: true, force: true });
    throw error;
  }
}

async function setUp(dir: string, keyType: TsaKeyType): Promise<TsaAuthority> {
  const config = path.join(dir, 'openssl.cnf');
  const caCertFile = path.join(dir, 'ca-cert.pem');
  const certFile = path.join(dir, 'tsa-cert.pem');
  await fs.writeFile(config, configText(path.basename(dir)));
  await fs.writeFile(path.join(dir, 'tsa-serial'), '01\n');

  await openssl(dir, ['genpkey', ...keyArgs(keyType), '-out', 'ca-key.pem']);
  await openssl(dir, ['genpkey', ...keyArgs(keyType), '-out', 'tsa-key.pem']);
  await openssl(dir, [
    'req',
    ...['-config', config, '-new', '-x509', '-key', 'ca-key.pem', '-sha256'],
    ...['-days', '3650', '-set_serial', randomSerial(), '-out', 'ca-cert.pem'],
  ]);
  await openssl(dir, [
    'req',
    ...['-config', config, '-section', 'tsa_request', '-new', '-key', 'tsa-key.pem'],
    ...['-out', 'tsa.csr'],
  ]);
  await openssl(dir, [
    'x509',
    ...['-req', '-in', 'tsa.csr', '-CA', 'ca-cert.pem', '-CAkey', 'ca-key.pem', '-sha256'],
    ...['-days', '1095', '-set_serial', randomSerial()],
    ...['-extfile', config, '-extensions', 'tsa_extensions', '-out', 'tsa-cert.pem'],
  ]);

  const certificatePem = await fs.readFile(certFile, 'utf8');
  const spkiBase64 = new X509Certificate(certificatePem).publicKey
    .export({ type: 'spki', format: 'der' })
    .toString('base64');

  let sequence = 0;
  const scratch = (suffix: string) => path.join(dir, `${++sequence}-${randomUUID()}.${suffix}`);
  const discard = (...files: string[]) =>
    Promise.all(files.map((file) => fs.rm(file, { force: true })));

  // `openssl ts -reply` reads and rewrites the serial file: one reply at a time.
  let replies: Promise<unknown> = Promise.resolve();
  const replyTo = (queryFile: string): Promise<Buffer> => {
    const run = replies.then(async () => {
      const out = scratch('tsr');
      try {
        await openssl(dir, [
          'ts',
          ...['-reply', '-config', config, '-section', SECTION],
          ...['-queryfile', queryFile, '-out', out],
        ]);
        return await fs.readFile(out);
      } finally {
        await discard(out);
      }
    });
    replies = run.catch(() => undefined);
    return run;
  };

  const checkImprint = (imprintHex: string) => {
    if (!IMPRINT.test(imprintHex))
      throw new Error(`a SHA-256 imprint is 64 hex digits, not ${JSON.stringify(imprintHex)}`);
  };

  return {
    dir,
    caCertFile,
    certFile,
    certificatePem,
    spkiBase64,
    keyType,
    stamp: async (imprintHex, options = {}) => {
      checkImprint(imprintHex);
      const query = scratch('tsq');
      try {
        const args = ['ts', '-query', '-config', config, '-digest', imprintHex, '-sha256'];
        if (options.certReq ?? true) args.push('-cert');
        if (!(options.nonce ?? true)) args.push('-no_nonce');
        await openssl(dir, [...args, '-out', query]);
        return await replyTo(query);
      } finally {
        await discard(query);
      }
    },
    reply: async (requestDer) => {
      const query = scratch('tsq');
      try {
        await fs.writeFile(query, requestDer);
        return await replyTo(query);
      } finally {
        await discard(query);
      }
    },
    opensslVerifies: async (imprintHex, der, options = {}) => {
      checkImprint(imprintHex);
      const input = scratch(options.token ? 'tst' : 'tsr');
      try {
        await fs.writeFile(input, der);
        const args = ['ts', '-verify', '-config', config, '-digest', imprintHex, '-in', input];
        if (options.token) args.push('-token_in');
        args.push('-CAfile', caCertFile, '-untrusted', certFile);
        const { code, stderr } = await runOpenssl(dir, args);
        if (code === 0) return true;
        if (code === 1) return false;
        throw new Error(`openssl ${args.join(' ')} exited with ${code}:\n${stderr}`);
      } finally {
        await discard(input);
      }
    },
    remove: () => fs.rm(dir, { recursive: true, force: true }),
  };
}

/** What a {@link TsaServer} answers a well-formed request with. */
export type TsaServerMode = 'ok' | 'reject' | 'garbage' | 'http-500';

/** An RFC 3161 HTTP time-stamp service on 127.0.0.1. */
export interface TsaServer {
  /** `http://127.0.0.1:PORT/`. */
  readonly url: string;
  /** Requests answered so far, whatever the answer. */
  readonly requests: number;
  /**
   * What the next POSTs of `application/timestamp-query` get: `'ok'` (the default) the
   * authority's reply; `'reject'` a TimeStampResp with status rejection (2), failInfo badAlg, made
   * by the authority for a SHA-1 request; `'garbage'` 200 with random bytes; `'http-500'` an
   * HTTP 500.
   */
  setMode(mode: TsaServerMode): void;
  /** Stops listening, lets the requests being handled finish, then drops every connection. */
  close(): Promise<void>;
}

const QUERY_TYPE = 'application/timestamp-query';
const REPLY_TYPE = 'application/timestamp-reply';
const MAX_REQUEST_BYTES = 64 * 1024;

/** A rejection from the authority itself: it answers a SHA-1 request with status rejection. */
async function rejection(authority: TsaAuthority): Promise<Buffer> {
  const query = path.join(authority.dir, `reject-${randomUUID()}.tsq`);
  try {
    await openssl(authority.dir, [
      'ts',
      ...['-query', '-digest', '00'.repeat(20), '-sha1', '-no_nonce', '-out', query],
    ]);
    return await authority.reply(await fs.readFile(query));
  } finally {
    await fs.rm(query, { force: true });
  }
}

/** The body, `undefined` if it is too large, `null` if the client went away before sending it. */
function readBody(request: http.IncomingMessage): Promise<Buffer | undefined | null> {
  return new Promise((resolve) => {
    if (request.destroyed) return resolve(null);
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_REQUEST_BYTES) chunks.push(chunk);
    });
    request.on('end', () => resolve(size <= MAX_REQUEST_BYTES ? Buffer.concat(chunks) : undefined));
    request.on('close', () => resolve(null));
    request.on('error', () => resolve(null));
  });
}

/**
 * Serves `authority` over HTTP on 127.0.0.1 (a free port): a POST of `application/timestamp-query`
 * gets `authority.reply` as `application/timestamp-reply`; another content type gets 415, another
 * method 405. Requests are handled one at a time, in the order they arrive.
 */
export async function startTsaServer(authority: TsaAuthority): Promise<TsaServer> {
  let mode: TsaServerMode = 'ok';
  let requests = 0;
  let queue: Promise<void> = Promise.resolve();

  const answer = async (request: http.IncomingMessage, response: http.ServerResponse) => {
    const send = (status: number, type: string, body: string | Buffer, headers = {}) => {
      requests++;
      response.writeHead(status, { 'content-type': type, ...headers });
      response.end(body);
    };
    const body = await readBody(request);
    if (body === null) return void response.destroy();
    const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (request.method !== 'POST') return send(405, 'text/plain', 'POST only\n', { allow: 'POST' });
    if (type !== QUERY_TYPE) return send(415, 'text/plain', `expected ${QUERY_TYPE}\n`);
    if (body === undefined) return send(413, 'text/plain', 'request too large\n');
    switch (mode) {
      case 'ok':
        return send(200, REPLY_TYPE, await authority.reply(body));
      case 'reject':
        return send(200, REPLY_TYPE, await rejection(authority));
      case 'garbage':
        return send(200, REPLY_TYPE, randomBytes(64 + (randomBytes(1)[0]! % 64)));
      case 'http-500':
        return send(500, 'text/plain', 'internal server error\n');
    }
  };

  const server = http.createServer((request, response) => {
    queue = queue.then(async () => {
      try {
        await answer(request, response);
      } catch (error) {
        if (response.headersSent) return void response.destroy();
        requests++;
        response.writeHead(500, { 'content-type': 'text/plain' });
        response.end(`${error instanceof Error ? error.message : String(error)}\n`);
      }
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/`,
    get requests() {
      return requests;
    },
    setMode: (next) => {
      mode = next;
    },
    close: async () => {
      const closed = new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
      server.closeIdleConnections();
      for (let last = queue; ; last = queue) {
        await last;
        if (last === queue) break;
      }
      server.closeAllConnections();
      await closed;
    },
  };
}
