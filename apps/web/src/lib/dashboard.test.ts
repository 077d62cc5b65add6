import { describe, expect, it } from 'vitest';
import { newJobHref, pageCount, prefillFromSearch } from './dashboard';

describe('the landing dashboard', () => {
  it('counts a page, saying when there are more', () => {
    expect(pageCount({ items: [1, 2, 3], nextCursor: null })).toBe('3');
    expect(pageCount({ items: new Array(200).fill(0), nextCursor: 'abc' })).toBe('200+');
    expect(pageCount(undefined)).toBe('…');
  });

  it('links to a prefilled new-job form, and the jobs screen reads it back', () => {
    const href = newJobHref({ trainer: 'text-detector', snapshotId: '0b7f0a5e-2c1d-4c8a-9f0e-3a4b5c6d7e8f' });
    expect(href).toBe('/jobs?new=1&trainer=text-detector&snapshot=0b7f0a5e-2c1d-4c8a-9f0e-3a4b5c6d7e8f');
    expect(prefillFromSearch(new URLSearchParams(href.split('?')[1]))).toEqual({
      trainer: 'text-detector',
      snapshotId: '0b7f0a5e-2c1d-4c8a-9f0e-3a4b5c6d7e8f',
    });
    expect(prefillFromSearch(new URLSearchParams('new=1'))).toEqual({});
    expect(prefillFromSearch(new URLSearchParams('status=running'))).toBeUndefined();
  });
});
