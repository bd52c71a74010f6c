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

/** The validator of `schema`, compiled on first use. */
export function compileSchema(schema: object): ValidateFunction {
  let validate = compiled.get(schema);
  if (!validate) {
    validate = ajv.compile(schema);
    compiled.set(schema, validate);
  }
  return validate;
}
