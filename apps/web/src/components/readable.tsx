import { useQuery } from '@tanstack/react-query';
import { api } from '../api';
import { shortId } from '../lib/format';
import { keyValueRows, type ReportRow, reportRows, ruleText, versionReports } from '../lib/readable';

/** A snapshot by its name (the id in a tooltip); the short id while loading or when it is gone. */
export const SnapshotName = ({ id }: { id: string | null | undefined }) => {
  const snapshot = useQuery({
    queryKey: ['snapshots', 'get', id],
    queryFn: () => api.datasets.get.query({ id: id ?? '' }),
    enabled: Boolean(id),
    staleTime: Infinity,
  });
  if (!id) return <>—</>;
  return (
    <span title={id}>
      {snapshot.data ? `${snapshot.data.name} (${snapshot.data.totalCount} pairs)` : snapshot.error ? `snapshot ${shortId(id)} (not found)` : shortId(id)}
    </span>
  );
};

/** Free-form JSON (hyperparameters) as a key | value table. */
export const KeyValueTable = ({ value, label, empty = 'none' }: { value: unknown; label: string; empty?: string }) => {
  const rows = keyValueRows(value);
  if (rows.length === 0) return <span className="muted">{empty}</span>;
  return (
    <table className="table compact" aria-label={label}>
      <thead>
        <tr>
          <th scope="col">key</th>
          <th scope="col">value</th>
        </tr>
      </thead>
      <tbody>
        {rows.map(([key, text]) => (
          <tr key={key}>
            <th scope="row">{key}</th>
            <td>{text}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
};

/**
 * A validation report as a rule | value | result table; without a report yet, the rules that
 * will be checked (or nothing to check).
 */
export const ValidationTable = ({ report, rules, label }: { report: unknown; rules?: unknown; label: string }) => {
  const rows = reportRows(report);
  if (!rows) {
    const pending = Array.isArray(rules) ? rules : [];
    if (pending.length === 0) return <span className="muted">no validation rules</span>;
    return <span>not checked yet: {pending.map(ruleText).join(', ')}</span>;
  }
  return <ReportTable rows={rows} label={label} />;
};

/** A version's validation record: the check when it was registered, and each alias move's. */
export const VersionValidation = ({ validation, label }: { validation: unknown; label: string }) => {
  const sections = versionReports(validation);
  if (sections.length === 0) return <span className="muted">no report</span>;
  return (
    <>
      {sections.map((section) => (
        <div key={section.title}>
          <div className="muted">
            {section.title}
            {section.note ? ` — ${section.note}` : ''}
          </div>
          <ReportTable rows={section.rows} label={`${label}, ${section.title}`} />
        </div>
      ))}
    </>
  );
};

const ReportTable = ({ rows, label }: { rows: readonly ReportRow[]; label: string }) => {
  if (rows.length === 0) return <span className="muted">no validation rules</span>;
  return (
    <table className="table compact" aria-label={label}>
      <thead>
        <tr>
          <th scope="col">rule</th>
          <th scope="col">value</th>
          <th scope="col">result</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((row, index) => (
          <tr key={index}>
            <td>{row.rule}</td>
            <td>{row.value}</td>
            <td className={row.passed ? 'ok-text' : 'error-text'}>{row.result}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
};
