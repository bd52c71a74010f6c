/**
 * What the node adds to the OpenAPI document @fastify/swagger builds from the routes: optional
 * request bodies, and links.
 *
 * OpenAPI links (OpenAPI 3.1 §4.8.20): where an answer leads. A deposit's answer names its digest,
 * and the digest is the parameter of the record, its receipt, its history, its certificate and
 * its public facts; the receipt in it is the body of an upgrade. Written into the document the
 * node serves, so a client generator (or a test tool that follows links, as the contract suite
 * does) can go from a deposit to everything about it without being told how.
 */

import { escapePointerToken } from '../core/errors';
import { OPTIONAL_BODY } from './schemas';

interface LinkTarget {
  readonly path: string;
  readonly method: 'get' | 'post' | 'patch' | 'delete';
  /** Parameter name to runtime expression, e.g. `$response.body#/digest`. */
  readonly parameters?: Readonly<Record<string, string>>;
  /** Runtime expression of the request body, e.g. `$response.body#/receipt`. */
  readonly requestBody?: string;
  readonly description: string;
}

interface LinkSource {
  readonly path: string;
  readonly method: 'get' | 'post';
  readonly statuses: readonly string[];
  readonly links: Readonly<Record<string, LinkTarget>>;
}

const DIGEST = { digest: '$response.body#/digest' } as const;
const AGREEMENT = { id: '$response.body#/agreement/agreementId' } as const;

/** Every link the document carries, by the operation whose answer it starts from. */
export const OPENAPI_LINKS: readonly LinkSource[] = [
  {
    path: '/v1/evidence',
    method: 'post',
    statuses: ['200', '201'],
    links: {
      record: {
        path: '/v1/evidence/{digest}',
        method: 'get',
        parameters: DIGEST,
        description: 'The record as it stands, with its attestations and annotations',
      },
      receipt: {
        path: '/v1/evidence/{digest}/receipt',
        method: 'get',
        parameters: DIGEST,
        description: "The caller's receipt, again",
      },
      history: {
        path: '/v1/evidence/{digest}/history',
        method: 'get',
        parameters: DIGEST,
        description: "Every change to the record's state",
      },
      certificate: {
        path: '/v1/evidence/{digest}/certificate.pdf',
        method: 'get',
        parameters: DIGEST,
        description: 'The deposit certificate (PDF)',
      },
      publicFacts: {
        path: '/v1/public/evidence/{digest}',
        method: 'get',
        parameters: DIGEST,
        description: 'What anyone may learn about the digest',
      },
      annotate: {
        path: '/v1/evidence/{digest}/annotations',
        method: 'post',
        parameters: DIGEST,
        description: 'A court annotates the record',
      },
      upgrade: {
        path: '/v1/receipts/upgrade',
        method: 'post',
        requestBody: '$response.body#/receipt',
        description: 'The receipt with anchor proofs, once an anchor covers its block',
      },
    },
  },
  {
    path: '/v1/agreements',
    method: 'post',
    statuses: ['201'],
    links: {
      agreement: {
        path: '/v1/agreements/{id}',
        method: 'get',
        parameters: AGREEMENT,
        description: 'The agreement as it stands',
      },
      sign: {
        path: '/v1/agreements/{id}/sign',
        method: 'post',
        parameters: AGREEMENT,
        description: 'A party signs the terms',
      },
      checkDue: {
        path: '/v1/agreements/{id}/check-due',
        method: 'post',
        parameters: AGREEMENT,
        description: 'Instalments due by chain time are checked',
      },
    },
  },
  {
    path: '/v1/admin/principals',
    method: 'post',
    statuses: ['201'],
    links: {
      principal: {
        path: '/v1/admin/principals/{id}',
        method: 'get',
        parameters: { id: '$response.body#/principal/id' },
        description: 'The principal as stored',
      },
    },
  },
  {
    path: '/v1/admin/keys',
    method: 'post',
    statuses: ['201'],
    links: {
      revoke: {
        path: '/v1/admin/keys/{id}',
        method: 'delete',
        parameters: { id: '$response.body#/id' },
        description: 'Revokes the key',
      },
    },
  },
  {
    path: '/v1/admin/backups',
    method: 'post',
    statuses: ['202'],
    links: {
      backup: {
        path: '/v1/admin/backups/{id}',
        method: 'get',
        parameters: { id: '$response.body#/id' },
        description: 'The backup: poll it until it is completed or failed',
      },
    },
  },
];

/** `#/paths/<path>/<method>`, the path escaped as a JSON pointer token. */
function operationRef(path: string, method: string): string {
  return `#/paths/${escapePointerToken(path)}/${method}`;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null;

/**
 * The OpenAPI `document` with {@link OPENAPI_LINKS} written into the responses they start from.
 * Changes `document` in place.
 * @throws Error when a link names an operation or a response the document does not have: the
 *   table and the routes went apart (a test starts the node and reads its document).
 */
export function withLinks<D extends { paths?: object }>(
  document: D,
  links: readonly LinkSource[] = OPENAPI_LINKS,
): D {
  const paths = (document.paths ?? {}) as Record<string, unknown>;
  const operation = (path: string, method: string): Record<string, unknown> => {
    const item = paths[path];
    const found = isObject(item) ? item[method] : undefined;
    if (!isObject(found)) throw new Error(`OpenAPI link: no operation ${method} ${path}`);
    return found;
  };
  for (const source of links) {
    const responses = operation(source.path, source.method).responses;
    for (const status of source.statuses) {
      const response = isObject(responses) ? responses[status] : undefined;
      if (!isObject(response)) {
        throw new Error(`OpenAPI link: ${source.method} ${source.path} has no ${status} answer`);
      }
      response.links = Object.fromEntries(
        Object.entries(source.links).map(([name, target]) => {
          operation(target.path, target.method);
          return [
            name,
            {
              operationRef: operationRef(target.path, target.method),
              description: target.description,
              ...(target.parameters ? { parameters: target.parameters } : {}),
              ...(target.requestBody ? { requestBody: target.requestBody } : {}),
            },
          ];
        }),
      );
    }
  }
  return document;
}

/**
 * The OpenAPI `document` with the request body of every operation marked {@link OPTIONAL_BODY}
 * not required, and the mark removed (@fastify/swagger copies `x-` keys of a route schema into
 * its operation). Changes `document` in place.
 */
export function withOptionalBodies<D extends { paths?: object }>(document: D): D {
  for (const item of Object.values(document.paths ?? {})) {
    for (const operation of Object.values(isObject(item) ? item : {})) {
      if (!isObject(operation) || operation[OPTIONAL_BODY] !== true) continue;
      delete operation[OPTIONAL_BODY];
      if (isObject(operation.requestBody)) operation.requestBody.required = false;
    }
  }
  return document;
}
