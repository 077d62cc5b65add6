import { describe, expect, it } from 'vitest';
import { cellText, keyValueRows, reportRows, ruleText, versionReports } from './readable';

describe('JSON made readable', () => {
  it('writes gate rules the way people do', () => {
    expect(ruleText({ metric: 'val_accuracy', op: '>=', value: 0.9 })).toBe('val_accuracy ≥ 0.9');
    expect(ruleText({ metric: 'val_loss', op: '<=', relativeTo: { alias: 'production' } })).toBe('val_loss ≤ production');
    expect(ruleText({ metric: 'auc', op: '>', relativeTo: { alias: 'champion' }, delta: 0.01 })).toBe('auc > champion + 0.01');
  });

  it('turns a validation report into rule | value | result rows', () => {
    const rows = reportRows({
      passed: false,
      results: [
        { rule: { metric: 'val_accuracy', op: '>=', value: 0.9 }, observed: 0.95, threshold: 0.9, passed: true },
        { rule: { metric: 'f1', op: '>=', value: 0.5 }, observed: null, threshold: null, passed: false, reason: 'metric f1 was not reported' },
        { rule: { metric: 'auc', op: '>=', relativeTo: { alias: 'production' } }, observed: 0.8, threshold: 0.85, passed: false },
      ],
    });
    expect(rows).toEqual([
      { rule: 'val_accuracy ≥ 0.9', value: '0.95', result: 'passed', passed: true },
      { rule: 'f1 ≥ 0.5', value: '—', result: 'failed — metric f1 was not reported', passed: false },
      { rule: 'auc ≥ production', value: '0.8', result: 'failed (threshold 0.85)', passed: false },
    ]);
    expect(reportRows(null)).toBeUndefined();
    expect(reportRows({ passed: true })).toBeUndefined();
    expect(reportRows({ passed: true, results: [] })).toEqual([]);
  });

  it('lists hyperparameters as sorted key | value rows', () => {
    expect(keyValueRows({ lr: 0.001, epochs: 8, tokenizer: 'words', layers: [64, 32], shuffle: false, note: null })).toEqual([
      ['epochs', '8'],
      ['layers', '[64,32]'],
      ['lr', '0.001'],
      ['note', '—'],
      ['shuffle', 'false'],
      ['tokenizer', 'words'],
    ]);
    expect(keyValueRows([1, 2])).toEqual([]);
    expect(cellText(1 / 3)).toBe('0.333333');
  });

  it("splits a version's record into its registration check and each alias move", () => {
    const passed = { passed: true, results: [{ rule: { metric: 'val_accuracy', op: '>=', value: 0.5 }, observed: 0.9, threshold: 0.5, passed: true }] };
    const failed = {
      passed: false,
      results: [{ rule: { metric: 'val_auc', op: '>', relativeTo: { alias: 'production' } }, observed: 0.8, threshold: 0.9, passed: false }],
    };
    expect(
      versionReports({
        create: passed,
        aliases: { staging: { report: { passed: true, results: [] }, override: null }, production: { report: failed, override: { reason: 'hotfix' } } },
      }),
    ).toEqual([
      { title: 'when registered', rows: [{ rule: 'val_accuracy ≥ 0.5', value: '0.9', result: 'passed', passed: true }] },
      { title: 'moving alias staging', rows: [] },
      {
        title: 'moving alias production',
        rows: [{ rule: 'val_auc > production', value: '0.8', result: 'failed (threshold 0.9)', passed: false }],
        note: 'gate overridden: hotfix',
      },
    ]);
    expect(versionReports(passed)).toHaveLength(1);
    expect(versionReports(null)).toEqual([]);
  });
});
