import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useMemo, useState, useSyncExternalStore } from 'react';
import { isFinishedJobStatus } from '@trainyard/contracts';
import { Link, useParams } from 'react-router-dom';
import { api } from '../api';
import { type ChartSource, MetricChart } from '../components/metric-chart';
import { Empty, ErrorNote, Loading, ProgressBar, QueryState, StatusBadge } from '../components/states';
import { KeyValueTable, SnapshotName, ValidationTable } from '../components/readable';
import { formatBytes, formatDate } from '../lib/format';
import { LiveMetrics } from '../lib/live-metrics';
import { JobActions, useJobAction } from './jobs';

const LOG_LINES = 300;
/** How much of a failed job's stderr is shown (the contracts' FAILURE_LOG_TAIL, as the CLI shows it). */
const STDERR_TAIL = { lines: 40, bytes: 8 * 1024 };

/**
 * The last lines a failed trainer wrote to stderr — usually the traceback that says why, where
 * the job's error only says "exited with code 1". Refetched when the job's status changes.
 */
const StderrTail = ({ id, status, attempt }: { id: string; status: string; attempt: number }) => {
  const tail = useQuery({
    queryKey: ['jobs', 'stderr', id, status, attempt],
    queryFn: () => api.jobs.logs.query({ id, stream: 'stderr', tail: STDERR_TAIL.lines, length: STDERR_TAIL.bytes }),
  });
  const lines = tail.data ? tail.data.text.replace(/\n$/, '').split('\n').length : 0;
  return (
    <section aria-labelledby="stderr-title">
      <h2 id="stderr-title">Trainer stderr</h2>
      {tail.isPending ? (
        <Loading what="stderr" />
      ) : tail.error || !tail.data ? (
        <ErrorNote error={tail.error} retry={() => void tail.refetch()} />
      ) : tail.data.text.trim() === '' ? (
        <Empty>The trainer wrote nothing to stderr.</Empty>
      ) : (
        <>
          {tail.data.offset > 0 && (
            <p className="muted">
              Last {lines} lines of {formatBytes(tail.data.size)}.
            </p>
          )}
          {/* Scrolled to its end: the last lines (the exception) are the ones that say why. */}
          <pre
            className="log stderr"
            tabIndex={0}
            aria-label="Trainer stderr"
            data-testid="job-stderr"
            ref={(element) => element?.scrollTo({ top: element.scrollHeight })}
          >
            {tail.data.text}
          </pre>
        </>
      )}
    </section>
  );
};

/** Live progress, metrics and log lines of one job over the `jobs.events` subscription. */
const useLiveJob = (id: string) => {
  const client = useQueryClient();
  const live = useMemo(() => new LiveMetrics(), []);
  const [progress, setProgress] = useState<{ fraction: number; message?: string }>();
  const [logLines, setLogLines] = useState<string[]>([]);
  const [liveError, setLiveError] = useState<unknown>();
  useEffect(() => {
    let cancelled = false;
    let historyRequested = false;
    // The subscription's first event (the job's status) comes after the server subscribed to
    // the job's events: history read from then on cannot miss a point between the two.
    const loadHistory = () => {
      historyRequested = true;
      void api.jobs.metrics
        .query({ jobId: id, maxPoints: 2_000 })
        .then((history) => !cancelled && live.load(history))
        .catch(setLiveError);
    };
    void api.jobs.logs
      .query({ id, stream: 'events', tail: 100 })
      .then((log) => !cancelled && setLogLines(log.text.split('\n').filter(Boolean)))
      .catch(() => undefined);
    const subscription = api.jobs.events.subscribe(
      { id },
      {
        onData(event) {
          if (!historyRequested) loadHistory();
          if (event.type === 'metric') live.appendMany([[event.name, event.step, event.value]]);
          else if (event.type === 'metrics') live.appendMany(event.points);
          else if (event.type === 'progress') setProgress({ fraction: event.fraction, ...(event.message ? { message: event.message } : {}) });
          else if (event.type === 'log') setLogLines((lines) => [...lines.slice(-(LOG_LINES - 1)), `[${event.stream}] ${event.line}`]);
          else if (event.type === 'status') void client.invalidateQueries({ queryKey: ['jobs'] });
        },
        onError(error) {
          setLiveError(error);
          if (!historyRequested) loadHistory();
        },
      },
    );
    return () => {
      cancelled = true;
      subscription.unsubscribe();
    };
  }, [id, live, client]);
  return { live, progress, logLines, liveError };
};

/** Other jobs' curves for the same metrics, to compare against. */
const useComparedMetrics = (ids: readonly string[]) =>
  useQuery({
    queryKey: ['jobs', 'compare', ids],
    queryFn: async () => Promise.all(ids.map(async (jobId) => ({ jobId, metrics: await api.jobs.metrics.query({ jobId, maxPoints: 2_000 }) }))),
    enabled: ids.length > 0,
  });

const isReproduction = (value: unknown): value is { model: string; version: number } =>
  typeof value === 'object' && value !== null && typeof (value as { model?: unknown }).model === 'string';

/** A reproduction's original version and, once it ended, its verdict (jobs.reproduction). */
const Reproduces = ({ id, from, finished }: { id: string; from: { model: string; version: number }; finished: boolean }) => {
  const report = useQuery({ queryKey: ['jobs', 'reproduction', id], queryFn: () => api.jobs.reproduction.query({ jobId: id }), enabled: finished });
  return (
    <dd data-testid="job-reproduces">
      <Link to={`/models/${from.model}/lineage`}>
        {from.model}@{from.version}
      </Link>
      {report.data ? `: ${report.data.verdict}` : ''}
      {report.data && report.data.differences.length > 0 ? ` (trainer differed: ${report.data.differences.map((d) => d.field).join(', ')})` : ''}
    </dd>
  );
};

