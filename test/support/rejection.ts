import { isEvidenceError, type EvidenceError } from '../../core/errors';

/** What `promise` rejected with; fails the test when it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

/** The EvidenceError `run` throws; fails the test when it returns or throws something else. */
export function evidenceErrorOf(run: () => unknown): EvidenceError {
  try {
    run();
  } catch (error) {
    if (isEvidenceError(error)) return error;
    throw error;
  }
  throw new Error('expected the call to throw');
}
