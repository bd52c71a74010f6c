/** The validators scripts/build-web.mjs compiles from core's schemas, keyed by schema `$id`. */
declare module 'virtual:precompiled-validators' {
  import type { ValidateFunction } from 'ajv';

  const validators: Readonly<Record<string, ValidateFunction>>;
  export default validators;
}
