/**
 * core/schema-compiler.ts for the browser: the page's Content-Security-Policy forbids the code
 * generation Ajv does at run time, so the schemas the page needs were compiled by Ajv at build time
 * (scripts/build-web.mjs, same schemas and options as core) and are looked up here by `$id`.
 * core/schema.ts is unchanged: it turns their errors into field lists as on the node.
 */

import type { ValidateFunction } from 'ajv';
import validators from 'virtual:precompiled-validators';

/**
 * The build-time validator of `schema`.
 * @throws Error when `schema` was not compiled into the page (a build problem, not bad input).
 */
export function compileSchema(schema: object): ValidateFunction {
  const id = (schema as { $id?: unknown }).$id;
  const validate = typeof id === 'string' ? validators[id] : undefined;
  if (!validate) {
    throw new Error(`schema ${String(id)} is not compiled into this page (scripts/build-web.mjs)`);
  }
  return validate;
}
