import { describe, expect, it } from 'vitest';
import { parseVersionRef, splitTexts } from './version-ref';

describe('what users type', () => {
  it('reads a version number, an alias, or nothing valid', () => {
    expect(parseVersionRef('3')).toEqual({ version: 3 });
    expect(parseVersionRef(' v12 ')).toEqual({ version: 12 });
    expect(parseVersionRef('production')).toEqual({ alias: 'production' });
    expect(parseVersionRef('0')).toBeUndefined();
    expect(parseVersionRef('../etc')).toBeUndefined();
    expect(parseVersionRef('')).toBeUndefined();
  });

  it('splits pasted texts by blank lines when there are any, else by line', () => {
    expect(splitTexts('one\ntwo\n')).toEqual(['one', 'two']);
    expect(splitTexts('first para\nstill first\n\n  second  \n\n\n')).toEqual(['first para\nstill first', 'second']);
  });
});
