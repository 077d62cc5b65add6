import { type DomainErrorCode, ERROR_CODES } from '@trainyard/core';
import { describe, expect, it } from 'vitest';
import { TRPC_CODE_FOR_STATUS } from './trainyard-client';

describe('TRPC_CODE_FOR_STATUS', () => {
  it("agrees with libs/core's ERROR_CODES for every domain code's status", () => {
    for (const [code, { trpc, httpStatus }] of Object.entries(ERROR_CODES) as Array<[DomainErrorCode, (typeof ERROR_CODES)[DomainErrorCode]]>) {
      expect(TRPC_CODE_FOR_STATUS[httpStatus], code).toBe(trpc);
    }
  });
});
