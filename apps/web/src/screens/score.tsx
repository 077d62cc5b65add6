import { useMutation, useQuery } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { api } from '../api';
import { ErrorNote } from '../components/states';
import { parseVersionRef, splitTexts } from '../lib/version-ref';

const MAX_TEXTS = 1_000;

/** How the version was picked, as the CLI says it too. */
const chosenByText = (chosenBy: 'ref' | 'active' | 'latest', ref: { version: number } | { alias: string } | undefined): string =>
  chosenBy === 'active' ? 'active' : chosenBy === 'latest' ? 'latest; no active version' : ref && 'alias' in ref ? `@${ref.alias}` : `@${ref?.version ?? ''}`;

export const ScoreScreen = () => {
  const models = useQuery({ queryKey: ['models', 'list', 'score'], queryFn: () => api.models.list.query({ limit: 100 }) });
  const [model, setModel] = useState('');
  // Empty: the server scores with the active version, or the latest when none is active.
  const [ref, setRef] = useState('');
  const [input, setInput] = useState('');
  const [problem, setProblem] = useState<string>();
  const chosen = model || models.data?.items[0]?.name || '';
  const score = useMutation({
    // A read, but run on demand: useMutation gives the pending/error/result states of a button press.
    mutationFn: (args: { model: string; ref?: { version: number } | { alias: string }; texts: string[] }) =>
      api.models.score.query(args as Parameters<typeof api.models.score.query>[0]),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const texts = splitTexts(input);
    const parsedRef = ref.trim() === '' ? undefined : parseVersionRef(ref);
    if (!chosen) return setProblem('Choose a model');
    if (ref.trim() !== '' && !parsedRef) return setProblem('Version: a number, an alias, latest or active (empty: active, else latest)');
    if (texts.length === 0) return setProblem('Paste at least one text');
    if (texts.length > MAX_TEXTS) return setProblem(`At most ${MAX_TEXTS} texts at once`);
    setProblem(undefined);
    score.mutate({ model: chosen, ...(parsedRef ? { ref: parsedRef } : {}), texts });
  };
  const texts = score.variables?.texts ?? [];
  return (
    <section aria-labelledby="score-title">
      <header className="screen-header">
        <h1 id="score-title">Score texts</h1>
      </header>
      <form className="form-grid" onSubmit={submit} aria-label="Score texts">
        <label>
          Model{' '}
          <select value={chosen} onChange={(event) => setModel(event.target.value)}>
            {models.data?.items.length === 0 && <option value="">no models yet</option>}
            {models.data?.items.map((item) => (
              <option key={item.id}>{item.name}</option>
            ))}
          </select>
        </label>
        <label>
          Version or alias <input value={ref} onChange={(event) => setRef(event.target.value)} placeholder="empty: active, else latest" />
        </label>
        <label className="wide">
          Texts (one per line, or separated by blank lines)
          <textarea rows={8} value={input} onChange={(event) => setInput(event.target.value)} maxLength={1_000_000} />
        </label>
        {problem && (
          <p className="field-error wide" role="alert">
            {problem}
          </p>
        )}
        {models.error && <ErrorNote error={models.error} />}
        {score.error && <ErrorNote error={score.error} />}
        <button type="submit" disabled={score.isPending}>
          Score
        </button>
      </form>
      {score.data && (
        <div role="status">
          <p data-testid="scored-with">
            Scored with {score.data.model} v{score.data.version} ({chosenByText(score.data.chosenBy, score.variables?.ref)}) — probability the text is
            machine-written
          </p>
          <table className="table" data-testid="score-table">
            <thead>
              <tr>
                <th scope="col">Text</th>
                <th scope="col">Score</th>
              </tr>
            </thead>
            <tbody>
              {score.data.scores.map((value, index) => (
                <tr key={index}>
                  <td>
                    <div className="clamp">{texts[index]}</div>
                  </td>
                  <td>
                    <meter min={0} max={1} low={0.5} high={0.5} optimum={0} value={value} aria-label="detection score" /> {value.toFixed(3)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
};
