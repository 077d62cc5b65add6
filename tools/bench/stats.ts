export const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? NaN) : ((sorted[middle - 1] ?? NaN) + (sorted[middle] ?? NaN)) / 2;
};

export const timeMs = async (work: () => Promise<unknown>): Promise<number> => {
  const started = performance.now();
  await work();
  return performance.now() - started;
};

export const repeat = async (runs: number, work: (run: number) => Promise<number>): Promise<number[]> => {
  const results: number[] = [];
  for (let run = 0; run < runs; run += 1) results.push(await work(run));
  return results;
};
