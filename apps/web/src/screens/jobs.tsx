import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router-dom';
import { api, type JobSummary } from '../api';
import { ErrorNote, ProgressBar, QueryState, StatusBadge } from '../components/states';
import { formatDate } from '../lib/format';
import { NewJobForm } from './new-job-form';

const STATUSES = ['queued', 'running', 'validating', 'succeeded', 'failed', 'cancelled'] as const;
type Status = (typeof STATUSES)[number];
const ACTIVE = new Set(['queued', 'running', 'validating']);
const PAGE = 100;

const trainerName = (trainer: unknown): string => {
  const spec = trainer as { kind?: string; name?: string; command?: string[] };
  return spec.kind === 'builtin' ? (spec.name ?? '?') : (spec.command?.[0] ?? 'command');
};

export const JobActions = ({ job }: { job: Pick<JobSummary, 'id' | 'status' | 'name'> }) => {
  const client = useQueryClient();
  const refresh = () => void client.invalidateQueries({ queryKey: ['jobs'] });
  const cancel = useMutation({ mutationFn: () => api.jobs.cancel.mutate({ id: job.id }), onSuccess: refresh });
  const retry = useMutation({ mutationFn: () => api.jobs.retry.mutate({ id: job.id }), onSuccess: refresh });
  return (
    <span className="actions">
      {ACTIVE.has(job.status) && (
        <button type="button" onClick={() => cancel.mutate()} disabled={cancel.isPending} aria-label={`Cancel ${job.name}`}>
          Cancel
        </button>
      )}
      {(job.status === 'failed' || job.status === 'cancelled') && (
        <button type="button" onClick={() => retry.mutate()} disabled={retry.isPending} aria-label={`Retry ${job.name}`}>
          Retry
        </button>
      )}
      {(cancel.error ?? retry.error) && <ErrorNote error={cancel.error ?? retry.error} />}
    </span>
  );
};

export const JobsScreen = () => {
  const [status, setStatus] = useState<Status | ''>('');
  const [targetModel, setTargetModel] = useState('');
  const filter = { ...(status ? { status } : {}), ...(targetModel.trim() ? { targetModel: targetModel.trim() } : {}) };
  const jobs = useInfiniteQuery({
    queryKey: ['jobs', 'list', filter],
    queryFn: ({ pageParam }) => api.jobs.list.query({ ...filter, limit: PAGE, ...(pageParam ? { cursor: pageParam } : {}) }),
    initialPageParam: '' as string,
    getNextPageParam: (page) => page.nextCursor ?? undefined,
    // Live while anything on screen is still moving.
    refetchInterval: (query) => (query.state.data?.pages.some((page) => page.items.some((job) => ACTIVE.has(job.status))) ? 2_000 : 10_000),
  });
  const rows = jobs.data?.pages.flatMap((page) => page.items);
  return (
    <section aria-labelledby="jobs-title">
      <header className="screen-header">
        <h1 id="jobs-title">Jobs</h1>
      </header>
      <details className="panel">
        <summary>New training job</summary>
        <NewJobForm />
      </details>
      <form className="filters" role="search" onSubmit={(event) => event.preventDefault()}>
        <label>
          Status{' '}
          <select value={status} onChange={(event) => setStatus(event.target.value as Status | '')}>
            <option value="">any</option>
            {STATUSES.map((value) => (
              <option key={value}>{value}</option>
            ))}
          </select>
        </label>
        <label>
          Target model <input value={targetModel} onChange={(event) => setTargetModel(event.target.value)} placeholder="any" />
        </label>
      </form>
      <QueryState query={{ ...jobs, data: rows }} what="jobs" isEmpty={(list) => list.length === 0} empty="No jobs match. Start one above.">
        {(list) => (
          <>
            <table className="table" data-testid="jobs-table">
              <thead>
                <tr>
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
                      <JobActions job={job} />
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
