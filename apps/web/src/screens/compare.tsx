import { useQuery } from '@tanstack/react-query';
import { COMPARE_LIMITS, type ComparedJob, type CompareJobsOutput, METRIC_VALUES, type MetricValueKind } from '@trainyard/contracts';
import { useEffect, useMemo, useState } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { api } from '../api';
import { type ChartSource, MetricChart } from '../components/metric-chart';
import { ParallelCoordinates } from '../components/parallel-coordinates';
import { Empty, ErrorNote, QueryState, StatusBadge } from '../components/states';
import {
  cellValue,
  type Column,
  columnKey,
  filterJobs,
  groupJobs,
  idsFromSearch,
  type MetricSetting,
  type NumericFilter,
  parameterText,
  settingFor,
  type SortOrder,
  sortGroups,
  sortJobs,
  tableColumns,
} from '../lib/compare-table';
import { formatNumber } from '../lib/format';
import { axisFor } from '../lib/parallel-coordinates';

const PAGE = 100;
/** Curves overlaid at most (each is one jobs.metrics call). */
const MAX_CURVES = 20;
const CHART_WIDTH = 1000;

const columnTitle = (column: Column): string => (column.type === 'name' ? 'Name' : column.name);

const SortHeader = ({ column, sort, onSort }: { column: Column; sort: { key: string; order: SortOrder }; onSort: (column: Column) => void }) => {
  const active = sort.key === columnKey(column);
  return (
    <button type="button" className="link sort" onClick={() => onSort(column)} aria-label={`Sort by ${columnTitle(column)}`}>
      {columnTitle(column)}
      {active ? (sort.order === 'asc' ? ' ▲' : ' ▼') : ''}
    </button>
  );
};

const MetricHeader = ({ metric, setting, onChange }: { metric: string; setting: MetricSetting; onChange: (setting: MetricSetting) => void }) => (
  <span className="metric-header">
    <select aria-label={`${metric} value`} value={setting.kind} onChange={(event) => onChange({ ...setting, kind: event.target.value as MetricValueKind })}>
      {METRIC_VALUES.map((kind) => (
        <option key={kind}>{kind}</option>
      ))}
    </select>
    <button
      type="button"
      className="link"
      aria-label={`${metric} direction`}
      title={setting.direction === 'min' ? 'lower is better (click for higher)' : 'higher is better (click for lower)'}
      onClick={() => onChange({ ...setting, direction: setting.direction === 'min' ? 'max' : 'min' })}
    >
      {setting.direction === 'min' ? '↓ min' : '↑ max'}
    </button>
  </span>
);

/** Curves of the selected rows' chosen metric, overlaid (jobs.metrics per job, downsampled by the server). */
const SelectedCurves = ({ jobs, metric }: { jobs: ReadonlyArray<{ id: string; name: string }>; metric: string }) => {
  const ids = jobs.map((job) => job.id);
  const curves = useQuery({
    queryKey: ['jobs', 'compareCurves', metric, ids],
    queryFn: () => Promise.all(ids.map((jobId) => api.jobs.metrics.query({ jobId, names: [metric], maxPoints: 1_000 }))),
    enabled: ids.length > 0,
  });
  if (ids.length === 0) return <Empty>Tick rows of the table to overlay their {metric} curves here.</Empty>;
  return (
    <QueryState query={curves} what="curves">
      {(data) => {
        const sources: ChartSource[] = jobs.flatMap((job, index) => {
          const series = data[index]?.[metric];
          return series ? [{ label: job.name, series: () => ({ steps: series.step, values: series.value }) }] : [];
        });
        return sources.length === 0 ? (
          <Empty>None of the selected jobs reported {metric}.</Empty>
        ) : (
          <MetricChart title={metric} sources={sources} width={CHART_WIDTH} height={300} />
        );
      }}
    </QueryState>
  );
};

