/**
 * The embedded ledger's thread: opens the ledger named by `workerData` and serves the calls the
 * gateway's proxy (gateway/ledger/threaded-ledger.ts) posts, one reply per call. Chaincode
 * execution, block building and signing, and LevelDB work all happen here, beside the thread that
 * speaks HTTP. The ledger orders submissions itself (its pipeline), so calls are passed on as they
 * arrive and answered as they settle.
 */

import { parentPort, workerData } from 'node:worker_threads';
import { serveCalls, threadErrorOf, type ThreadReady } from '../../threads/rpc';
import { LEDGER_THREAD_NAME, nameThisThread, osThreadId } from '../../threads/thread-name';
import { openEmbeddedLedger } from '../embedded-ledger';
import { THREAD_METHODS, type LedgerReady, type LedgerThreadData } from './thread-protocol';

async function serve(port: NonNullable<typeof parentPort>, data: LedgerThreadData): Promise<void> {
  let ledger;
  try {
    ledger = await openEmbeddedLedger(data);
  } catch (error) {
    port.postMessage({
      ready: false,
      error: threadErrorOf(error),
    } satisfies ThreadReady<LedgerReady>);
    return;
  }
  const methods = ledger as unknown as Record<string, (...args: unknown[]) => unknown>;
  const tid = osThreadId();
  serveCalls(
    port,
    THREAD_METHODS,
    (method, args) => methods[method]?.apply(ledger, [...args]),
    'close',
  );
  port.postMessage({
    ready: true,
    chainId: ledger.chainId,
    replica: ledger.isReplica(),
    ...ledger.keyState(),
    ...(tid === undefined ? {} : { osThreadId: tid }),
  } satisfies ThreadReady<LedgerReady>);
}

if (parentPort) {
  nameThisThread(LEDGER_THREAD_NAME);
  void serve(parentPort, workerData as LedgerThreadData);
}
