import { describe, expect, it } from 'vitest';
import { procStatState } from './linux-process-control';

describe('Linux process handling (/proc)', () => {
  it("reads the state after the command name, which may hold spaces and ')'", () => {
    expect(procStatState('4242 (node) S 1 4242 4242 0 -1 4194560')).toBe('S');
    expect(procStatState('4243 (my (odd) trainer) Z 1 4243 4243 0 -1')).toBe('Z');
  });
});