const CompareView = ({ result }: { result: CompareJobsOutput }) => {
  const [allParameters, setAllParameters] = useState(false);
  const [settings, setSettings] = useState<Record<string, MetricSetting>>({});
  const [sort, setSort] = useState<{ key: string; order: SortOrder }>({ key: 'name', order: 'asc' });
  const [text, setText] = useState('');
  const [numeric, setNumeric] = useState<{ key: string; op: NumericFilter['op']; value: string }>({ key: '', op: '>=', value: '' });
  const [groupBy, setGroupBy] = useState('');
  const [chartMetric, setChartMetric] = useState(result.metrics[0] ?? '');
  const [selected, setSelected] = useState<string[]>([]);
  const [page, setPage] = useState(0);

  const columns = useMemo(() => tableColumns(result, allParameters), [result, allParameters]);
  const allColumns = useMemo(() => tableColumns(result, true), [result]);
  const byKey = useMemo(() => new Map(allColumns.map((column) => [columnKey(column), column])), [allColumns]);
  const sortColumn = byKey.get(sort.key) ?? { type: 'name' };
  const numericFilter = useMemo((): NumericFilter | undefined => {
    const column = byKey.get(numeric.key);
    const value = Number(numeric.value);
    return column && numeric.value.trim() !== '' && Number.isFinite(value) ? { column, op: numeric.op, value } : undefined;
  }, [byKey, numeric]);
  const filtered = useMemo(
    () => filterJobs(result.jobs, { text, ...(numericFilter ? { numeric: numericFilter } : {}) }, settings),
    [result, text, numericFilter, settings],
  );
  const sorted = useMemo(() => sortJobs(filtered, sortColumn, sort.order, settings), [filtered, sortColumn, sort.order, settings]);
  const groups = useMemo(
    () => (groupBy ? sortGroups(groupJobs(filtered, groupBy, result.metrics, settings), sortColumn, sort.order) : undefined),
    [groupBy, filtered, result.metrics, settings, sortColumn, sort.order],
  );
  const pages = Math.max(1, Math.ceil(sorted.length / PAGE));
  const shownPage = Math.min(page, pages - 1);
  const pageRows = sorted.slice(shownPage * PAGE, shownPage * PAGE + PAGE);

  const chartSetting = settingFor(settings, chartMetric);
  const chart = useMemo(() => {
    const parameters = result.differingParameters;
    const rows = filtered.map((job) => ({
      parameters: parameters.map((name) => job.hyperparameters[name]),
      metric: metricOf(job, chartMetric, settings),
    }));
    const axes = [
      ...parameters.map((name, index) =>
        axisFor(
          name,
          rows.map((row) => row.parameters[index]),
        ),
      ),
      axisFor(
        `${chartMetric} (${chartSetting.kind})`,
        rows.flatMap((row) => (row.metric === undefined ? [] : [row.metric])),
      ),
    ];
    return { axes, rows };
  }, [result.differingParameters, filtered, chartMetric, settings, chartSetting.kind]);

  useEffect(() => {
    // For the benchmark: the table and the chart are on screen (child effects, which draw the chart, ran first).
    if (performance.getEntriesByName('compare-ready').length === 0) performance.mark('compare-ready');
  }, []);

  const onSort = (column: Column) =>
    setSort((current) => ({ key: columnKey(column), order: current.key === columnKey(column) && current.order === 'asc' ? 'desc' : 'asc' }));
  const setSetting = (metric: string, setting: MetricSetting) => setSettings((current) => ({ ...current, [metric]: setting }));
  const toggle = (id: string) =>
    setSelected((current) => (current.includes(id) ? current.filter((other) => other !== id) : current.length < MAX_CURVES ? [...current, id] : current));
  const jobsById = useMemo(() => new Map(result.jobs.map((job) => [job.id, job])), [result]);
  // In the order ticked: a curve keeps its colour while others are added.
  const selectedJobs = selected.flatMap((id) => jobsById.get(id) ?? []);
  const metricColumns = columns.filter((column) => column.type === 'metric');

  const headerCell = (column: Column) => (
    <th
      key={columnKey(column)}
      scope="col"
      aria-sort={sort.key === columnKey(column) ? (sort.order === 'asc' ? 'ascending' : 'descending') : 'none'}
      className={column.type === 'metric' ? 'metric-column' : undefined}
    >
      <SortHeader column={column} sort={sort} onSort={onSort} />
      {column.type === 'metric' && (
        <MetricHeader metric={column.name} setting={settingFor(settings, column.name)} onChange={(next) => setSetting(column.name, next)} />
      )}
    </th>
  );

  return (
    <>
      <form className="filters" role="search" onSubmit={(event) => event.preventDefault()}>
        <label>
          Name contains <input value={text} onChange={(event) => (setText(event.target.value), setPage(0))} placeholder="any" />
        </label>
        <label>
          Column
          <select
            aria-label="Numeric filter column"
            value={numeric.key}
            onChange={(event) => (setNumeric({ ...numeric, key: event.target.value }), setPage(0))}
          >
            <option value="">none</option>
            {allColumns
              .filter((column) => column.type !== 'name')
              .map((column) => (
                <option key={columnKey(column)} value={columnKey(column)}>
                  {columnTitle(column)}
                </option>
              ))}
          </select>
        </label>
        <label>
          Is
          <select
            aria-label="Numeric filter comparison"
            value={numeric.op}
            onChange={(event) => setNumeric({ ...numeric, op: event.target.value as NumericFilter['op'] })}
          >
            <option value=">=">≥</option>
            <option value="<=">≤</option>
          </select>
        </label>
        <label>
          Value{' '}
          <input
            aria-label="Numeric filter value"
            inputMode="decimal"
            value={numeric.value}
            onChange={(event) => (setNumeric({ ...numeric, value: event.target.value }), setPage(0))}
          />
        </label>
        <label>
          Group by
          <select value={groupBy} onChange={(event) => setGroupBy(event.target.value)}>
            <option value="">nothing</option>
            {result.parameters.map((name) => (
              <option key={name}>{name}</option>
            ))}
          </select>
        </label>
        <label className="checkbox">
          <input type="checkbox" checked={allParameters} onChange={(event) => setAllParameters(event.target.checked)} /> Show all parameters
        </label>
      </form>
      <p className="muted" data-testid="compare-summary">
        {filtered.length} of {result.jobs.length} jobs · {result.differingParameters.length} of {result.parameters.length} parameters differ
        {allParameters ? '' : ' (shown)'} · {result.metrics.length} metrics
      </p>
      {groups ? (
        <div className="table-scroll">
          <table className="table compare-table" data-testid="compare-groups">
            <thead>
              <tr>
                <th scope="col">{groupBy}</th>
                <th scope="col">Runs</th>
                {metricColumns.map(headerCell)}
              </tr>
            </thead>
            <tbody>
              {groups.map((group) => (
                <tr key={group.key}>
                  <td>{group.key || '—'}</td>
                  <td>{group.jobs.length}</td>
                  {metricColumns.map((column) => {
                    const stats = group.metrics[column.name];
                    return (
                      <td key={columnKey(column)} className="number">
                        {stats ? `${formatNumber(stats.mean)}${stats.std === undefined ? '' : ` ± ${formatNumber(stats.std, 2)}`}` : '—'}
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <>
          <div className="table-scroll">
            <table className="table compare-table" data-testid="compare-table">
              <thead>
                <tr>
                  <th scope="col">
                    <span className="sr-only">Curve</span>
                  </th>
                  {columns.map(headerCell)}
                  <th scope="col">Status</th>
                </tr>
              </thead>
              <tbody>
                {pageRows.map((job) => (
                  <tr key={job.id}>
                    <td>
                      <input
                        type="checkbox"
                        aria-label={`Curve of ${job.name}`}
                        checked={selected.includes(job.id)}
                        disabled={!selected.includes(job.id) && selected.length >= MAX_CURVES}
                        onChange={() => toggle(job.id)}
                      />
                    </td>
                    {columns.map((column) =>
                      column.type === 'name' ? (
                        <td key="name">
                          <Link to={`/jobs/${job.id}`}>{job.name}</Link>
                        </td>
                      ) : column.type === 'parameter' ? (
                        <td key={columnKey(column)}>{parameterText(job.hyperparameters[column.name]) || '—'}</td>
                      ) : (
                        <td key={columnKey(column)} className="number">
                          {formatNumber(metricOf(job, column.name, settings))}
                        </td>
                      ),
                    )}
                    <td>
                      <StatusBadge status={job.status} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {pages > 1 && (
            <nav className="pager" aria-label="Compare pages">
              <button type="button" onClick={() => setPage(shownPage - 1)} disabled={shownPage === 0}>
                Previous
              </button>
              <span>
                Page {shownPage + 1} of {pages}
              </span>
              <button type="button" onClick={() => setPage(shownPage + 1)} disabled={shownPage >= pages - 1}>
                Next
              </button>
            </nav>
          )}
        </>
      )}
      <h2>Parameters against a metric</h2>
      <label>
        Metric{' '}
        <select aria-label="Chart metric" value={chartMetric} onChange={(event) => setChartMetric(event.target.value)}>
          {result.metrics.map((metric) => (
            <option key={metric}>{metric}</option>
          ))}
        </select>
      </label>
      {result.metrics.length === 0 ? (
        <Empty>These jobs reported no metrics.</Empty>
      ) : (
        <ParallelCoordinates axes={chart.axes} rows={chart.rows} direction={chartSetting.direction} width={CHART_WIDTH} />
      )}
      <h2>Curves of the ticked rows ({selected.length})</h2>
      {chartMetric && <SelectedCurves jobs={selectedJobs} metric={chartMetric} />}
    </>
  );
};

/** A job's chosen value of a metric (as its column shows it). */
const metricOf = (job: ComparedJob, metric: string, settings: Readonly<Record<string, MetricSetting>>): number | undefined => {
  const value = cellValue(job, { type: 'metric', name: metric }, settings);
  return typeof value === 'number' ? value : undefined;
};

/** `/compare?ids=…`: any jobs side by side (the jobs list's Compare button, or a link from elsewhere). */
export const CompareScreen = () => {
  const [search] = useSearchParams();
  const ids = useMemo(() => idsFromSearch(search), [search]);
  const tooMany = ids.length > COMPARE_LIMITS.jobs;
  const result = useQuery({
    queryKey: ['jobs', 'compareRuns', ids],
    queryFn: () => api.jobs.compare.query({ jobIds: ids }),
    enabled: ids.length > 0 && !tooMany,
  });
  return (
    <section aria-labelledby="compare-title">
      <header className="screen-header">
        <h1 id="compare-title">Compare {ids.length} jobs</h1>
      </header>
      {ids.length === 0 ? (
        <Empty>
          No jobs to compare: tick them on the <Link to="/jobs">Jobs</Link> screen and press Compare.
        </Empty>
      ) : tooMany ? (
        <ErrorNote error={new Error(`At most ${COMPARE_LIMITS.jobs} jobs can be compared at once; this link has ${ids.length}.`)} />
      ) : (
        <QueryState query={result} what="comparison">
          {(data) => <CompareView result={data} />}
        </QueryState>
      )}
    </section>
  );
};
