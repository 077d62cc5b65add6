import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useEffect, useState } from 'react';
import { api, type OutboxEntry } from '../api';
import { ErrorNote, ProgressBar, QueryState, StatusBadge } from '../components/states';
import { formatBytes, formatDate } from '../lib/format';
import { parseVersionRef } from '../lib/version-ref';

const RemoteForm = () => {
  const client = useQueryClient();
  const [name, setName] = useState('');
  const [url, setUrl] = useState('');
  const [token, setToken] = useState('');
  const add = useMutation({
    mutationFn: () => api.sync.addRemote.mutate({ name: name.trim(), url: url.trim(), token: token.trim() }),
    onSuccess: () => {
      setName('');
      setUrl('');
      setToken('');
      void client.invalidateQueries({ queryKey: ['sync'] });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    add.mutate();
  };
  return (
    <form className="inline-form" onSubmit={submit} aria-label="Add remote">
      <label>
        Name <input value={name} onChange={(event) => setName(event.target.value)} required maxLength={64} placeholder="team" />
      </label>
      <label>
        URL <input value={url} onChange={(event) => setUrl(event.target.value)} required type="url" placeholder="https://trainyard.example" />
      </label>
      <label>
        API token <input value={token} onChange={(event) => setToken(event.target.value)} required type="password" autoComplete="off" />
      </label>
      <button type="submit" disabled={add.isPending}>
        Add remote
      </button>
      {add.error && <ErrorNote error={add.error} />}
    </form>
  );
};

const TransferForm = ({ remotes }: { remotes: readonly string[] }) => {
  const client = useQueryClient();
  const [remote, setRemote] = useState(remotes[0] ?? '');
  const [model, setModel] = useState('');
  const [ref, setRef] = useState('latest');
  const [problem, setProblem] = useState<string>();
  const transfer = useMutation({
    mutationFn: ({
      direction,
      input,
    }: {
      direction: 'push' | 'pull';
      input: { remote: string; model: string; ref: { version: number } | { alias: string } };
    }) =>
      direction === 'push'
        ? api.sync.push.mutate(input as Parameters<typeof api.sync.push.mutate>[0])
        : api.sync.pull.mutate(input as Parameters<typeof api.sync.pull.mutate>[0]),
    onSuccess: () => void client.invalidateQueries({ queryKey: ['sync'] }),
  });
  const start = (direction: 'push' | 'pull') => (event: FormEvent) => {
    event.preventDefault();
    const parsed = parseVersionRef(ref);
    if (!parsed) return setProblem('Version: a number, an alias, latest or active');
    setProblem(undefined);
    transfer.mutate({ direction, input: { remote: remote || remotes[0] || '', model: model.trim(), ref: parsed } });
  };
  return (
    <form className="inline-form" onSubmit={start('push')} aria-label="Push or pull a version">
      <label>
        Remote{' '}
        <select value={remote} onChange={(event) => setRemote(event.target.value)}>
          {remotes.map((name) => (
            <option key={name}>{name}</option>
          ))}
        </select>
      </label>
      <label>
        Model <input value={model} onChange={(event) => setModel(event.target.value)} required maxLength={128} />
      </label>
      <label>
        Version <input value={ref} onChange={(event) => setRef(event.target.value)} required />
      </label>
      <button type="submit" disabled={transfer.isPending}>
        Push
      </button>
      <button type="button" onClick={start('pull')} disabled={transfer.isPending || model.trim() === ''}>
        Pull
      </button>
      {problem && <span className="field-error">{problem}</span>}
      {transfer.error && <ErrorNote error={transfer.error} />}
    </form>
  );
};

/** The outbox, kept live by the `sync.progress` subscription. */
const useOutbox = () => {
  const client = useQueryClient();
  const status = useQuery({ queryKey: ['sync', 'status'], queryFn: () => api.sync.status.query({ limit: 50 }) });
  useEffect(() => {
    const subscription = api.sync.progress.subscribe(
      {},
      {
        onData(entry) {
          client.setQueryData<OutboxEntry[]>(['sync', 'status'], (entries) => {
            if (!entries) return entries;
            const known = entries.some((item) => item.id === entry.id);
            return known ? entries.map((item) => (item.id === entry.id ? entry : item)) : [entry, ...entries];
          });
        },
      },
    );
    return () => subscription.unsubscribe();
  }, [client]);
  return status;
};

const OutboxRow = ({ entry }: { entry: OutboxEntry }) => {
  const client = useQueryClient();
  const refresh = () => void client.invalidateQueries({ queryKey: ['sync'] });
  const retry = useMutation({ mutationFn: () => api.sync.retry.mutate({ id: entry.id }), onSuccess: refresh });
  const cancel = useMutation({ mutationFn: () => api.sync.cancel.mutate({ id: entry.id }), onSuccess: refresh });
  const ref = 'version' in entry.ref ? `v${entry.ref.version}` : entry.ref.alias;
  return (
    <tr>
      <td>{entry.direction}</td>
      <td>
        {entry.model} {ref} → {entry.remote}
        {entry.remoteVersion !== null && <span className="muted"> (remote v{entry.remoteVersion})</span>}
      </td>
      <td>
        <StatusBadge status={entry.state} />
        {entry.error && <div className="error-text">{entry.error}</div>}
      </td>
      <td>
        <ProgressBar fraction={entry.bytesTotal > 0 ? entry.bytesDone / entry.bytesTotal : entry.state === 'done' ? 1 : 0} label={`${entry.model} transfer`} />
        <span className="muted">
          {formatBytes(entry.bytesDone)} / {formatBytes(entry.bytesTotal)}
        </span>
      </td>
      <td>{entry.attempts}</td>
      <td>{formatDate(entry.updatedAt)}</td>
      <td>
        {(entry.state === 'failed' || entry.state === 'cancelled') && (
          <button type="button" onClick={() => retry.mutate()}>
            Retry
          </button>
        )}
        {entry.state === 'pending' && (
          <button type="button" onClick={() => cancel.mutate()}>
            Cancel
          </button>
        )}
        {(retry.error ?? cancel.error) && <ErrorNote error={retry.error ?? cancel.error} />}
      </td>
    </tr>
  );
};

export const SyncScreen = () => {
  const client = useQueryClient();
  const remotes = useQuery({ queryKey: ['sync', 'remotes'], queryFn: () => api.sync.listRemotes.query() });
  const outbox = useOutbox();
  const remove = useMutation({
    mutationFn: (name: string) => api.sync.removeRemote.mutate({ name }),
    onSuccess: () => void client.invalidateQueries({ queryKey: ['sync'] }),
  });
  return (
    <section aria-labelledby="sync-title">
      <header className="screen-header">
        <h1 id="sync-title">Sync</h1>
      </header>
      <div className="panel">
        <h2>Remotes</h2>
        <RemoteForm />
        <QueryState query={remotes} what="remotes" isEmpty={(list) => list.length === 0} empty="No remotes. Add the shared server above.">
          {(list) => (
            <>
              <ul className="plain">
                {list.map((remote) => (
                  <li key={remote.id}>
                    <strong>{remote.name}</strong> {remote.url} <span className="muted">({remote.links.length} linked versions)</span>{' '}
                    <button type="button" onClick={() => window.confirm(`Remove remote ${remote.name}?`) && remove.mutate(remote.name)}>
                      Remove
                    </button>
                  </li>
                ))}
              </ul>
              {remove.error && <ErrorNote error={remove.error} />}
              <TransferForm remotes={list.map((remote) => remote.name)} />
            </>
          )}
        </QueryState>
      </div>
      <h2>Outbox</h2>
      <QueryState query={outbox} what="transfers" isEmpty={(entries) => entries.length === 0} empty="Nothing pushed or pulled yet.">
        {(entries) => (
          <table className="table" data-testid="outbox-table">
            <thead>
              <tr>
                <th scope="col">Direction</th>
                <th scope="col">Version</th>
                <th scope="col">State</th>
                <th scope="col">Progress</th>
                <th scope="col">Attempts</th>
                <th scope="col">Updated</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((entry) => (
                <OutboxRow key={entry.id} entry={entry} />
              ))}
            </tbody>
          </table>
        )}
      </QueryState>
    </section>
  );
};
