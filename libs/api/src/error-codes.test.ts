import { TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { ERROR_CODES, type DomainErrorCode } from '@trainyard/core';
import { describe, expect, it } from 'vitest';

describe('ERROR_CODES against tRPC', () => {
  it('names the HTTP status tRPC answers each code with', () => {
    for (const [code, { trpc, httpStatus }] of Object.entries(ERROR_CODES) as Array<[DomainErrorCode, (typeof ERROR_CODES)[DomainErrorCode]]>) {
      expect(getHTTPStatusCodeFromError(new TRPCError({ code: trpc })), code).toBe(httpStatus);
    }
  });
});
