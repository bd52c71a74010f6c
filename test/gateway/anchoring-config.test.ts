import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { keyIdOf } from '../../core/signature';
import { loadConfig } from '../../gateway/config';
import { createTsaAuthority, type TsaAuthority } from '../support/openssl-tsa';
import { evidenceErrorOf as configError } from '../support/rejection';
import { tempDir } from './helpers';

describe('loadConfig: anchoring', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const dir of dirs.splice(0)) await fs.rm(dir, { recursive: true, force: true });
  });

  it('anchors nowhere by default, every minute or 100 blocks, backing off 1 s to 5 min', () => {
    expect(loadConfig({})).toMatchObject({
      anchorTargets: [],
      anchorIntervalMs: 60_000,
      anchorEveryBlocks: 100,
      anchorBackoffMinMs: 1_000,
      anchorBackoffMaxMs: 300_000,
      anchorTimeoutMs: 10_000,
    });
  });

  it('reads the targets as JSON, with the API key inline or from a file', async () => {
    const dir = await tempDir();
    dirs.push(dir);
    const keyFile = path.join(dir, 'court.key');
    await fs.writeFile(keyFile, 'ek_from-file\n');
    const config = loadConfig({
      EVIDENCE_ANCHOR_TARGETS: JSON.stringify([
        { name: 'court', kind: 'http', url: 'http://127.0.0.1:9000/', apiKeyFile: keyFile },
        { name: 'notary', kind: 'http', url: 'https://notary.example/base', apiKey: 'ek_inline' },
      ]),
      EVIDENCE_ANCHOR_INTERVAL_MS: '500',
      EVIDENCE_ANCHOR_EVERY_BLOCKS: '5',
      EVIDENCE_ANCHOR_BACKOFF_MIN_MS: '100',
      EVIDENCE_ANCHOR_BACKOFF_MAX_MS: '2000',
      EVIDENCE_ANCHOR_TIMEOUT_MS: '3000',
    });
    expect(config).toMatchObject({
      anchorTargets: [
        { name: 'court', kind: 'http', url: 'http://127.0.0.1:9000', apiKey: 'ek_from-file' },
        { name: 'notary', kind: 'http', url: 'https://notary.example/base', apiKey: 'ek_inline' },
      ],
      anchorIntervalMs: 500,
      anchorEveryBlocks: 5,
      anchorBackoffMinMs: 100,
      anchorBackoffMaxMs: 2000,
      anchorTimeoutMs: 3000,
    });
  });

  it('reports every problem of the targets in one field, with the other bad settings', () => {
    const error = configError(() =>
      loadConfig({
        EVIDENCE_ANCHOR_TARGETS: JSON.stringify([
          { name: 'bad name', kind: 'fabric', url: 'ftp://x', apiKey: 'k', apiKeyFile: '/k' },
          { name: 'court', kind: 'http', url: 'http://user:pw@court/' },
          { name: 'court', kind: 'http', url: 'http://court2', apiKeyFile: '/no/such/key' },
          'nope',
        ]),
        EVIDENCE_ANCHOR_EVERY_BLOCKS: '10001',
      }),
    );
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.fields?.map((f) => f.path)).toEqual(['/anchorTargets', '/anchorEveryBlocks']);
    const message = error.fields?.[0]?.message ?? '';
    for (const part of [
      '[0].name',
      '[0].kind must be one of http, rfc3161',
      '[0].url',
      '[0] needs exactly one of apiKey and apiKeyFile',
      '[1].url',
      '[1] needs exactly one of apiKey and apiKeyFile',
      '[2].apiKeyFile /no/such/key cannot be read (ENOENT)',
      '[3] must be an object',
    ]) {
      expect(message).toContain(part);
    }
    expect(configError(() => loadConfig({ EVIDENCE_ANCHOR_TARGETS: '[{' })).fields?.[0]?.rule).toBe(
      'json',
    );
    expect(
      configError(() =>
        loadConfig({
          EVIDENCE_ANCHOR_TARGETS: JSON.stringify([
            { name: 'a', kind: 'http', url: 'http://a', apiKey: 'k' },
            { name: 'a', kind: 'http', url: 'http://b', apiKey: 'k' },
          ]),
        }),
      ).fields?.[0]?.message,
    ).toContain('target names must be unique (a)');
  });

  it('refuses a minimum backoff above the maximum', () => {
    const error = configError(() =>
      loadConfig({
        EVIDENCE_ANCHOR_BACKOFF_MIN_MS: '5000',
        EVIDENCE_ANCHOR_BACKOFF_MAX_MS: '1000',
      }),
    );
    expect(error.fields).toEqual([
      expect.objectContaining({ path: '/anchorBackoffMinMs', rule: 'maximum' }),
    ]);
  });

  it('takes the targets as a list from the config file', async () => {
    const dir = await tempDir();
    dirs.push(dir);
    const file = path.join(dir, 'config.json');
    await fs.writeFile(
      file,
      JSON.stringify({
        anchorTargets: [{ name: 'court', kind: 'http', url: 'http://court:8080', apiKey: 'ek_x' }],
      }),
    );
    expect(loadConfig({ EVIDENCE_CONFIG: file }).anchorTargets).toEqual([
      { name: 'court', kind: 'http', url: 'http://court:8080', apiKey: 'ek_x' },
    ]);
  });

  describe('time-stamp authorities (kind rfc3161)', () => {
    let authority: TsaAuthority | undefined;
    beforeAll(async () => {
      authority = await createTsaAuthority('ec');
    }, 30_000);
    afterAll(async () => {
      await authority?.remove();
    });

    it("pins the authority's key from its certificate, valid as the certificate is", () => {
      if (!authority) throw new Error('no authority');
      const config = loadConfig({
        EVIDENCE_ANCHOR_TARGETS: JSON.stringify([
          {
            name: 'ntsc',
            kind: 'rfc3161',
            url: 'http://127.0.0.1:9100/tsa',
            certFile: authority.certFile,
            operator: '国家授时中心 time service',
          },
        ]),
      });
      const keyId = keyIdOf(Buffer.from(authority.spkiBase64, 'base64'));
      expect(config.anchorTargets).toEqual([
        {
          name: 'ntsc',
          kind: 'rfc3161',
          url: 'http://127.0.0.1:9100/tsa',
          operator: '国家授时中心 time service',
          key: expect.objectContaining({
            keyId,
            algorithm: 'ecdsa-p256-sha256',
            publicKey: authority.spkiBase64,
            notBefore: expect.stringMatching(/Z$/),
            notAfter: expect.stringMatching(/Z$/),
          }),
        },
      ]);
    });

    it('names every problem: a certificate not for time stamping, a missing file, settings of the other kind', () => {
      if (!authority) throw new Error('no authority');
      const error = configError(() =>
        loadConfig({
          EVIDENCE_ANCHOR_TARGETS: JSON.stringify([
            { name: 'a', kind: 'rfc3161', url: 'http://a', certFile: authority?.caCertFile },
            { name: 'b', kind: 'rfc3161', url: 'http://b', certFile: '/no/such/cert.pem' },
            { name: 'c', kind: 'rfc3161', url: 'http://c', apiKey: 'k', operator: '\u0007' },
            { name: 'd', kind: 'http', url: 'http://d', apiKey: 'k', certFile: 'x' },
          ]),
        }),
      );
      expect(error.code).toBe('CONFIG_INVALID');
      const message = error.fields?.[0]?.message ?? '';
      for (const part of [
        '[0].certFile',
        'not for time stamping',
        '[1].certFile /no/such/cert.pem cannot be read (ENOENT)',
        '[2].apiKey is not a setting of rfc3161 target',
        "[2].certFile must be the path of the authority's certificate",
        '[2].operator must be 1-256 printable characters',
        '[3].certFile is not a setting of http target',
      ]) {
        expect(message).toContain(part);
      }
    });
  });
});
