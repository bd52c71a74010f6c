/**
 * The OpenSSL time-stamp authority the tests use (test/support/openssl-tsa.ts): its tokens verify
 * with `openssl ts -verify` for the imprint stamped and only for it, with RSA and EC keys, and its
 * HTTP service answers RFC 3161 requests, rejections and errors as asked.
 */

import { execFile } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTsaAuthority,
  startTsaServer,
  type TsaAuthority,
  type TsaKeyType,
} from '../support/openssl-tsa';

const sha256Hex = (text: string) => createHash('sha256').update(text).digest('hex');

/** The header length and content length of the DER element at `offset`. */
function derLength(der: Uint8Array, offset: number): { header: number; length: number } {
  const first = der[offset + 1]!;
  if (first < 0x80) return { header: 2, length: first };
  let length = 0;
  for (let i = 0; i < (first & 0x7f); i++) length = length * 256 + der[offset + 2 + i]!;
  return { header: 2 + (first & 0x7f), length };
}

/** PKIStatus and the TimeStampToken (if any) of a TimeStampResp. */
function parseResponse(der: Uint8Array): { status: number; token?: Uint8Array } {
  expect(der[0]).toBe(0x30);
  const outer = derLength(der, 0);
  const statusInfo = outer.header;
  expect(der[statusInfo]).toBe(0x30);
  const info = derLength(der, statusInfo);
  const status = statusInfo + info.header;
  expect([der[status], der[status + 1]]).toEqual([0x02, 0x01]);
  const tokenStart = statusInfo + info.header + info.length;
  const end = outer.header + outer.length;
  return {
    status: der[status + 2]!,
    token: tokenStart < end ? der.subarray(tokenStart, end) : undefined,
  };
}

/** A DER TimeStampReq made by `openssl ts -query`, with a nonce and certReq. */
function opensslQuery(imprintHex: string): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    execFile(
      'openssl',
      ['ts', '-query', '-digest', imprintHex, '-sha256', '-cert'],
      { encoding: 'buffer' },
      (error, stdout, stderr) =>
        error ? reject(new Error(`${error.message}\n${stderr.toString()}`)) : resolve(stdout),
    ),
  );
}

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe.each<TsaKeyType>(['rsa', 'ec'])('the OpenSSL TSA with an %s key', (keyType) => {
  let authority: TsaAuthority;
  beforeAll(async () => {
    authority = await createTsaAuthority(keyType);
  });
  afterAll(async () => {
    await authority?.remove();
    expect(existsSync(authority.dir)).toBe(false);
  });

  it('has a timeStamping certificate issued by its CA, whose SPKI it gives', () => {
    const certificate = new X509Certificate(authority.certificatePem);
    expect(authority.keyType).toBe(keyType);
    expect(certificate.publicKey.asymmetricKeyType).toBe(keyType);
    expect(certificate.keyUsage).toEqual(['1.3.6.1.5.5.7.3.8']);
    expect(certificate.ca).toBe(false);
    const ca = new X509Certificate(readFileSync(authority.caCertFile));
    expect(certificate.checkIssued(ca) && certificate.verify(ca.publicKey)).toBe(true);
    const spki = certificate.publicKey.export({ type: 'spki', format: 'der' });
    expect(authority.spkiBase64).toBe(spki.toString('base64'));
  });

  it('stamps an imprint with a token openssl verifies for that imprint only', async () => {
    const imprint = sha256Hex(`evidence ${keyType}`);
    const response = await authority.stamp(imprint);
    const { status, token } = parseResponse(response);
    expect(status).toBe(0);
    expect(token).toBeDefined();
    expect(await authority.opensslVerifies(imprint, response)).toBe(true);
    expect(await authority.opensslVerifies(sha256Hex('other'), response)).toBe(false);
    expect(await authority.opensslVerifies(imprint, token!, { token: true })).toBe(true);
    expect(await authority.opensslVerifies(sha256Hex('other'), token!, { token: true })).toBe(
      false,
    );
    expect(await authority.opensslVerifies(imprint, Buffer.from('not a response'))).toBe(false);
  });

  it('stamps without nonce or certificates when asked', async () => {
    const imprint = sha256Hex('bare');
    const withCerts = await authority.stamp(imprint);
    const bare = await authority.stamp(imprint, { nonce: false, certReq: false });
    expect(bare.length).toBeLessThan(withCerts.length);
    expect(await authority.opensslVerifies(imprint, bare)).toBe(true);
  });

  it('refuses an imprint that is not 64 hex digits', async () => {
    await expect(authority.stamp('abcd')).rejects.toThrow(/64 hex digits/);
  });
});

describe('the OpenSSL TSA over HTTP', () => {
  let authority: TsaAuthority;
  beforeAll(async () => {
    authority = await createTsaAuthority('ec');
  });
  afterAll(async () => {
    await authority?.remove();
  });

  it('answers RFC 3161 requests, and rejections, garbage and errors when asked', async () => {
    const server = await startTsaServer(authority);
    const port = Number(new URL(server.url).port);
    try {
      expect(server.url).toBe(`http://127.0.0.1:${port}/`);
      const imprint = sha256Hex('over http');
      const query = await opensslQuery(imprint);
      const post = (type = 'application/timestamp-query') =>
        fetch(server.url, { method: 'POST', headers: { 'content-type': type }, body: query });

      const granted = await post();
      expect(granted.status).toBe(200);
      expect(granted.headers.get('content-type')).toBe('application/timestamp-reply');
      const response = Buffer.from(await granted.arrayBuffer());
      expect(parseResponse(response).status).toBe(0);
      expect(await authority.opensslVerifies(imprint, response)).toBe(true);

      expect((await post('application/octet-stream')).status).toBe(415);
      expect((await fetch(server.url)).status).toBe(405);

      server.setMode('reject');
      const rejected = await post();
      expect(rejected.status).toBe(200);
      const rejection = new Uint8Array(await rejected.arrayBuffer());
      expect(rejection[0]).toBe(0x30);
      expect(rejection[2]).toBe(0x30);
      expect([...rejection.subarray(4, 7)]).toEqual([0x02, 0x01, 0x02]);
      expect(parseResponse(rejection)).toEqual({ status: 2, token: undefined });

      server.setMode('garbage');
      const garbage = await post();
      expect(garbage.status).toBe(200);
      expect(
        await authority.opensslVerifies(imprint, Buffer.from(await garbage.arrayBuffer())),
      ).toBe(false);

      server.setMode('http-500');
      expect((await post()).status).toBe(500);

      server.setMode('ok');
      const answers = await Promise.all([post(), post(), post()]);
      for (const answer of answers) {
        const der = Buffer.from(await answer.arrayBuffer());
        expect(await authority.opensslVerifies(imprint, der)).toBe(true);
      }
      expect(server.requests).toBe(9);
    } finally {
      await server.close();
    }
    expect(await connects(port)).toBe(false);
    await expect(fetch(server.url)).rejects.toThrow();
  });
});
