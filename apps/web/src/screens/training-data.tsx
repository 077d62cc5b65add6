import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import type { ImportReport } from '@trainyard/contracts';
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
        JSONL or CSV file <input type="file" accept=".jsonl,.ndjson,.csv" onChange={(event) => void onFile(event.target.files?.[0])} disabled={fraction !== undefined} />
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

const SnapshotPanel = ({ minQuality }: { minQuality: number | undefined }) => {
  const client = useQueryClient();
  const [name, setName] = useState('');
  const snapshots = useQuery({ queryKey: ['snapshots'], queryFn: () => api.datasets.list.query({ limit: 20 }) });
  const create = useMutation({
    mutationFn: () => api.datasets.createSnapshot.mutate({ name: name.trim(), filter: minQuality !== undefined ? { minQuality } : {} }),
    onSuccess: () => {
      setName('');
      void client.invalidateQueries({ queryKey: ['snapshots'] });
    },
  });
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
        <button type="submit" disabled={create.isPending}>
          Freeze snapshot{minQuality !== undefined ? ` (quality ≥ ${minQuality})` : ''}
        </button>
      </form>
      {create.error && <ErrorNote error={create.error} />}
      {create.data && <p role="status">Snapshot {create.data.name}: {create.data.totalCount} pairs ({create.data.trainCount} train, {create.data.validationCount} validation)</p>}
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

const PairDetails = ({ point, onSaved }: { point: DataPoint; onSaved: () => void }) => {
  const [comment, setComment] = useState(point.feedbackComment ?? '');
  const save = useMutation({
    mutationFn: () => api.trainingData.setFeedback.mutate({ id: point.id, rating: point.feedbackRating, comment: comment.trim() || null }),
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
    mutationFn: (rating: number | null) => api.trainingData.setFeedback.mutate({ id: point.id, rating, comment: point.feedbackComment }),
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
          <select aria-label="Feedback rating" value={point.feedbackRating ?? ''} onChange={(event) => feedback.mutate(event.target.value ? Number(event.target.value) : null)}>
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
  const [showExcluded, setShowExcluded] = useState(false);
  const [cursors, setCursors] = useState<string[]>([]);
  const quality = minQuality.trim() === '' ? undefined : Number(minQuality);
  const qualityValid = quality === undefined || (Number.isFinite(quality) && quality >= 0 && quality <= 1);
  const filter = {
    ...(text.trim() ? { textContains: text.trim() } : {}),
    ...(qualityValid && quality !== undefined ? { minQuality: quality } : {}),
    ...(showExcluded ? { excluded: true } : {}),
  };
  const cursor = cursors[cursors.length - 1];
  const pairs = useQuery({
    queryKey: ['data', 'list', filter, cursor],
    queryFn: () => api.trainingData.list.query({ filter, limit: PAGE, ...(cursor ? { cursor } : {}) }),
    placeholderData: keepPreviousData,
  });
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
        <SnapshotPanel minQuality={qualityValid ? quality : undefined} />
      </div>
      <form className="filters" role="search" onSubmit={(event) => event.preventDefault()}>
        <label>
          Text contains <input value={text} onChange={(event) => { setText(event.target.value); setCursors([]); }} maxLength={200} />
        </label>
        <label>
          Min quality <input value={minQuality} onChange={(event) => { setMinQuality(event.target.value); setCursors([]); }} inputMode="decimal" placeholder="0–1" aria-invalid={!qualityValid} />
        </label>
        {!qualityValid && <span className="field-error">quality is a number from 0 to 1</span>}
        <label>
          <input type="checkbox" checked={showExcluded} onChange={(event) => { setShowExcluded(event.target.checked); setCursors([]); }} /> excluded only
        </label>
      </form>
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
