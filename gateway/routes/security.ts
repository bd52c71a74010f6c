/** OpenAPI security requirements and schemes of the API-key routes. */

/**
 * Either way of presenting an API key, or a signed request (four headers, see
 * core/request-signing.ts; OpenAPI can name only the signature header), satisfies a route.
 */
export const SECURITY: ReadonlyArray<Readonly<Record<string, readonly string[]>>> = [
  { bearerAuth: [] },
  { apiKeyHeader: [] },
  { signedRequest: [] },
];

export const SECURITY_SCHEMES = {
  bearerAuth: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer ek_...' },
  apiKeyHeader: { type: 'apiKey', in: 'header', name: 'x-api-key' },
  signedRequest: {
    type: 'apiKey',
    in: 'header',
    name: 'x-evidence-signature',
    description:
      'Signed request: x-evidence-key-id, x-evidence-timestamp (Unix ms), x-evidence-nonce and ' +
      'x-evidence-signature over EVIDENCE-REQUEST-V1, method, target, sha256 of the body, ' +
      'timestamp, nonce and key id, joined by newlines (docs/security.md).',
  },
} as const;
