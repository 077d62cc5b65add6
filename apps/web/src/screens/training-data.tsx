import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import type { DataFilter, ImportReport, ScoreHistogram } from '@trainyard/contracts';
import { api, type DataPoint } from '../api';
import { ErrorNote, ProgressBar, QueryState } from '../components/states';
import { formatDate, formatNumber } from '../lib/format';
import { uploadImport } from '../lib/upload-import';

const PAGE = 50;

const ImportPanel = () => {
  const client = useQueryClient();
  const [fraction, setFraction] = useState<number>();
  const [report, setReport] = useState<ImportReport>();
  const [error, setError] = useState<unknown>();
  const onFile = async (file: File | undefined) => {
    if (!file) return;
    setReport(undefined);
    setError(undefined);
    setFraction(0);
    try {
      setReport(await uploadImport(file, setFraction));
      void client.invalidateQueries({ queryKey: ['data'] });
    } catch (failure) {
      setError(failure);
    } finally {
      setFraction(undefined);
    }
  };
  return (
    <div className="panel">
      <h2>Import pairs</h2>
      <label>
        JSONL or CSV file{' '}
        <input type="file" accept=".jsonl,.ndjson,.csv" onChange={(event) => void onFile(event.target.files?.[0])} disabled={fraction !== undefined} />
      </label>
      {fraction !== undefined && <ProgressBar fraction={fraction} label="Import progress" />}
      {error !== undefined && <ErrorNote error={error} />}
      {report && (
        <div role="status" data-testid="import-report">
          <p>
            Imported {report.imported}, duplicates {report.duplicates}, rejected {report.rejected.length}
            {report.aborted ? ' — the file became unreadable; lines after that point were not imported' : ''}
          </p>
          {report.rejected.length > 0 && (
            <ul className="rejected">
              {report.rejected.slice(0, 100).map((line) => (
                <li key={line.line}>
                  line {line.line}: {line.message}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </div>
  );
};

/**
 * Freezes exactly what the table shows: the table's own filter object, every field of it, and
 * says how many pairs that is (the same count the table shows).
 */
const SnapshotPanel = ({ filter, count }: { filter: DataFilter; count: number | undefined }) => {
  const client = useQueryClient();
  const [name, setName] = useState('');
  const snapshots = useQuery({ queryKey: ['snapshots'], queryFn: () => api.datasets.list.query({ limit: 20 }) });
  const create = useMutation({
    mutationFn: () => api.datasets.createSnapshot.mutate({ name: name.trim(), filter }),
    onSuccess: () => {
      setName('');
      void client.invalidateQueries({ queryKey: ['snapshots'] });
    },
  });
  const filtered = Object.keys(filter).length > 0;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };
  return (
    <div className="panel">
      <h2>Snapshots</h2>
      <form onSubmit={submit} className="inline-form" aria-label="Create snapshot">
        <label>
          Name <input value={name} onChange={(event) => setName(event.target.value)} required maxLength={200} />
        </label>
        <button type="submit" disabled={create.isPending || count === 0}>
          Freeze snapshot
        </button>
      </form>
      <p className="muted" data-testid="snapshot-scope">
        {count === undefined ? 'Counting…' : `Freezes the ${count} pairs the table shows`}
        {filtered ? ' (the filter below applies)' : ' (all included pairs)'}
      </p>
      {create.error && <ErrorNote error={create.error} />}
      {create.data && (
        <p role="status">
          Snapshot {create.data.name}: {create.data.totalCount} pairs ({create.data.trainCount} train, {create.data.validationCount} validation)
        </p>
      )}
      <QueryState query={snapshots} what="snapshots" isEmpty={(data) => data.items.length === 0} empty="No snapshots yet.">
        {(data) => (
          <ul className="plain">
            {data.items.map((snapshot) => (
              <li key={snapshot.id}>
                <strong>{snapshot.name}</strong> — {snapshot.totalCount} pairs, {formatDate(snapshot.createdAt)} <code className="muted">{snapshot.id}</code>
              </li>
            ))}
          </ul>
        )}
      </QueryState>
    </div>
  );
};

const HISTOGRAMS = [
  ['detectionScoreBefore', 'Detection before'],
  ['detectionScoreAfter', 'Detection after'],
  ['qualityScore', 'Quality'],
] as const;

/** Ten buckets from 0 to 1; pairs without the score are counted apart, in no bucket. */
const Histogram = ({ label, histogram, testId }: { label: string; histogram: ScoreHistogram; testId: string }) => {
  const highest = Math.max(1, ...histogram.buckets);
  return (
    <figure style={{ margin: 0 }} data-testid={testId} data-buckets={histogram.buckets.join(' ')} data-missing={histogram.missing}>
      <figcaption className="muted">{label}</figcaption>
      <div
        style={{ display: 'flex', alignItems: 'end', gap: 2, height: 40 }}
        role="img"
        aria-label={`${label}: ${histogram.buckets.join(', ')} from 0 to 1; ${histogram.missing} without a score`}
      >
        {histogram.buckets.map((value, index) => (
          <div
            key={index}
            title={`${(index / 10).toFixed(1)}–${((index + 1) / 10).toFixed(1)}: ${value}`}
            style={{ width: 10, height: `${Math.max(value > 0 ? 2 : 0, (value / highest) * 40)}px`, background: 'var(--accent)' }}
          />
        ))}
      </div>
      <small className="muted">0 → 1 · no score: {histogram.missing}</small>
    </figure>
  );
};

/** "Exclude all N matching…" (or include, in the excluded view), after a confirmation. */
const BulkExclusion = ({ filter, count, onDone }: { filter: DataFilter; count: number; onDone: () => void }) => {
  const client = useQueryClient();
  const [confirming, setConfirming] = useState(false);
  const excluding = filter.excluded !== true;
  const verb = excluding ? 'Exclude' : 'Include';
  const bulk = useMutation({
    mutationFn: () => api.trainingData.setExcludedMatching.mutate({ filter, excluded: excluding }),
    onSuccess: () => {
      setConfirming(false);
      onDone();
      void client.invalidateQueries({ queryKey: ['data'] });
    },
  });
  return (
    <div className="inline-form">
      {!confirming ? (
        <button
          type="button"
          disabled={count === 0 || bulk.isPending}
          onClick={() => {
            bulk.reset();
            setConfirming(true);
          }}
        >
          {verb} all {count} matching…
        </button>
      ) : (
        <div role="alertdialog" aria-label={`${verb} matching pairs`} className="actions">
          <span>
            {verb} {count} pairs matching this filter {excluding ? 'from' : 'in'} training sets and snapshots?
          </span>
          <button type="button" onClick={() => bulk.mutate()} disabled={bulk.isPending}>
            {verb} {count} pairs
          </button>
          <button type="button" onClick={() => setConfirming(false)} disabled={bulk.isPending}>
            Cancel
          </button>
        </div>
      )}
      {bulk.data && (
        <span role="status">
          {bulk.data.changed} pairs {excluding ? 'excluded' : 'included'}
        </span>
      )}
      {bulk.error && <ErrorNote error={bulk.error} />}
    </div>
  );
};

const TAG = /^[\w.:/-]+$/;
const tagsOf = (value: string): string[] => value.split(/[\s,]+/).filter(Boolean);
const DAY_MS = 24 * 60 * 60 * 1000;
/** A date input's day at local midnight; `to` days are inclusive, so the filter ends a day later. */
const dayStart = (value: string, plusDays = 0): Date | undefined => {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return undefined;
  const date = new Date(`${value}T00:00:00`);
  return Number.isNaN(date.getTime()) ? undefined : new Date(date.getTime() + plusDays * DAY_MS);
};

const PairDetails = ({ point, onSaved }: { point: DataPoint; onSaved: () => void }) => {
  const [comment, setComment] = useState(point.feedbackComment ?? '');
  const save = useMutation({
    // The comment only: the row's rating may have changed a moment ago, after this pair was read.
    mutationFn: () => api.trainingData.setFeedback.mutate({ id: point.id, comment: comment.trim() || null }),
    onSuccess: onSaved,
  });
  const source = [point.sourceProvider, point.sourceModel, point.sourceTransformationId].filter(Boolean).join(' · ');
  return (
    <div className="pair-details">
      <div className="two-columns">
        <div>
          <h3>AI text</h3>
          <p className="full-text">{point.aiText}</p>
        </div>
        <div>
          <h3>Humanized text</h3>
          <p className="full-text">{point.humanizedText}</p>
        </div>
      </div>
      <p className="muted">
        {source || 'no source recorded'} · {point.language ?? 'language not set'} · tags: {point.tags.join(', ') || '—'} · added {formatDate(point.createdAt)}
      </p>
      <form
        className="inline-form"
        aria-label="Feedback comment"
        onSubmit={(event) => {
          event.preventDefault();
          save.mutate();
        }}
      >
        <label>
          Feedback comment <input value={comment} onChange={(event) => setComment(event.target.value)} maxLength={10_000} />
        </label>
        <button type="submit" disabled={save.isPending}>
          Save comment
        </button>
        {save.isSuccess && <span role="status">Saved</span>}
        {save.error && <ErrorNote error={save.error} />}
      </form>
    </div>
  );
};

const PairRow = ({ point }: { point: DataPoint }) => {
  const client = useQueryClient();
  const [open, setOpen] = useState(false);
  const refresh = () => void client.invalidateQueries({ queryKey: ['data'] });
  const feedback = useMutation({
    // The rating only: a comment saved a moment ago must not be overwritten by this row's older copy.
    mutationFn: (rating: number | null) => api.trainingData.setFeedback.mutate({ id: point.id, rating }),
    onSuccess: refresh,
  });
  const exclusion = useMutation({
    mutationFn: () => (point.excluded ? api.trainingData.include.mutate({ id: point.id }) : api.trainingData.exclude.mutate({ id: point.id })),
    onSuccess: refresh,
  });
  return (
    <>
      <tr className={point.excluded ? 'excluded' : undefined}>
        <td>
          <div className="clamp">{point.aiText}</div>
        </td>
        <td>
          <div className="clamp">{point.humanizedText}</div>
        </td>
        <td>
          {formatNumber(point.detectionScoreBefore, 2)} → {formatNumber(point.detectionScoreAfter, 2)}
        </td>
        <td>{formatNumber(point.qualityScore, 2)}</td>
        <td>
          <select
            aria-label="Feedback rating"
            value={point.feedbackRating ?? ''}
            onChange={(event) => feedback.mutate(event.target.value ? Number(event.target.value) : null)}
          >
            <option value="">—</option>
            {[1, 2, 3, 4, 5].map((rating) => (
              <option key={rating}>{rating}</option>
            ))}
          </select>
        </td>
        <td className="actions">
          <button type="button" onClick={() => exclusion.mutate()} disabled={exclusion.isPending}>
            {point.excluded ? 'Include' : 'Exclude'}
          </button>
          <button type="button" aria-expanded={open} onClick={() => setOpen(!open)}>
            {open ? 'Less' : 'More'}
          </button>
          {(feedback.error ?? exclusion.error) && <ErrorNote error={feedback.error ?? exclusion.error} />}
        </td>
      </tr>
      {open && (
        <tr>
          <td colSpan={6}>
            <PairDetails point={point} onSaved={refresh} />
          </td>
        </tr>
      )}
    </>
  );
};

export const TrainingDataScreen = () => {
  const [text, setText] = useState('');
  const [minQuality, setMinQuality] = useState('');
  const [tagsText, setTagsText] = useState('');
  const [excludeTagsText, setExcludeTagsText] = useState('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [showExcluded, setShowExcluded] = useState(false);
  const [cursors, setCursors] = useState<string[]>([]);
  const quality = minQuality.trim() === '' ? undefined : Number(minQuality);
  const qualityValid = quality === undefined || (Number.isFinite(quality) && quality >= 0 && quality <= 1);
  const tags = tagsOf(tagsText);
  const excludeTags = tagsOf(excludeTagsText);
  const tagsValid = tags.every((tag) => TAG.test(tag)) && excludeTags.every((tag) => TAG.test(tag));
  const createdFrom = dayStart(from);
  const createdTo = dayStart(to, 1);
  // One filter object for the table, its count, the statistics, the snapshot form and the bulk
  // action: what is frozen or excluded is exactly what is shown. A field that does not parse is
  // flagged and left out of all of them alike.
  const filter: DataFilter = {
    ...(text.trim() ? { textContains: text.trim() } : {}),
    ...(qualityValid && quality !== undefined ? { minQuality: quality } : {}),
    ...(tagsValid && tags.length > 0 ? { tags } : {}),
    ...(tagsValid && excludeTags.length > 0 ? { excludeTags } : {}),
    ...(createdFrom ? { createdFrom } : {}),
    ...(createdTo ? { createdTo } : {}),
    ...(showExcluded ? { excluded: true } : {}),
  };
  const resetPages = () => setCursors([]);
  const cursor = cursors[cursors.length - 1];
  const pairs = useQuery({
    queryKey: ['data', 'list', filter, cursor],
    queryFn: () => api.trainingData.list.query({ filter, limit: PAGE, ...(cursor ? { cursor } : {}) }),
    placeholderData: keepPreviousData,
  });
  const count = useQuery({ queryKey: ['data', 'count', filter], queryFn: () => api.trainingData.count.query({ filter }) });
  const matching = count.data?.count;
  const stats = useQuery({ queryKey: ['data', 'stats', filter], queryFn: () => api.trainingData.stats.query({ filter }) });
  return (
    <section aria-labelledby="data-title">
      <header className="screen-header">
        <h1 id="data-title">Training data</h1>
        {stats.data && (
          <span className="muted" data-testid="data-stats">
            {stats.data.total} pairs · {stats.data.excluded} excluded · {stats.data.withFeedback} with feedback
          </span>
        )}
      </header>
      <div className="two-columns">
        <ImportPanel />
        <SnapshotPanel filter={filter} count={matching} />
      </div>
      {stats.data && (
        <div className="panel" style={{ display: 'flex', gap: 24, flexWrap: 'wrap' }} aria-label="Score histograms">
          {HISTOGRAMS.map(([key, label]) => (
            <Histogram key={key} label={label} histogram={stats.data[key]} testId={`histogram-${key}`} />
          ))}
        </div>
      )}
      <form className="filters" role="search" onSubmit={(event) => event.preventDefault()}>
        <label>
          Text contains{' '}
          <input
            value={text}
            onChange={(event) => {
              setText(event.target.value);
              resetPages();
            }}
            maxLength={200}
          />
        </label>
        <label>
          Min quality{' '}
          <input
            value={minQuality}
            onChange={(event) => {
              setMinQuality(event.target.value);
              resetPages();
            }}
            inputMode="decimal"
            placeholder="0–1"
            aria-invalid={!qualityValid}
          />
        </label>
        {!qualityValid && <span className="field-error">quality is a number from 0 to 1</span>}
        <label>
          With tags{' '}
          <input
            value={tagsText}
            onChange={(event) => {
              setTagsText(event.target.value);
              resetPages();
            }}
            placeholder="all of: news, en"
            aria-invalid={!tagsValid}
          />
        </label>
        <label>
          Without tags{' '}
          <input
            value={excludeTagsText}
            onChange={(event) => {
              setExcludeTagsText(event.target.value);
              resetPages();
            }}
            placeholder="any of: demo"
            aria-invalid={!tagsValid}
          />
        </label>
        {!tagsValid && <span className="field-error">tags use letters, digits and . _ : / -</span>}
        <label>
          Added from{' '}
          <input
            type="date"
            value={from}
            onChange={(event) => {
              setFrom(event.target.value);
              resetPages();
            }}
          />
        </label>
        <label>
          Added to{' '}
          <input
            type="date"
            value={to}
            onChange={(event) => {
              setTo(event.target.value);
              resetPages();
            }}
          />
        </label>
        <label>
          <input
            type="checkbox"
            checked={showExcluded}
            onChange={(event) => {
              setShowExcluded(event.target.checked);
              resetPages();
            }}
          />{' '}
          excluded only
        </label>
      </form>
      <div className="screen-header">
        <strong data-testid="match-count" data-count={matching ?? ''}>
          {matching === undefined ? 'Counting…' : `${matching} ${showExcluded ? 'excluded ' : ''}pairs match`}
        </strong>
        {matching !== undefined && <BulkExclusion key={JSON.stringify(filter)} filter={filter} count={matching} onDone={resetPages} />}
      </div>
      <QueryState query={pairs} what="pairs" isEmpty={(data) => data.items.length === 0} empty="No pairs match. Import a file above.">
        {(data) => (
          <>
            <table className="table" data-testid="pairs-table">
              <thead>
                <tr>
                  <th scope="col">AI text</th>
                  <th scope="col">Humanized text</th>
                  <th scope="col">Detection before → after</th>
                  <th scope="col">Quality</th>
                  <th scope="col">Feedback</th>
                  <th scope="col">Use</th>
                </tr>
              </thead>
              <tbody>
                {data.items.map((point) => (
                  <PairRow key={point.id} point={point} />
                ))}
              </tbody>
            </table>
            <div className="pager">
              <button type="button" disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>
                Previous
              </button>
              <button type="button" disabled={!data.nextCursor} onClick={() => data.nextCursor && setCursors([...cursors, data.nextCursor])}>
                Next
              </button>
            </div>
          </>
        )}
      </QueryState>
    </section>
  );
};
