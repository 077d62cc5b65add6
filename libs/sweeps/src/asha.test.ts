import { describe, expect, it } from 'vitest';
import { ashaVerdict, rungsCrossed } from './asha';

const spec = { metric: 'val_loss', mode: 'min' as const, gracePeriod: 2, reductionFactor: 3 };

describe('ASHA', () => {
  it('places rungs at gracePeriod × η^k and reports each once', () => {
    expect(rungsCrossed(spec, 1, new Set())).toEqual([]);
    expect(rungsCrossed(spec, 2, new Set())).toEqual([2]);
    expect(rungsCrossed(spec, 20, new Set([2]))).toEqual([6, 18]);
    expect(rungsCrossed(spec, 1e300, new Set()).length).toBeLessThan(40);
  });

  it('decides a hand-checked sequence of arrivals at one rung (η = 3, lower is better)', () => {
    // Arrivals at rung 2, in order, with the values recorded before each:
    //  A 0.50: first at the rung, keep max(1, ⌊1/3⌋) = 1, rank 1 → goes on
    //  B 0.70: n = 2, keep 1, rank 2 (A is better) → pruned
    //  C 0.40: n = 3, keep 1, rank 1 → goes on
    //  D 0.45: n = 4, keep 1, rank 2 (C) → pruned
    //  E 0.42: n = 5, keep 1, rank 2 (C) → pruned
    //  F 0.30: n = 6, keep 2, rank 1 → goes on
    //  G 0.41: n = 7, keep 2, rank 3 (F, C) → pruned
    //  H 0.40: n = 8, keep 2, rank 2 (F; C ties, counted in H's favour) → goes on
    const arrivals: Array<[string, number, boolean]> = [
      ['A', 0.5, false],
      ['B', 0.7, true],
      ['C', 0.4, false],
      ['D', 0.45, true],
      ['E', 0.42, true],
      ['F', 0.3, false],
      ['G', 0.41, true],
      ['H', 0.4, false],
    ];
    const recorded: number[] = [];
    for (const [trial, value, pruned] of arrivals) {
      expect(ashaVerdict(spec, value, recorded).prune, trial).toBe(pruned);
      recorded.push(value);
    }
    expect(ashaVerdict(spec, 0.35, recorded)).toEqual({ prune: false, rank: 2, keep: 3, of: 9 });
  });

  it('reads higher as better in max mode', () => {
    const max = { ...spec, mode: 'max' as const };
    expect(ashaVerdict(max, 0.9, [0.5, 0.6]).prune).toBe(false);
    expect(ashaVerdict(max, 0.55, [0.5, 0.6]).prune).toBe(true);
  });
});
