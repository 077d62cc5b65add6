/** A number without trailing zeros: 0.9, 0.9523, 0.001 (significant digits as given). */
const plainNumber = (value: number | null, digits = 4): string =>
  value === null ? '—' : Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(digits)));

/** A gate rule as the API stores it (`jobs.create` validation, a version's report). */
export type GateRule = { metric: string; op: string; value: number } | { metric: string; op: string; relativeTo: { alias: string }; delta?: number };

export interface ReportRow {
  rule: string;
  /** The metric's observed value. */
  value: string;
  /** passed / failed, with the threshold or the reason. */
  result: string;
  passed: boolean;
}

const OPERATOR: Record<string, string> = { '>=': '≥', '<=': '≤', '>': '>', '<': '<' };

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** `val_accuracy ≥ 0.9`, `val_loss ≤ production + 0.01`. */
export const ruleText = (rule: unknown): string => {
  if (!isRecord(rule)) return String(rule);
  const metric = String(rule['metric'] ?? '?');
  const op = OPERATOR[String(rule['op'])] ?? String(rule['op']);
  if (typeof rule['value'] === 'number') return `${metric} ${op} ${plainNumber(rule['value'])}`;
  const alias = isRecord(rule['relativeTo']) ? String(rule['relativeTo']['alias']) : '?';
  const delta = typeof rule['delta'] === 'number' && rule['delta'] !== 0 ? ` ${rule['delta'] < 0 ? '−' : '+'} ${plainNumber(Math.abs(rule['delta']))}` : '';
  return `${metric} ${op} ${alias}${delta}`;
};

/**
 * A validation report (`{ passed, results: [{ rule, observed, threshold, passed, reason }] }`)
 * as table rows; undefined when the value is not one (no report yet, or an older shape).
 */
export const reportRows = (report: unknown): ReportRow[] | undefined => {
  if (!isRecord(report) || !Array.isArray(report['results'])) return undefined;
  return report['results'].filter(isRecord).map((result) => {
    const passed = result['passed'] === true;
    const observed = typeof result['observed'] === 'number' ? result['observed'] : null;
    const threshold = typeof result['threshold'] === 'number' ? result['threshold'] : null;
    const relative = isRecord(result['rule']) && 'relativeTo' in result['rule'] && threshold !== null ? ` (threshold ${plainNumber(threshold)})` : '';
    const reason = typeof result['reason'] === 'string' ? ` — ${result['reason']}` : '';
    return { rule: ruleText(result['rule']), value: plainNumber(observed), result: `${passed ? 'passed' : 'failed'}${relative}${reason}`, passed };
  });
};

/** A free-form JSON value for one table cell: text as is, numbers formatted, the rest as compact JSON. */
export const cellText = (value: unknown): string => {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return plainNumber(value, 6);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return JSON.stringify(value);
};

/** An object's entries as key | value rows, sorted by key. */
export const keyValueRows = (value: unknown): Array<[string, string]> =>
  isRecord(value)
    ? Object.entries(value)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([key, item]) => [key, cellText(item)])
    : [];

export interface ReportSection {
  title: string;
  rows: ReportRow[];
  /** e.g. the reason a failing gate was overridden. */
  note?: string;
}

/**
 * A version's validation record — `{ create: report, aliases: { alias: { report, override } } }`
 * (or a bare report) — as one section per check: when it was registered, and each alias move.
 */
export const versionReports = (validation: unknown): ReportSection[] => {
  const bare = reportRows(validation);
  if (bare) return [{ title: 'when registered', rows: bare }];
  if (!isRecord(validation)) return [];
  const sections: ReportSection[] = [];
  const created = reportRows(validation['create']);
  if (created) sections.push({ title: 'when registered', rows: created });
  const aliases = isRecord(validation['aliases']) ? validation['aliases'] : {};
  for (const [alias, record] of Object.entries(aliases)) {
    if (!isRecord(record)) continue;
    const rows = reportRows(record['report']);
    if (!rows) continue;
    const reason = isRecord(record['override']) && typeof record['override']['reason'] === 'string' ? record['override']['reason'] : undefined;
    sections.push({ title: `moving alias ${alias}`, rows, ...(reason ? { note: `gate overridden: ${reason}` } : {}) });
  }
  return sections;
};
