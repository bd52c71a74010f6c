/**
 * The reference server: a bare Fastify 5 app, in its own process, whose deposit routes only parse
 * the body (Fastify's JSON parser, the same body limit) and answer a small JSON. Whatever the
 * evidence node adds on top of this (authentication, validation, group commit, chaincode, the
 * synced write, receipts) is what the ratio against it measures. Prints `listening on <url>`.
 */

import Fastify from 'fastify';

async function main(): Promise<void> {
  const app = Fastify({ logger: false, bodyLimit: 8 * 1_048_576 });
  const reply = {
    type: 'object',
    properties: { status: { type: 'string' }, items: { type: 'integer' } },
  } as const;
  app.post<{ Body: { items?: unknown[] } }>(
    '/v1/evidence',
    { schema: { response: { 201: reply } } },
    async (_request, res) => res.code(201).send({ status: 'parsed', items: 1 }),
  );
  app.post<{ Body: { items?: unknown[] } }>(
    '/v1/evidence/batch',
    { schema: { response: { 200: reply } } },
    async (request) => ({ status: 'parsed', items: request.body.items?.length ?? 0 }),
  );
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  process.stdout.write(`listening on ${url}\n`);
  const stop = () => void app.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

void main();
