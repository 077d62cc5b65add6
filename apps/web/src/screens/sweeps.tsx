import { useQuery } from '@tanstack/react-query';
import { Link, useParams } from 'react-router-dom';
import { api } from '../api';
import { QueryState } from '../components/states';
import { compareHref } from '../lib/compare-table';
import { formatDate, formatNumber } from '../lib/format';

/** A running sweep's page refreshes this often: trials start and get pruned as it runs. */
const LIVE_REFRESH_MS = 1_000;

export const SweepsScreen = () => {
  const sweeps = useQuery({ queryKey: ['sweeps', 'list'], queryFn: () => api.sweeps.list.query({ limit: 100 }) });
  return (
    <section aria-labelledby="sweeps-title">
      <header className="screen-header">
        <h1 id="sweeps-title">Sweeps</h1>
      </header>
      <QueryState
        query={sweeps}
        what="sweeps"
        isEmpty={(data) => data.items.length === 0}
        empty="No sweeps yet. Start one with trainyard sweeps start FILE (docs/sweeps.md)."
      >
        {(data) => (
          <table className="table" data-testid="sweeps-table">
            <thead>
              <tr>
                <th scope="col">Sweep</th>
                <th scope="col">Status</th>
                <th scope="col">Trials</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {data.items.map((sweep) => (
                <tr key={sweep.id}>
                  <td>
                    <Link to={`/sweeps/${encodeURIComponent(sweep.name)}`}>{sweep.name}</Link>
                  </td>
                  <td>
                    <span className={`badge badge-${sweep.status}`}>{sweep.status}</span>
                  </td>
                  <td>{sweep.trials}</td>
                  <td>{formatDate(sweep.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </QueryState>
    </section>
  );
};

export const SweepDetailScreen = () => {
  const { name = '' } = useParams();
  const sweep = useQuery({
    queryKey: ['sweeps', 'get', name],
    queryFn: () => api.sweeps.get.query({ sweep: name }),
    refetchInterval: (query) => (query.state.data?.status === 'running' ? LIVE_REFRESH_MS : false),
  });
  return (
    <QueryState query={sweep} what="sweep">
      {(data) => {
        const ran = data.trials.flatMap((trial) => (trial.jobId ? [trial.jobId] : []));
        const counts = Object.entries(data.counts).filter(([, count]) => count > 0);
        return (
          <section aria-labelledby="sweep-title">
            <header className="screen-header">
              <h1 id="sweep-title">Sweep {data.name}</h1>
              <span className={`badge badge-${data.status}`}>{data.status}</span>
            </header>
            <p data-testid="sweep-summary">
              {data.method}, {data.trials.length} trials, {data.concurrency} at a time
              {data.earlyStopping ? `, ASHA on ${data.earlyStopping.metric} (${data.earlyStopping.mode})` : ''} —{' '}
              {counts.map(([outcome, count]) => `${count} ${outcome}`).join(', ')} · trainer time {formatNumber(data.trainerSeconds, 3)} s
            </p>
            {ran.length > 0 && (
              <p>
                <Link to={compareHref(ran)}>Compare the {ran.length} trials that ran</Link>
              </p>
            )}
            <table className="table" data-testid="trials-table">
              <thead>
                <tr>
                  <th scope="col">#</th>
                  <th scope="col">Outcome</th>
                  <th scope="col">Parameters</th>
                  <th scope="col">Pruned at</th>
                  <th scope="col">Job</th>
                </tr>
              </thead>
              <tbody>
                {data.trials.map((trial) => (
                  <tr key={trial.index}>
                    <td>{trial.index}</td>
                    <td>
                      <span className={`badge badge-${trial.outcome}`}>{trial.outcome}</span>
                    </td>
                    <td>
                      <code>{JSON.stringify(trial.overrides)}</code>
                    </td>
                    <td>{trial.prunedAtRung === null ? '' : `step ${trial.prunedAtRung}: ${formatNumber(trial.prunedValue)}`}</td>
                    <td>{trial.jobId ? <Link to={`/jobs/${trial.jobId}`}>{trial.runs > 1 ? `run ${trial.runs}` : 'job'}</Link> : '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
        );
      }}
    </QueryState>
  );
};
