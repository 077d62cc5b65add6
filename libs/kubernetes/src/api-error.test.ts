import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { describeApiError } from './api-error';

describe('an API error on a job', () => {
  it('is the status code and the API server’s message, without the body dump and headers', () => {
    const status = { kind: 'Status', code: 403, message: 'jobs.batch is forbidden: User "x" cannot create resource "jobs"', reason: 'Forbidden' };
    for (const body of [status, JSON.stringify(status)]) {
      const error = describeApiError(new ApiException(403, 'Unknown API Status Code!', body, { authorization: 'Bearer secret' }), 'creating Job ty-1');
      expect(error.message).toBe('creating Job ty-1: Kubernetes answered 403: jobs.batch is forbidden: User "x" cannot create resource "jobs"');
    }
    expect(describeApiError(new ApiException(401, 'Unauthorized', undefined, {}), 'listing Jobs').message).toBe('listing Jobs: Kubernetes answered 401');
    const plain = new Error('connect ECONNREFUSED');
    expect(describeApiError(plain, 'x')).toBe(plain);
  });
});
