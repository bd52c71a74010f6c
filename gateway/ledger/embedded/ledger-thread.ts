/**
 * The embedded ledger's thread: opens the ledger named by `workerData` and serves the calls the
 * gateway's proxy (gateway/ledger/threaded-ledger.ts) posts, one reply per call. Chaincode
 * execution, block building and signing, and LevelDB work all happen here, beside the thread that
 * speaks HTTP. The ledger orders submissions itself (its pipeline), so calls are passed on as they
 * arrive and answered as they settle.
 */

import { parentPort, workerData } from 'node:worker_threads';
import { isEvidenceError } from '../../../core/errors';
import { openEmbeddedLedger, type EmbeddedLedgerExtras } from '../embedded-ledger';
import type { Ledger } from '../ledger';
import {
  THREAD_METHODS,
  type LedgerThreadData,
  type ThreadCall,
  type ThreadError,
  type ThreadReady,
  type ThreadReply,
} from './thread-protocol';

/** `error` as plain data (code, message and fields of an EvidenceError). */
export function threadErrorOf(error: unknown): ThreadError {
  if (isEvidenceError(error)) {
    return {
      name: error.name,
      message: error.message,
      code: error.code,
      ...(error.fields ? { fields: error.fields } : {}),
    };
  }
  const { name, message } = error instanceof Error ? error : new Error(String(error));
  return { name, message };
}

async function serve(port: NonNullable<typeof parentPort>, data: LedgerThreadData): Promise<void> {
  let ledger: Ledger & EmbeddedLedgerExtras;
  try {
    ledger = await openEmbeddedLedger(data);
  } catch (error) {
    port.postMessage({ ready: false, error: threadErrorOf(error) } satisfies ThreadReady);
    return;
  }
  const methods = ledger as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  port.on('message', (call: ThreadCall) => {
    const reply = (message: ThreadReply) => port.postMessage(message);
    if (!THREAD_METHODS.includes(call.method)) {
      reply({ id: call.id, error: { name: 'Error', message: `no method ${String(call.method)}` } });
      return;
    }
    let running: Promise<unknown>;
    try {
      running = Promise.resolve(methods[call.method]?.apply(ledger, [...call.args]));
    } catch (error) {
      running = Promise.reject(error);
    }
    running.then(
      (value) => {
        reply({ id: call.id, value });
        // Closing is the last call: let the thread end once the reply left.
        if (call.method === 'close') port.close();
      },
      (error: unknown) => reply({ id: call.id, error: threadErrorOf(error) }),
    );
  });
  port.postMessage({
    ready: true,
    chainId: ledger.chainId,
    trust: ledger.trust(),
  } satisfies ThreadReady);
}

if (parentPort) void serve(parentPort, workerData as LedgerThreadData);
