import type { ReactNode } from 'react';
import { errorMessage } from '../api';

export const Loading = ({ what }: { what: string }) => (
  <p className="state loading" role="status" aria-live="polite">
    Loading {what}…
  </p>
);

export const ErrorNote = ({ error, retry }: { error: unknown; retry?: () => void }) => (
  <div className="state error" role="alert">
    <span>{errorMessage(error)}</span>
    {retry && (
      <button type="button" onClick={retry}>
        Try again
      </button>
    )}
  </div>
);

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
