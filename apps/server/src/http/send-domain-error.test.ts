import type { ServerResponse } from 'node:http';
import { DomainError, type DomainErrorCode, ERROR_CODES } from '@trainyard/core';
import { describe, expect, it } from 'vitest';
import { sendDomainError } from './http-host';

const answer = (error: DomainError) => {
  const headers: Record<string, unknown> = {};
  let status = 0;
  let body = '';
  const response = {
    setHeader: (name: string, value: unknown) => void (headers[name.toLowerCase()] = value),
    writeHead: (code: number, more: Record<string, unknown>) => {
      status = code;
      Object.assign(headers, more);
    },
    end: (payload: string) => void (body = payload),
  } as unknown as ServerResponse;
  sendDomainError(response, error);
  return { status, headers, body: JSON.parse(body) as unknown };
};

describe('sendDomainError', () => {
  it("answers each code with ERROR_CODES' status, its code, message and details, and closes the connection", () => {
    for (const code of Object.keys(ERROR_CODES) as DomainErrorCode[]) {
      const sent = answer(new DomainError(code, `refused: ${code}`, { missing: ['a'] }));
      expect(sent.status, code).toBe(ERROR_CODES[code].httpStatus);
      expect(sent.body).toEqual({ error: { code, message: `refused: ${code}`, details: { missing: ['a'] } } });
      expect(sent.headers['connection']).toBe('close');
    }
  });

  it('answers a full disk with 507 Insufficient Storage', () => {
    expect(answer(new DomainError('UNAVAILABLE', 'The artifact store is out of disk space', { reason: 'disk_full' })).status).toBe(507);
  });
});
