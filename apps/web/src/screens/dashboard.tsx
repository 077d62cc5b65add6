import { useQuery } from '@tanstack/react-query';
import { JOB_STATUSES } from '@trainyard/contracts';
import { Link, useNavigate } from 'react-router-dom';
import { api } from '../api';
import { Empty, ErrorNote, Loading, ProgressBar, StatusBadge } from '../components/states';
import { DEMO_SNAPSHOT_NAME, newJobHref, pageCount } from '../lib/dashboard';
import { formatDate } from '../lib/format';

/** Counts are read from one page of each list ("200+" beyond it). */
const COUNT_PAGE = 200;
const RECENT = 8;

/**
 * The landing page: what is here (pairs, snapshots, jobs by status, models), the latest jobs,
 * and for a new user the demo snapshot with a one-click way to train on it.
 */
export const DashboardScreen = () => {
  const navigate = useNavigate();
  const pairs = useQuery({ queryKey: ['dashboard', 'pairs'], queryFn: () => api.trainingData.count.query({ filter: {} }) });
  const snapshots = useQuery({ queryKey: ['snapshots', 'dashboard'], queryFn: () => api.datasets.list.query({ limit: COUNT_PAGE }) });
  const models = useQuery({ queryKey: ['models', 'dashboard'], queryFn: () => api.models.list.query({ limit: COUNT_PAGE }) });
  const byStatus = useQuery({
    queryKey: ['jobs', 'dashboard', 'counts'],
    queryFn: async () =>
      Object.fromEntries(
        await Promise.all(JOB_STATUSES.map(async (status) => [status, pageCount(await api.jobs.list.query({ status, limit: COUNT_PAGE }))] as const)),
      ),
    refetchInterval: 5_000,
  });
  const recent = useQuery({ queryKey: ['jobs', 'dashboard', 'recent'], queryFn: () => api.jobs.list.query({ limit: RECENT }), refetchInterval: 5_000 });
  const demo = snapshots.data?.items.find((snapshot) => snapshot.name === DEMO_SNAPSHOT_NAME);
  const firstHour = recent.data !== undefined && recent.data.items.length === 0;
  const error = pairs.error ?? snapshots.error ?? models.error ?? byStatus.error ?? recent.error;
  return (
    <section aria-labelledby="overview-title">
      <header className="screen-header">
        <h1 id="overview-title">Overview</h1>
      </header>
      {error && (
        <ErrorNote
          error={error}
          retry={() => void Promise.all([pairs.refetch(), snapshots.refetch(), models.refetch(), byStatus.refetch(), recent.refetch()])}
        />
      )}
      {demo && firstHour && (
        <div className="panel" data-testid="demo-start">
          <h2>Start here</h2>
          <p>
            This database holds demo data: the snapshot <strong>{demo.name}</strong> with {demo.totalCount} generated pairs ({demo.trainCount} for training,{' '}
            {demo.validationCount} for validation), tagged <code>demo</code>. Train a detector on it to see a job run, its curves, and a model version to score
            with.
          </p>
          <button type="button" onClick={() => void navigate(newJobHref({ trainer: 'text-detector', snapshotId: demo.id }))}>
            Train a detector on it
          </button>
        </div>
      )}
      <dl className="facts" data-testid="dashboard-counts">
        <dt>Training pairs</dt>
        <dd data-testid="count-pairs">{pairs.data ? pairs.data.count : '…'}</dd>
        <dt>Snapshots</dt>
        <dd data-testid="count-snapshots">{pageCount(snapshots.data)}</dd>
        <dt>Models</dt>
        <dd data-testid="count-models">{pageCount(models.data)}</dd>
      </dl>
      <h2>Jobs</h2>
      <ul className="status-counts" aria-label="Jobs by status">
        {JOB_STATUSES.map((status) => (
          <li key={status} data-testid={`count-${status}`}>
            <StatusBadge status={status} /> {byStatus.data?.[status] ?? '…'}
          </li>
        ))}
      </ul>
      {recent.isPending ? (
        <Loading what="recent jobs" />
      ) : !recent.data ? null : recent.data.items.length === 0 ? (
        <Empty>No jobs yet. Start one with “New training job” on the Jobs screen{demo ? ', or train on the demo data above' : ''}.</Empty>
      ) : (
        <table className="table" data-testid="recent-jobs">
          <caption className="muted">Latest {RECENT}</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Status</th>
              <th scope="col">Progress</th>
              <th scope="col">Target model</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {recent.data.items.map((job) => (
              <tr key={job.id}>
                <td>
                  <Link to={`/jobs/${job.id}`}>{job.name}</Link>
                </td>
                <td>
                  <StatusBadge status={job.status} />
                </td>
                <td>
                  <ProgressBar fraction={job.progress} label={`${job.name} progress`} />
                </td>
                <td>{job.targetModelName ?? '—'}</td>
                <td>{formatDate(job.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
};
