import { describe, expect, it } from 'vitest';
import { evaluateGate } from './validation-gate';

describe('validation gates', () => {
  it('checks absolute thresholds and records every rule', () => {
    const report = evaluateGate(
      [
        { metric: 'val_accuracy', op: '>=', value: 0.9 },
        { metric: 'val_loss', op: '<', value: 0.3 },
      ],
      { val_accuracy: 0.93, val_loss: 0.31 },
      {},
    );
    expect(report.passed).toBe(false);
    expect(report.results.map((r) => [r.observed, r.threshold, r.passed])).toEqual([
      [0.93, 0.9, true],
      [0.31, 0.3, false],
    ]);
  });

  it('compares with the version holding an alias, with a margin', () => {
    const rules = [
      { metric: 'val_accuracy', op: '>=' as const, relativeTo: { alias: 'champion' }, delta: 0.01 },
      { metric: 'val_loss', op: '<=' as const, relativeTo: { alias: 'champion' } },
    ];
    const champion = { val_accuracy: 0.9, val_loss: 0.25 };
    expect(evaluateGate(rules, { val_accuracy: 0.915, val_loss: 0.25 }, { champion }).passed).toBe(true);
    const short = evaluateGate(rules, { val_accuracy: 0.905, val_loss: 0.2 }, { champion });
    expect(short.passed).toBe(false);
    expect(short.results[0]).toMatchObject({ observed: 0.905, passed: false });
    expect(short.results[0]?.threshold).toBeCloseTo(0.91);
  });

  it('passes a relative rule when nobody holds the alias yet, and fails a missing metric', () => {
    const report = evaluateGate(
      [
        { metric: 'val_auc', op: '>=', relativeTo: { alias: 'champion' } },
        { metric: 'val_f1', op: '>=', value: 0.5 },
      ],
      { val_auc: 0.7, nan: Number.NaN },
      {},
    );
    expect(report.results.map((r) => r.passed)).toEqual([true, false]);
    expect(report.results[1]?.reason).toMatch(/val_f1 was not reported/);
    expect(evaluateGate([{ metric: 'nan', op: '>=', value: 0 }], { nan: Number.NaN }, {}).passed).toBe(false);
  });
});
