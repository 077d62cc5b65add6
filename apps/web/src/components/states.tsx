import type { ReactNode } from 'react';
import { canRetry, describeApiError } from '../api';
import type { FieldProblem } from '../lib/error-text';

export const Loading = ({ what }: { what: string }) => (
  <p className="state loading" role="status" aria-live="polite">
    Loading {what}…
  </p>
);

/**
 * A failure in plain words: its sentence, then each refused field as "field: message" (a form
 * that shows some fields under its own inputs passes only the rest as `fields`). "Try again"
 * only where a retry can help (unreachable, timeout, 5xx), never for a 4xx such as a 404.
 */
export const ErrorNote = ({ error, retry, fields }: { error: unknown; retry?: () => void; fields?: readonly FieldProblem[] }) => {
  const described = describeApiError(error);
  const listed = fields ?? described.fields;
  return (
    <div className="state error" role="alert">
      <span>{described.summary}</span>
      {listed.length > 0 && (
        <ul className="field-problems">
          {listed.map((field, index) => (
            <li key={`${field.key}-${index}`}>
              {field.label}: {field.message}
            </li>
          ))}
        </ul>
      )}
      {retry && canRetry(error) && (
        <button type="button" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  );
};

export const Empty = ({ children }: { children: ReactNode }) => <p className="state empty">{children}</p>;

/** Loading, error and empty states of one query, in one place. */
export const QueryState = <T,>({
  query,
  what,
  isEmpty,
  empty,
  children,
}: {
  query: { isPending: boolean; error: unknown; data: T | undefined; refetch: () => unknown };
  what: string;
  isEmpty?: (data: T) => boolean;
  empty?: ReactNode;
  children: (data: T) => ReactNode;
}) => {
  if (query.isPending) return <Loading what={what} />;
  if (query.error || query.data === undefined) return <ErrorNote error={query.error} retry={() => void query.refetch()} />;
  if (isEmpty?.(query.data)) return <Empty>{empty ?? `No ${what} yet.`}</Empty>;
  return <>{children(query.data)}</>;
};

export const ProgressBar = ({ fraction, label }: { fraction: number; label: string }) => {
  const percent = Math.round(Math.max(0, Math.min(1, fraction)) * 100);
  return (
    <div className="progress" role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={percent}>
      <div className="progress-fill" style={{ width: `${percent}%` }} />
      <span className="progress-text">{percent}%</span>
    </div>
  );
};

export const StatusBadge = ({ status }: { status: string }) => <span className={`badge badge-${status}`}>{status}</span>;
