import type { CompareJobsInput, CompareJobsOutput, ComparedJob, MetricSummary } from '@trainyard/contracts';
import { DomainError } from '@trainyard/core';
import type { Database } from '@trainyard/db';
import { configure } from 'safe-stable-stringify';
import type { MetricsStore } from './metrics-store';

/** Key order never makes two equal values differ: `{a:1,b:2}` and `{b:2,a:1}` are the same parameter value. */
const canonicalJson = configure({ deterministic: true, bigint: false, circularValue: Error });
/** A missing parameter is its own value, unlike any JSON (a job without `dropout` differs from one with it). */
const MISSING = '\u0000missing';

/** Every hyperparameter name of these jobs (sorted), and those whose value is not the same on all of them. */
export const compareParameters = (
  hyperparameters: ReadonlyArray<Readonly<Record<string, unknown>>>,
): { parameters: string[]; differingParameters: string[] } => {
  const names = new Set<string>();
  for (const params of hyperparameters) for (const name of Object.keys(params)) names.add(name);
  const parameters = [...names].sort();
  const differingParameters = parameters.filter((name) => {
    let first: string | undefined;
    for (const params of hyperparameters) {
      const value = Object.hasOwn(params, name) ? (canonicalJson(params[name]) ?? MISSING) : MISSING;
      if (first === undefined) first = value;
      else if (value !== first) return true;
    }
    return false;
  });
  return { parameters, differingParameters };
};

/**
 * `jobs.compare`: each job's name, status, executor, hyperparameters and metric summaries (one
 * pass over each series' records), in the order asked; repeated ids count once. Unknown ids are
 * refused, each named.
 */
export const compareJobs = async (deps: { database: Database; metrics: MetricsStore }, input: CompareJobsInput): Promise<CompareJobsOutput> => {
  const ids = [...new Set(input.jobIds)];
  const rows = await deps.database.prisma.trainingJob.findMany({
    where: { id: { in: ids } },
    select: { id: true, name: true, status: true, executor: true, hyperparameters: true },
  });
  const byId = new Map(rows.map((row) => [row.id, row]));
  const missing = ids.filter((id) => !byId.has(id));
  if (missing.length > 0) {
    const shown = missing.slice(0, 10).join(', ');
    throw new DomainError(
      'NOT_FOUND',
      `${missing.length === 1 ? 'Training job' : `${missing.length} training jobs`} not found: ${shown}${missing.length > 10 ? ', …' : ''}`,
      {
        missing,
      },
    );
  }
  const summaries = await deps.metrics.summariesOf(ids, input.metrics);
  const metricNames = new Set<string>();
  const jobs: ComparedJob[] = ids.map((id, index) => {
    const row = byId.get(id) as (typeof rows)[number];
    const metrics: Record<string, MetricSummary> = summaries[index] ?? {};
    for (const name of Object.keys(metrics)) metricNames.add(name);
    const hyperparameters = row.hyperparameters && typeof row.hyperparameters === 'object' && !Array.isArray(row.hyperparameters) ? row.hyperparameters : {};
    return { id: row.id, name: row.name, status: row.status as ComparedJob['status'], executor: row.executor, hyperparameters, metrics };
  });
  return { jobs, ...compareParameters(jobs.map((job) => job.hyperparameters)), metrics: [...metricNames].sort() };
};
