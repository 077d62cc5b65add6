import { describe, expect, it } from 'vitest';
import { describeError, fieldLabel, isRetryable, placeFieldProblems } from './error-text';

const zodMessage = JSON.stringify([{ code: 'invalid_format', path: ['alias'], message: 'use lowercase letters' }], null, 2);

describe('errors in plain words', () => {
  it('never shows the validator JSON: a count, then each field with its message', () => {
    const described = describeError({ message: zodMessage, httpStatus: 400, issues: [{ path: ['alias'], message: 'use lowercase letters' }] });
    expect(described.summary).toBe('One field was not accepted.');
    expect(described.fields).toEqual([{ key: 'alias', label: 'alias', message: 'use lowercase letters' }]);
    const two = describeError({
      message: zodMessage,
      httpStatus: 400,
      issues: [
        { path: ['trainer', 'cwd'], message: 'must be an absolute path' },
        { path: ['trainer', 'command', '0'], message: 'Too small' },
      ],
    });
    expect(two.summary).toBe('2 fields were not accepted.');
    expect(two.fields.map((field) => `${field.label}: ${field.message}`)).toEqual(['trainer cwd: must be an absolute path', 'trainer command #1: Too small']);
    expect(JSON.stringify(two)).not.toContain('invalid_format');
  });

  it('keeps a plain message as it is, and shortens one that already lists its fields', () => {
    expect(describeError({ message: 'Model m not found', httpStatus: 404, issues: [] })).toEqual({ summary: 'Model m not found', fields: [] });
    expect(describeError({ message: '[object]', httpStatus: 400, issues: [] }).summary).toBe('The server refused the request.');
    const listed = describeError({
      message: 'Invalid hyperparameters for text-detector: epochs: Too big',
      httpStatus: 400,
      issues: [{ path: ['epochs'], message: 'Too big' }],
    });
    expect(listed.summary).toBe('Invalid hyperparameters for text-detector');
  });

  it('names paths in words', () => {
    expect(fieldLabel([])).toBe('input');
    expect(fieldLabel(['validation', '0', 'value'])).toBe('validation #1 value');
  });

  it('offers a retry only where one can help', () => {
    for (const status of [null, 500, 502, 503, 504, 408, 429]) expect(isRetryable(status)).toBe(true);
    for (const status of [400, 401, 403, 404, 409, 412, 413, 422]) expect(isRetryable(status)).toBe(false);
  });

  it('puts each problem under its form field, and lists the rest', () => {
    const { fields } = describeError({
      message: zodMessage,
      httpStatus: 400,
      issues: [
        { path: ['trainer', 'cwd'], message: 'must be an absolute path' },
        { path: ['trainer', 'cwd'], message: 'must not contain NUL' },
        { path: ['priority'], message: 'Too big' },
      ],
    });
    const placed = placeFieldProblems(fields, (key) => (key === 'trainer.cwd' ? 'cwd' : undefined));
    expect(placed.byField).toEqual({ cwd: 'must be an absolute path; must not contain NUL' });
    expect(placed.rest.map((field) => field.label)).toEqual(['priority']);
  });
});
