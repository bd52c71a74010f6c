/** Polling for end-to-end tests: a condition another process brings about. */

/**
 * Calls `probe` every 100 ms until it returns a value (not `undefined`), and returns it. A probe
 * that throws is retried; its last error is in the timeout's message.
 * @throws Error after `timeoutMs` naming `what`.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (${String(last)})`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
