import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { isFinishedJobStatus, JOB_STATUSES, type JobStatus } from '@trainyard/contracts';
import { COMPARE_LIMITS } from '@trainyard/contracts';
import { Link, useNavigate, useSearchParams } from 'react-router-dom';
import { api, type JobSummary } from '../api';
import { ErrorNote, ProgressBar, QueryState, StatusBadge } from '../components/states';
import { compareHref } from '../lib/compare-table';
import { prefillFromSearch } from '../lib/dashboard';
import { formatDate } from '../lib/format';
import { NewJobForm } from './new-job-form';

const PAGE = 100;

const trainerName = (trainer: unknown): string => {
  const spec = trainer as { kind?: string; name?: string; command?: string[] };
  return spec.kind === 'builtin' ? (spec.name ?? '?') : (spec.command?.[0] ?? 'command');
};

type JobAction = { id: string; action: 'cancel' | 'retry' };

/** One mutation for a whole table of jobs (not two per row: a thousand rows would mean thousands of observers). */
export const useJobAction = () => {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ id, action }: JobAction) => (action === 'cancel' ? api.jobs.cancel.mutate({ id }) : api.jobs.retry.mutate({ id })),
    onSettled: () => client.invalidateQueries({ queryKey: ['jobs'] }),
  });
};

export const JobActions = ({ job, act }: { job: Pick<JobSummary, 'id' | 'status' | 'name'>; act: ReturnType<typeof useJobAction> }) => {
  const busy = act.isPending && act.variables?.id === job.id;
  return (
    <span className="actions">
      {!isFinishedJobStatus(job.status) && (
        <button
          type="button"
          // Cancelling stops the trainer and cannot be undone (a retry starts over): ask first.
          onClick={() =>
            window.confirm(`Cancel job ${job.name}? The trainer is stopped; a retry starts it over.`) && act.mutate({ id: job.id, action: 'cancel' })
          }
          disabled={busy}
          aria-label={`Cancel ${job.name}`}
        >
          Cancel
        </button>
      )}
      {(job.status === 'failed' || job.status === 'cancelled') && (
        <button type="button" onClick={() => act.mutate({ id: job.id, action: 'retry' })} disabled={busy} aria-label={`Retry ${job.name}`}>
          Retry
        </button>
      )}
    </span>
  );
};

export const JobsScreen = () => {
  const [status, setStatus] = useState<JobStatus | ''>('');
  const [targetModel, setTargetModel] = useState('');
  const filter = { ...(status ? { status } : {}), ...(targetModel.trim() ? { targetModel: targetModel.trim() } : {}) };
  const jobs = useInfiniteQuery({
    queryKey: ['jobs', 'list', filter],
    queryFn: ({ pageParam }) => api.jobs.list.query({ ...filter, limit: PAGE, ...(pageParam ? { cursor: pageParam } : {}) }),
    initialPageParam: '' as string,
    getNextPageParam: (page) => page.nextCursor ?? undefined,
    // Live while anything on screen is still moving.
    refetchInterval: (query) => (query.state.data?.pages.some((page) => page.items.some((job) => !isFinishedJobStatus(job.status))) ? 2_000 : 10_000),
  });
  const rows = jobs.data?.pages.flatMap((page) => page.items);
  const act = useJobAction();
  // `/jobs?new=1&trainer=…&snapshot=…` (the overview's demo action) opens the form filled in.
  const [search] = useSearchParams();
  const [prefill] = useState(() => prefillFromSearch(search));
  const [formOpen, setFormOpen] = useState(prefill !== undefined);
  // Ticked jobs, in the order ticked: Compare opens them side by side.
  const [selected, setSelected] = useState<string[]>([]);
  const navigate = useNavigate();
  const toggle = (id: string) => setSelected((current) => (current.includes(id) ? current.filter((other) => other !== id) : [...current, id]));
  const allShownSelected = rows !== undefined && rows.length > 0 && rows.every((job) => selected.includes(job.id));
  const selectAllShown = (on: boolean) =>
    setSelected((current) => (on ? [...current, ...(rows ?? []).map((job) => job.id).filter((id) => !current.includes(id))] : []));
  useEffect(() => {
    // For the UI benchmark: when the first page of rows is on screen.
    if (rows && rows.length > 0 && performance.getEntriesByName('jobs-rows').length === 0) performance.mark('jobs-rows');
  }, [rows]);
  return (
    <section aria-labelledby="jobs-title">
      <header className="screen-header">
        <h1 id="jobs-title">Jobs</h1>
      </header>
      <details className="panel" open={formOpen} onToggle={(event) => setFormOpen(event.currentTarget.open)}>
        <summary>New training job</summary>
        {formOpen && <NewJobForm {...(prefill ? { prefill } : {})} />}
      </details>
      {act.error && <ErrorNote error={act.error} />}
      <form className="filters" role="search" onSubmit={(event) => event.preventDefault()}>
        <label>
          Status{' '}
          <select value={status} onChange={(event) => setStatus(event.target.value as JobStatus | '')}>
            <option value="">any</option>
            {JOB_STATUSES.map((value) => (
              <option key={value}>{value}</option>
            ))}
          </select>
        </label>
        <label>
          Target model <input value={targetModel} onChange={(event) => setTargetModel(event.target.value)} placeholder="any" />
        </label>
        <button
          type="button"
          disabled={selected.length === 0 || selected.length > COMPARE_LIMITS.jobs}
          title={selected.length > COMPARE_LIMITS.jobs ? `At most ${COMPARE_LIMITS.jobs} jobs at once` : undefined}
          onClick={() => void navigate(compareHref(selected))}
        >
          Compare ({selected.length})
        </button>
      </form>
      <QueryState query={{ ...jobs, data: rows }} what="jobs" isEmpty={(list) => list.length === 0} empty="No jobs match. Start one above.">
        {(list) => (
          <>
            <table className="table" data-testid="jobs-table">
              <thead>
                <tr>
                  <th scope="col">
                    <input
                      type="checkbox"
                      aria-label="Select all shown jobs"
                      checked={allShownSelected}
                      onChange={(event) => selectAllShown(event.target.checked)}
                    />
                  </th>
                  <th scope="col">Name</th>
                  <th scope="col">Trainer</th>
                  <th scope="col">Status</th>
                  <th scope="col">Progress</th>
                  <th scope="col">Target model</th>
                  <th scope="col">Created</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {list.map((job) => (
                  <tr key={job.id}>
                    <td>
                      <input type="checkbox" aria-label={`Select ${job.name}`} checked={selected.includes(job.id)} onChange={() => toggle(job.id)} />
                    </td>
                    <td>
                      <Link to={`/jobs/${job.id}`}>{job.name}</Link>
                    </td>
                    <td>{trainerName(job.trainer)}</td>
                    <td>
                      <StatusBadge status={job.status} />
                    </td>
                    <td>
                      <ProgressBar fraction={job.progress} label={`${job.name} progress`} />
                    </td>
                    <td>{job.targetModelName ?? '—'}</td>
                    <td>{formatDate(job.createdAt)}</td>
                    <td>
                      <JobActions job={job} act={act} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            {jobs.hasNextPage && (
              <button type="button" onClick={() => void jobs.fetchNextPage()} disabled={jobs.isFetchingNextPage}>
                Load more
              </button>
            )}
          </>
        )}
      </QueryState>
    </section>
  );
};
