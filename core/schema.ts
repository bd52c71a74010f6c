/**
 * One validator for every wire type. The same compiled schema checks HTTP bodies (the gateway hands
 * these schemas to Fastify), chaincode arguments and the receipts and trust files the CLI reads.
 * Validation reports every bad field at once, as JSON pointers.
 */

import type { ErrorObject } from 'ajv';
import {
  ValidationError,
  escapePointerToken,
  type FieldError,
  type ValidationCode,
} from './errors';
import { compileSchema } from './schema-compiler';

/** Converts Ajv's errors into our field list (one entry per failing keyword and location). */
export function toFieldErrors(errors: readonly ErrorObject[] | null | undefined): FieldError[] {
  if (!errors) return [];
  return errors.map((error) => {
    let path = error.instancePath;
    if (
      error.keyword === 'required' ||
      error.keyword === 'dependencies' ||
      error.keyword === 'dependentRequired'
    ) {
      path = `${path}/${escapePointerToken(String((error.params as { missingProperty: string }).missingProperty))}`;
    } else if (error.keyword === 'additionalProperties') {
      path = `${path}/${escapePointerToken(String((error.params as { additionalProperty: string }).additionalProperty))}`;
    }
    // Our schemas use `not` only for the personal-data guard (core/personal-data.ts).
    if (error.keyword === 'not') {
      return {
        path,
        rule: 'personalData',
        message: 'must not hold personal data (an ID number, a phone number or an e-mail address)',
      };
    }
    return { path, rule: error.keyword, message: error.message ?? error.keyword };
  });
}

/** Field errors of `value` against `schema`; empty when it is valid. */
export function schemaErrors(schema: object, value: unknown): FieldError[] {
  const validate = compileSchema(schema);
  return validate(value) ? [] : toFieldErrors(validate.errors);
}

/**
 * Returns `value` typed as `T` when it matches `schema`.
 * @throws ValidationError with `code` (default `VALIDATION_FAILED`) listing every bad field.
 */
export function validateOrThrow<T>(
  schema: object,
  value: unknown,
  what: string,
  code: ValidationCode = 'VALIDATION_FAILED',
): T {
  const fields = schemaErrors(schema, value);
  if (fields.length > 0) {
    throw new ValidationError(
      code,
      `${what} is invalid (${fields.length} problem${fields.length > 1 ? 's' : ''})`,
      fields,
    );
  }
  return value as T;
}

/**
 * Parses JSON text without letting `SyntaxError` escape.
 * @throws ValidationError `INVALID_JSON` (or `code`) when the text is not JSON.
 */
export function parseJson(
  text: string,
  what: string,
  code: ValidationCode = 'INVALID_JSON',
): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ValidationError(code, `${what} is not valid JSON: ${(error as Error).message}`, [
      { path: '', rule: 'json', message: 'not valid JSON' },
    ]);
  }
}