export const JobDetailScreen = () => {
  const { id = '' } = useParams();
  const job = useQuery({ queryKey: ['jobs', 'get', id], queryFn: () => api.jobs.get.query({ id }) });
  const { live, progress, logLines, liveError } = useLiveJob(id);
  const names = useSyncExternalStore(live.subscribe, live.names).split('\n').filter(Boolean);
  const recent = useQuery({ queryKey: ['jobs', 'recent'], queryFn: () => api.jobs.list.query({ limit: 50 }) });
  const [compareIds, setCompareIds] = useState<string[]>([]);
  const compared = useComparedMetrics(compareIds);
  const jobNames = new Map(recent.data?.items.map((item) => [item.id, item.name]));
  const act = useJobAction();
  return (
    <QueryState query={job} what="job">
      {(data) => {
        const fraction = progress?.fraction ?? data.progress;
        const sourcesFor = (metric: string): ChartSource[] => [
          { label: data.name, series: () => live.get(metric) },
          ...(compared.data ?? []).flatMap(({ jobId, metrics }) => {
            const series = metrics[metric];
            return series ? [{ label: jobNames.get(jobId) ?? jobId.slice(0, 8), series: () => ({ steps: series.step, values: series.value }) }] : [];
          }),
        ];
        return (
          <section aria-labelledby="job-title">
            <header className="screen-header">
              <h1 id="job-title">{data.name}</h1>
              <StatusBadge status={data.status} />
              <JobActions job={data} act={act} />
              {act.error && <ErrorNote error={act.error} />}
            </header>
            <dl className="facts">
              <dt>Progress</dt>
              <dd>
                <ProgressBar fraction={fraction} label="Job progress" /> <span className="muted">{progress?.message ?? data.progressMessage ?? ''}</span>
              </dd>
              {data.scheduler && (
                <>
                  <dt>Scheduler</dt>
                  <dd data-testid="job-scheduler">
                    {data.scheduler.kind} job {data.scheduler.jobId}: {data.scheduler.state}
                    {data.scheduler.reason ? ` (waiting: ${data.scheduler.reason})` : ''}
                  </dd>
                </>
              )}
              {isReproduction(data.reproducedFrom) && (
                <>
                  <dt>Reproduces</dt>
                  <Reproduces id={data.id} from={data.reproducedFrom} finished={isFinishedJobStatus(data.status)} />
                </>
              )}
              <dt>Dataset snapshot</dt>
              <dd>
                <SnapshotName id={data.datasetSnapshotId} />
              </dd>
              <dt>Hyperparameters</dt>
              <dd>
                <KeyValueTable value={data.hyperparameters} label="Hyperparameters" empty="the trainer's defaults" />
              </dd>
              <dt>Validation</dt>
              <dd>
                <ValidationTable report={data.validationReport} rules={data.validation} label="Validation report" />
              </dd>
              <dt>Created / started / finished</dt>
              <dd>
                {formatDate(data.createdAt)} / {formatDate(data.startedAt)} / {formatDate(data.finishedAt)}
              </dd>
              {data.targetModelName && (
                <>
                  <dt>Model</dt>
                  <dd>
                    <Link to={`/models/${data.targetModelName}`}>{data.targetModelName}</Link>
                    {data.modelVersionId ? ' (version registered)' : isFinishedJobStatus(data.status) ? ' (no version)' : ''}
                  </dd>
                </>
              )}
              {data.error && (
                <>
                  <dt>Error</dt>
                  <dd className="error-text">{data.error}</dd>
                </>
              )}
            </dl>
            {(data.status === 'failed' || (data.status === 'queued' && data.error)) && <StderrTail id={data.id} status={data.status} attempt={data.attempt} />}
            {liveError !== undefined && <ErrorNote error={liveError} />}
            <h2>Metrics</h2>
            <fieldset className="compare">
              <legend>Compare with</legend>
              {recent.data?.items.every((item) => item.id === id) && <span className="muted">No other jobs yet.</span>}
              {recent.data?.items
                .filter((item) => item.id !== id)
                .slice(0, 12)
                .map((item) => (
                  <label key={item.id}>
                    <input
                      type="checkbox"
                      checked={compareIds.includes(item.id)}
                      onChange={(event) => setCompareIds(event.target.checked ? [...compareIds, item.id] : compareIds.filter((other) => other !== item.id))}
                    />{' '}
                    {item.name}
                  </label>
                ))}
            </fieldset>
            <p className="muted">Drag across a chart to zoom; double-click to reset.</p>
            {names.length === 0 ? (
              <p className="state empty">{isFinishedJobStatus(data.status) ? 'This job reported no metrics.' : 'Waiting for the first metric…'}</p>
            ) : (
              <div className="charts">
                {names.map((metric) => (
                  <MetricChart key={metric} title={metric} sources={sourcesFor(metric)} subscribe={live.subscribe} />
                ))}
              </div>
            )}
            <h2>Log</h2>
            <pre className="log" tabIndex={0} aria-label="Job log" data-testid="job-log">
              {logLines.length > 0 ? logLines.join('\n') : 'No log lines yet.'}
            </pre>
          </section>
        );
      }}
    </QueryState>
  );
};
