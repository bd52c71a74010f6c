/**
 * The `Buffer` core uses, for the browser: the `buffer` package (feross/buffer, Node's API on
 * Uint8Array). scripts/build-web.mjs injects this module, so every free `Buffer` in core refers
 * to it.
 */

export { Buffer } from 'buffer';
