/** OpenAPI security requirements and schemes of the API-key routes. */

/** Either way of presenting an API key satisfies a route. */
export const SECURITY: ReadonlyArray<Readonly<Record<string, readonly string[]>>> = [
  { bearerAuth: [] },
  { apiKeyHeader: [] },
];

export const SECURITY_SCHEMES = {
  bearerAuth: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer ek_...' },
  apiKeyHeader: { type: 'apiKey', in: 'header', name: 'x-api-key' },
} as const;
