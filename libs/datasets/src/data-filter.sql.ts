import type { DataFilter } from '@trainyard/contracts';

export interface SqlFragment {
  sql: string;
  params: unknown[];
}

/**
 * One translation of a DataFilter into a parameterised WHERE clause, shared by list, stats and
 * snapshots so they can never disagree about which points match. Values only ever travel as
 * parameters.
 */
export const filterToSql = (filter: DataFilter, options: { firstParam?: number; excludedByDefault?: boolean | 'any' } = {}): SqlFragment => {
  const firstParam = options.firstParam ?? 1;
  const clauses: string[] = [];
  const params: unknown[] = [];
  const param = (value: unknown): string => {
    params.push(value);
    return `$${firstParam + params.length - 1}`;
  };
  const range = (column: string, bounds?: { min?: number; max?: number }): void => {
    if (bounds?.min !== undefined) clauses.push(`"${column}" >= ${param(bounds.min)}`);
    if (bounds?.max !== undefined) clauses.push(`"${column}" <= ${param(bounds.max)}`);
  };
  range('detectionScoreBefore', filter.detectionScoreBefore);
  range('detectionScoreAfter', filter.detectionScoreAfter);
  if (filter.minImprovement !== undefined) clauses.push(`"improvement" >= ${param(filter.minImprovement)}`);
  if (filter.minQuality !== undefined) clauses.push(`"qualityScore" >= ${param(filter.minQuality)}`);
  if (filter.tags?.length) clauses.push(`"tags" @> ${param(filter.tags)}::text[]`);
  // No tag in common: && is "overlaps", so a pair with any of these tags is left out (the column
  // is nullable: a pair without a tags array has none of them).
  if (filter.excludeTags?.length) clauses.push(`NOT COALESCE("tags" && ${param(filter.excludeTags)}::text[], FALSE)`);
  for (const column of ['sourceTransformationId', 'sourceModel', 'sourceProvider', 'language'] as const) {
    if (filter[column] !== undefined) clauses.push(`"${column}" = ${param(filter[column])}`);
  }
  if (filter.createdFrom) clauses.push(`"createdAt" >= ${param(filter.createdFrom)}`);
  if (filter.createdTo) clauses.push(`"createdAt" < ${param(filter.createdTo)}`);
  if (filter.textContains) {
    const pattern = param(`%${filter.textContains.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    clauses.push(`("aiText" ILIKE ${pattern} OR "humanizedText" ILIKE ${pattern})`);
  }
  // Training sets want included points unless told otherwise; statistics want both.
  const excluded = filter.excluded ?? options.excludedByDefault ?? false;
  // A literal, not a parameter: the planner can use the partial index on excluded points only
  // when the predicate itself says "excluded".
  if (excluded !== 'any') clauses.push(excluded ? '"excluded"' : 'NOT "excluded"');
  return { sql: clauses.length > 0 ? clauses.join(' AND ') : 'TRUE', params };
};
