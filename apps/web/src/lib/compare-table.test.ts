import type { ComparedJob } from '@trainyard/contracts';
import { describe, expect, it } from 'vitest';
import { compareHref, filterJobs, groupJobs, idsFromSearch, meanStd, sortGroups, sortJobs, tableColumns } from './compare-table';

const summary = (min: number, max: number, last: number) => ({ last, lastStep: 3, min, minStep: 1, max, maxStep: 2, count: 3 });
const job = (name: string, hyperparameters: Record<string, unknown>, loss?: [number, number, number], accuracy?: [number, number, number]): ComparedJob => ({
  id: name,
  name,
  status: 'succeeded',
  executor: 'local',
  hyperparameters,
  metrics: {
    ...(loss ? { val_loss: summary(...loss) } : {}),
    ...(accuracy ? { accuracy: summary(...accuracy) } : {}),
  },
});

const jobs = [
  job('run-10', { lr: 0.1, seed: 1, opt: 'sgd' }, [0.5, 0.9, 0.6], [0.6, 0.8, 0.7]),
  job('run-2', { lr: 0.01, seed: 1, opt: 'adam' }, [0.2, 0.9, 0.3], [0.7, 0.95, 0.9]),
  job('run-3', { lr: 0.001, seed: 2, opt: 'adam' }, [0.3, 0.8, 0.35], [0.65, 0.9, 0.85]),
  job('no-metrics', { lr: 0.05, seed: 2 }),
];
const none = {};

describe('the compare table', () => {
  it('sorts by a metric’s best by its direction (val_loss: lowest), by last, by a parameter or by name (natural order); missing values last either way', () => {
    const byLoss = (order: 'asc' | 'desc') => sortJobs(jobs, { type: 'metric', name: 'val_loss' }, order, none).map((j) => j.name);
    expect(byLoss('asc')).toEqual(['run-2', 'run-3', 'run-10', 'no-metrics']);
    expect(byLoss('desc')).toEqual(['run-10', 'run-3', 'run-2', 'no-metrics']);
    // accuracy's best is its max
    expect(sortJobs(jobs, { type: 'metric', name: 'accuracy' }, 'desc', none).map((j) => j.name)).toEqual(['run-2', 'run-3', 'run-10', 'no-metrics']);
    // last values, and a direction switched by the user
    expect(sortJobs(jobs, { type: 'metric', name: 'val_loss' }, 'asc', { val_loss: { kind: 'last', direction: 'min' } }).map((j) => j.name)[0]).toBe('run-2');
    expect(sortJobs(jobs, { type: 'metric', name: 'val_loss' }, 'asc', { val_loss: { kind: 'best', direction: 'max' } }).map((j) => j.name)).toEqual([
      'run-3',
      'run-10',
      'run-2',
      'no-metrics',
    ]);
    expect(sortJobs(jobs, { type: 'parameter', name: 'lr' }, 'asc', none).map((j) => j.name)).toEqual(['run-3', 'run-2', 'no-metrics', 'run-10']);
    expect(sortJobs(jobs, { type: 'parameter', name: 'opt' }, 'asc', none).map((j) => j.name)).toEqual(['run-2', 'run-3', 'run-10', 'no-metrics']);
    expect(sortJobs(jobs, { type: 'name' }, 'asc', none).map((j) => j.name)).toEqual(['no-metrics', 'run-2', 'run-3', 'run-10']);
  });

  it('filters by text in the name and by a number on a column (a job without that number is left out)', () => {
    expect(filterJobs(jobs, { text: 'RUN-' }, none).map((j) => j.name)).toEqual(['run-10', 'run-2', 'run-3']);
    expect(filterJobs(jobs, { numeric: { column: { type: 'metric', name: 'val_loss' }, op: '<=', value: 0.3 } }, none).map((j) => j.name)).toEqual([
      'run-2',
      'run-3',
    ]);
    expect(filterJobs(jobs, { text: '3', numeric: { column: { type: 'parameter', name: 'lr' }, op: '>=', value: 0.001 } }, none).map((j) => j.name)).toEqual([
      'run-3',
    ]);
  });

  it('groups by a parameter with each metric’s mean ± sample standard deviation; a group of one has no std', () => {
    const groups = groupJobs(jobs, 'seed', ['val_loss'], none);
    expect(groups.map((g) => [g.key, g.jobs.length])).toEqual([
      ['1', 2],
      ['2', 2],
    ]);
    expect(groups[0]?.metrics['val_loss']?.mean).toBeCloseTo(0.35);
    expect(groups[0]?.metrics['val_loss']?.std).toBeCloseTo(Math.sqrt(((0.5 - 0.35) ** 2 + (0.2 - 0.35) ** 2) / 1));
    expect(groups[1]?.metrics['val_loss']).toEqual({ mean: 0.3, std: undefined, n: 1 });
    expect(sortGroups(groups, { type: 'metric', name: 'val_loss' }, 'asc').map((g) => g.key)).toEqual(['2', '1']);
    expect(groupJobs(jobs, 'opt', [], none).map((g) => g.key)).toEqual(['', 'adam', 'sgd']);
    expect(meanStd([])).toBeUndefined();
    expect(meanStd([1, 2, 3, 4])).toEqual({ mean: 2.5, std: Math.sqrt(5 / 3), n: 4 });
  });

  it('shows only the differing parameters unless asked for all, then every metric', () => {
    const result = { jobs, parameters: ['lr', 'opt', 'seed', 'x'], differingParameters: ['lr', 'opt', 'seed'], metrics: ['accuracy', 'val_loss'] };
    expect(tableColumns(result, false).map((c) => (c.type === 'name' ? 'name' : c.name))).toEqual(['name', 'lr', 'opt', 'seed', 'accuracy', 'val_loss']);
    expect(tableColumns(result, true).filter((c) => c.type === 'parameter')).toHaveLength(4);
  });

  it('reads job ids from the address it makes, each once', () => {
    expect(compareHref(['a', 'b'])).toBe('/compare?ids=a,b');
    expect(idsFromSearch(new URLSearchParams('ids=a,b,a&ids=c'))).toEqual(['a', 'b', 'c']);
  });
});
