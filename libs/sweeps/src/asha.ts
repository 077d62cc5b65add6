import type { AshaSpec } from '@trainyard/contracts';

/** The largest rung considered: a trainer reporting step 1e15 must not make us list a million rungs. */
const MAX_RUNG = Number.MAX_SAFE_INTEGER;

/**
 * The rungs (in the steps of the trainer's metric points) a trial that reported up to `step` has
 * crossed and that are not in `recorded` yet, smallest first: gracePeriod, gracePeriod×η, ×η², …
 */
export const rungsCrossed = (spec: Pick<AshaSpec, 'gracePeriod' | 'reductionFactor'>, step: number, recorded: ReadonlySet<number>): number[] => {
  const rungs: number[] = [];
  for (let rung = spec.gracePeriod; rung <= step && rung <= MAX_RUNG; rung *= spec.reductionFactor) if (!recorded.has(rung)) rungs.push(rung);
  return rungs;
};

export interface AshaVerdict {
  prune: boolean;
  /** 1 = the best of the values recorded at this rung, this one included (ties share the better rank). */
  rank: number;
  /** How many of them go on: the best 1/η, at least one. */
  keep: number;
  /** How many values are recorded at this rung, this one included. */
  of: number;
}

/**
 * ASHA's decision for a trial that reached a rung with `value`, given the values other trials
 * recorded at the same rung before it (Li et al., "A System for Massively Parallel
 * Hyperparameter Tuning", 2020: asynchronous successive halving, in its stopping form): it goes on
 * only if it is among the best ⌊n/η⌋ (at least the best one) of the n values recorded there so
 * far. The first trial at a rung always goes on; later ones must beat the field. Decisions never
 * wait for other trials, so no worker idles, and a trial is never judged against values from a
 * different rung.
 */
export const ashaVerdict = (spec: Pick<AshaSpec, 'mode' | 'reductionFactor'>, value: number, others: readonly number[]): AshaVerdict => {
  const better = others.filter((other) => (spec.mode === 'max' ? other > value : other < value)).length;
  const of = others.length + 1;
  const keep = Math.max(1, Math.floor(of / spec.reductionFactor));
  const rank = better + 1;
  return { prune: rank > keep, rank, keep, of };
};
