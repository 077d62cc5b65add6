import { describe, expect, it } from 'vitest';
import { codeOfHttpStatus, codeOfTrpcCode, ERROR_CODES, httpStatusOf, isDomainErrorCode, isRetryable, trpcCodeOf } from './error-codes';
import type { DomainErrorCode } from './errors';

// Spelled out rather than read from the table: a code added to DomainErrorCode without an entry
// fails to compile here (the `satisfies`) and in ERROR_CODES itself.
const ALL_CODES = [
  'NOT_FOUND',
  'CONFLICT',
  'INVALID_ARGUMENT',
  'FAILED_PRECONDITION',
  'INTEGRITY',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'PAYLOAD_TOO_LARGE',
  'UNAVAILABLE',
] as const satisfies readonly DomainErrorCode[];
type Missing = Exclude<DomainErrorCode, (typeof ALL_CODES)[number]>;
const everyCodeListed: [Missing] extends [never] ? true : Missing = true;

describe('ERROR_CODES', () => {
  it('has an entry for every domain code and nothing else', () => {
    expect(everyCodeListed).toBe(true);
    expect(Object.keys(ERROR_CODES).sort()).toEqual([...ALL_CODES].sort());
    for (const code of ALL_CODES) {
      expect(ERROR_CODES[code].httpStatus, code).toBeGreaterThanOrEqual(400);
      expect(ERROR_CODES[code].trpc, code).toMatch(/^[A-Z_]+$/);
      expect(isDomainErrorCode(code)).toBe(true);
    }
    expect(isDomainErrorCode('BAD_REQUEST')).toBe(false);
    expect(isDomainErrorCode('toString')).toBe(false);
    expect(isDomainErrorCode(undefined)).toBe(false);
  });

  it('round-trips HTTP status and tRPC code for every code with a status of its own', () => {
    const statuses = ALL_CODES.map(httpStatusOf);
    for (const code of ALL_CODES) {
      const status = httpStatusOf(code);
      if (statuses.filter((other) => other === status).length === 1) expect(codeOfHttpStatus(status), code).toBe(code);
      expect(codeOfTrpcCode(trpcCodeOf(code)), code).toBe(code);
    }
    // Today every code has a status of its own.
    expect(new Set(statuses).size).toBe(ALL_CODES.length);
    expect(codeOfHttpStatus(200)).toBeUndefined();
    expect(codeOfHttpStatus(502)).toBeUndefined();
    expect(codeOfTrpcCode('INTERNAL_SERVER_ERROR')).toBeUndefined();
  });

  it('keeps the wire mapping the API has always used', () => {
    expect(Object.fromEntries(ALL_CODES.map((code) => [code, [trpcCodeOf(code), httpStatusOf(code)]]))).toEqual({
      NOT_FOUND: ['NOT_FOUND', 404],
      CONFLICT: ['CONFLICT', 409],
      INVALID_ARGUMENT: ['BAD_REQUEST', 400],
      FAILED_PRECONDITION: ['PRECONDITION_FAILED', 412],
      INTEGRITY: ['UNPROCESSABLE_CONTENT', 422],
      UNAUTHENTICATED: ['UNAUTHORIZED', 401],
      FORBIDDEN: ['FORBIDDEN', 403],
      PAYLOAD_TOO_LARGE: ['PAYLOAD_TOO_LARGE', 413],
      UNAVAILABLE: ['SERVICE_UNAVAILABLE', 503],
    });
  });

  it('retries only what a later attempt can fix', () => {
    expect(ALL_CODES.filter(isRetryable)).toEqual(['PAYLOAD_TOO_LARGE', 'UNAVAILABLE']);
  });
});
