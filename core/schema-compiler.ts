/**
 * How core's JSON Schemas become validator functions: Ajv, compiled at run time once per schema.
 * Kept apart from schema.ts because this is the one part that cannot run under a strict
 * Content-Security-Policy (Ajv generates code with `new Function`): the public verification page's
 * bundle replaces this module with validators Ajv compiled at build time from the same schemas and
 * options (scripts/build-web.mjs, web/schema-compiler.ts).
 */

import Ajv, { type ValidateFunction } from 'ajv';

/** Ajv's options for every schema of ours; the browser bundle is compiled with the same. */
export const AJV_OPTIONS = { allErrors: true, strict: true, allowUnionTypes: true } as const;

const ajv = new Ajv(AJV_OPTIONS);
const compiled = new WeakMap<object, ValidateFunction>();

/**
 * The validator of `schema`, compiled on first use.
 *
 * A schema with an `$id` may already be known to Ajv as part of another one (the evidence record
 * inside the receipt): compiling it again on its own would be refused as a second schema with the
 * same id, so the validator Ajv has for that id is used when it is of this very schema. That
 * depends on which schema a process happens to compile first, so both orders are tested.
 */
export function compileSchema(schema: object): ValidateFunction {
  let validate = compiled.get(schema);
  if (!validate) {
    const id = (schema as { $id?: unknown }).$id;
    const known = typeof id === 'string' ? ajv.getSchema(id) : undefined;
    validate = known?.schema === schema ? known : ajv.compile(schema);
    compiled.set(schema, validate);
  }
  return validate;
}
