/**
 * Why a JSON body that parses was refused anyway. Fastify's JSON parser refuses keys that would
 * poison a prototype (`__proto__`, and `constructor` holding `prototype`) with the same error as a
 * syntax error; a client then reads "not valid JSON" for a document that is valid JSON. When the
 * parser refused a body, {@link poisonedKeyFields} tells the two apart and names every such key.
 */

import { escapePointerToken, type FieldError } from '../core/errors';

/** At most this many keys are named (a body may repeat one a million times). */
const MAX_FIELDS = 20;

/**
 * The pointers of the prototype-poisoning keys in `text`: empty when `text` is not JSON at all (a
 * real syntax error) or holds no such key. Iterative, so no nesting depth overflows the stack.
 */
export function poisonedKeyFields(text: string): FieldError[] {
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch {
    return [];
  }
  const fields: FieldError[] = [];
  const stack: Array<{ value: unknown; path: string }> = [{ value, path: '' }];
  while (stack.length > 0 && fields.length < MAX_FIELDS) {
    const { value: current, path } = stack.pop() as { value: unknown; path: string };
    if (current === null || typeof current !== 'object') continue;
    if (Array.isArray(current)) {
      for (let index = current.length - 1; index >= 0; index -= 1) {
        stack.push({ value: current[index] as unknown, path: `${path}/${index}` });
      }
      continue;
    }
    const record = current as Record<string, unknown>;
    for (const key of Object.keys(record).reverse()) {
      const child = record[key];
      const here = `${path}/${escapePointerToken(key)}`;
      if (key === '__proto__') {
        fields.push({
          path: here,
          rule: 'forbiddenKey',
          message: 'a key named __proto__ is refused',
        });
      } else if (
        key === 'constructor' &&
        child !== null &&
        typeof child === 'object' &&
        Object.prototype.hasOwnProperty.call(child, 'prototype')
      ) {
        fields.push({
          path: `${here}/prototype`,
          rule: 'forbiddenKey',
          message: 'a key named prototype inside constructor is refused',
        });
      } else {
        stack.push({ value: child, path: here });
      }
    }
  }
  return fields;
}
