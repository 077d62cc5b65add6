import { DomainError, ERROR_CODES, type DomainErrorCode } from '@trainyard/core';
import { describe, expect, it } from 'vitest';
import { afterFailure, backoffDelay, isMissingBlobs, isPermanent } from './outbox-failure';

const CODES = Object.keys(ERROR_CODES) as DomainErrorCode[];
const backoff = { baseMs: 1_000, maxMs: 60_000 };

describe('the outbox retry decision (by error code, never by message)', () => {
  it.each(CODES)('%s: permanent exactly when ERROR_CODES marks it not retryable', (code) => {
    expect(isPermanent(new DomainError(code, 'anything'))).toBe(!ERROR_CODES[code].retryable);
  });

  it('retries what is not a domain error (a dropped connection, a bug), whatever it says', () => {
    expect(isPermanent(new Error('NOT_FOUND: permission denied, integrity check failed'))).toBe(false);
    expect(isPermanent(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toBe(false);
    expect(isPermanent('a string')).toBe(false);
  });

  it('reads a message that sounds permanent as nothing: the code decides', () => {
    expect(isPermanent(new DomainError('UNAVAILABLE', 'Not found, forbidden, integrity error'))).toBe(false);
    expect(isPermanent(new DomainError('FORBIDDEN', 'temporarily unavailable, try again'))).toBe(true);
  });

  it('sees missing blobs in details.missing of a FAILED_PRECONDITION, not in the message', () => {
    const missing = ['a'.repeat(64)];
    expect(isMissingBlobs(new DomainError('FAILED_PRECONDITION', 'x', { missing }))).toBe(true);
    expect(isMissingBlobs(new DomainError('FAILED_PRECONDITION', `Upload these blobs first: ${missing[0]}`))).toBe(false);
    expect(isMissingBlobs(new DomainError('FAILED_PRECONDITION', 'x', { missing: [] }))).toBe(false);
    expect(isMissingBlobs(new DomainError('FAILED_PRECONDITION', 'x', { missing: 'a' }))).toBe(false);
    expect(isMissingBlobs(new DomainError('NOT_FOUND', 'x', { missing }))).toBe(false);
    expect(isMissingBlobs(Object.assign(new Error('x'), { details: { missing } }))).toBe(false);
  });
});

describe('backoff', () => {
  it('doubles from the base after each failed attempt and stops at the cap', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((attempts) => backoffDelay(backoff, attempts))).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000]);
    expect(backoffDelay(backoff, 0)).toBe(1_000);
    expect(backoffDelay({ baseMs: 50, maxMs: 500 }, 100)).toBe(500);
  });
});

describe('what a failed attempt leaves in the entry', () => {
  it('fails a permanent error, re-queues a retryable one after the backoff, and keeps the message for people', () => {
    expect(afterFailure(new DomainError('FORBIDDEN', 'token revoked'), 1, backoff)).toEqual({ state: 'failed', retryInMs: 1_000, message: 'token revoked' });
    expect(afterFailure(new DomainError('UNAVAILABLE', 'server down'), 3, backoff)).toEqual({ state: 'pending', retryInMs: 4_000, message: 'server down' });
    expect(afterFailure(new Error('socket hang up'), 2, backoff)).toEqual({ state: 'pending', retryInMs: 2_000, message: 'socket hang up' });
    expect(afterFailure(new Error('x'.repeat(5_000)), 1, backoff).message).toHaveLength(2_000);
  });
});
