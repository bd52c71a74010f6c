/**
 * Everything the CLI touches outside itself except the file system, injected so tests can drive
 * `main()` with fakes (STYLE.md item 23).
 */

export interface CliIo {
  /** Writes text to standard output (the caller supplies newlines). */
  readonly stdout: (s: string) => void;
  /** Writes text to standard error. */
  readonly stderr: (s: string) => void;
  /** Whether standard error is a terminal: progress bars are drawn only then. */
  readonly stderrIsTTY: boolean;
  /** Environment variables (`EVIDENCE_API_KEY`). Read per call, never at import time. */
  readonly env: Record<string, string | undefined>;
  /** Directory relative paths are resolved against. */
  readonly cwd: string;
  /** The only way the CLI reaches the network. */
  readonly fetch: typeof fetch;
}

/** The real process's I/O. */
export function processIo(): CliIo {
  return {
    stdout: (s) => void process.stdout.write(s),
    stderr: (s) => void process.stderr.write(s),
    stderrIsTTY: process.stderr.isTTY === true,
    env: process.env,
    cwd: process.cwd(),
    fetch: (...args) => globalThis.fetch(...args),
  };
}
