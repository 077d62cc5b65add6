import { describe, expect, it } from 'vitest';
import { pageOf } from './pagination';

describe('pageOf', () => {
  it('uses the extra row only to say that more exist', () => {
    expect(pageOf([{ id: 'c' }, { id: 'b' }, { id: 'a' }], 2, (x) => x.id)).toEqual({ items: [{ id: 'c' }, { id: 'b' }], nextCursor: 'b' });
    expect(pageOf([{ id: 'c' }, { id: 'b' }], 2, (x) => x.id)).toEqual({ items: [{ id: 'c' }, { id: 'b' }], nextCursor: null });
    expect(pageOf([], 2, (x: { id: string }) => x.id)).toEqual({ items: [], nextCursor: null });
  });
});
