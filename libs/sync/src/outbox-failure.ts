import { isDomainError, isRetryable } from '@trainyard/core';

/**
 * A failure a retry cannot fix (a domain code ERROR_CODES marks not retryable, e.g. NOT_FOUND,
 * INTEGRITY, PERMISSION_DENIED): the entry fails instead of being retried. Anything else —
 * UNAVAILABLE, RESOURCE_EXHAUSTED, a dropped connection, a plain Error — is retried. Decided by
 * the error's code, never by its message.
 */
export const isPermanent = (error: unknown): boolean => isDomainError(error) && !isRetryable(error.code);

/** The server refused a version because blobs it needs are gone: FAILED_PRECONDITION with a non-empty `details.missing`. */
export const isMissingBlobs = (error: unknown): boolean =>
  isDomainError(error) && error.code === 'FAILED_PRECONDITION' && Array.isArray(error.details['missing']) && error.details['missing'].length > 0;

export interface Backoff {
  baseMs: number;
  maxMs: number;
}

/** How long an entry waits after its `attempts`-th failed attempt: base × 2^(attempts−1), capped at max. */
export const backoffDelay = (backoff: Backoff, attempts: number): number => Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.max(0, attempts - 1));

/** What a failed attempt leaves in the entry: failed for good, or pending again after a delay. */
export const afterFailure = (error: unknown, attempts: number, backoff: Backoff): { state: 'failed' | 'pending'; retryInMs: number; message: string } => ({
  state: isPermanent(error) ? 'failed' : 'pending',
  retryInMs: backoffDelay(backoff, attempts),
  // Shown to the user as the entry's error, not parsed: retry decisions above use the code.
  message: (error instanceof Error ? error.message : String(error)).slice(0, 2_000),
});
