/**
 * Canonical JSON bytes: the one function through which everything hashed, signed, stored or put in
 * a Merkle leaf passes.
 *
 * The form follows RFC 8785 (JSON Canonicalization Scheme) for the values we allow: object keys
 * sorted by UTF-16 code units, no insignificant whitespace, strings escaped as ECMAScript
 * `JSON.stringify` does, numbers in ECMAScript shortest form. We are stricter than JCS: numbers
 * must be safe integers (no floats cross our wire), and `undefined`, functions, symbols, bigints,
 * non-plain objects and cycles are refused. Object properties whose value is `undefined` are
 * omitted, so optional fields can be left unset.
 */

import { ValidationError } from './errors';

const encoder = new TextEncoder();

/** A JSON value as we accept it for canonical encoding. */
export type CanonicalValue =
  | null
  | boolean
  | number
  | string
  | readonly CanonicalValue[]
  | { readonly [key: string]: CanonicalValue | undefined };

/**
 * Returns the canonical JSON text of `value`.
 * @throws ValidationError `VALIDATION_FAILED` when the value holds something JSON cannot carry
 *   exactly (non-integer or unsafe numbers, undefined in arrays, cycles, class instances).
 */
export function canonicalJson(value: unknown): string {
  try {
    return encodeFast(value, []);
  } catch (error) {
    if (error !== REFUSED) throw error;
    // Something cannot be encoded: the careful encoder finds it and names its path.
    return encode(value, '', new Set());
  }
}

/** UTF-8 bytes of {@link canonicalJson}. */
export function canonicalBytes(value: unknown): Uint8Array {
  return encoder.encode(canonicalJson(value));
}

/** Thrown by {@link encodeFast} for anything it does not encode; never escapes this module. */
const REFUSED = Symbol('refused');

/**
 * The same encoding as {@link encode} for values it accepts, built without the JSON pointers that
 * only a refusal needs (everything hashed goes through here, so this is a hot path). Any value
 * {@link encode} refuses makes it throw {@link REFUSED} instead. `ancestors` holds the objects
 * being encoded above `value` (a cycle check; they are few).
 */
function encodeFast(value: unknown, ancestors: object[]): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isSafeInteger(value)) throw REFUSED;
      return Object.is(value, -0) ? '0' : String(value);
    case 'object':
      break;
    default:
      throw REFUSED;
  }
  const object = value as object;
  if (ancestors.includes(object)) throw REFUSED;
  ancestors.push(object);
  let out: string;
  if (Array.isArray(object)) {
    out = '[';
    for (let index = 0; index < object.length; index++) {
      const item: unknown = object[index];
      if (item === undefined) throw REFUSED;
      out += (index === 0 ? '' : ',') + encodeFast(item, ancestors);
    }
    out += ']';
  } else {
    const proto = Object.getPrototypeOf(object) as unknown;
    if (proto !== Object.prototype && proto !== null) throw REFUSED;
    const record = object as Record<string, unknown>;
    // The default sort compares UTF-16 code units, as RFC 8785 §3.2.3 asks.
    const keys = Object.keys(record).sort();
    out = '{';
    for (const key of keys) {
      const item = record[key];
      if (item === undefined) continue;
      out +=
        (out.length === 1 ? '' : ',') + JSON.stringify(key) + ':' + encodeFast(item, ancestors);
    }
    out += '}';
  }
  ancestors.pop();
  return out;
}

function fail(path: string, message: string): never {
  throw new ValidationError('VALIDATION_FAILED', `cannot encode canonically: ${message}`, [
    { path, rule: 'canonical', message },
  ]);
}

function encode(value: unknown, path: string, seen: Set<object>): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isSafeInteger(value)) fail(path, 'numbers must be safe integers');
      return Object.is(value, -0) ? '0' : String(value);
    case 'object':
      break;
    default:
      fail(path, `a ${typeof value} has no JSON form`);
  }
  const object = value as object;
  if (seen.has(object)) fail(path, 'cycle');
  seen.add(object);
  try {
    if (Array.isArray(object)) {
      const parts: string[] = [];
      for (let index = 0; index < object.length; index++) {
        // Indexing (not map) so holes of sparse arrays are seen and refused like undefined.
        const item: unknown = object[index];
        if (item === undefined) fail(`${path}/${index}`, 'undefined or a hole in an array');
        parts.push(encode(item, `${path}/${index}`, seen));
      }
      return `[${parts.join(',')}]`;
    }
    const proto = Object.getPrototypeOf(object) as unknown;
    if (proto !== Object.prototype && proto !== null) fail(path, 'only plain objects are allowed');
    const record = object as Record<string, unknown>;
    const keys = Object.keys(record)
      .filter((key) => record[key] !== undefined)
      .sort(compareUtf16);
    const parts = keys.map(
      (key) =>
        `${JSON.stringify(key)}:${encode(record[key], `${path}/${escapePointer(key)}`, seen)}`,
    );
    return `{${parts.join(',')}}`;
  } finally {
    seen.delete(object);
  }
}

/** RFC 8785 §3.2.3: sort by UTF-16 code units, which is what `<` on JS strings compares. */
function compareUtf16(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}
