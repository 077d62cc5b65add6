import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { Link, useParams } from 'react-router-dom';
import { api, type Artifact, type ModelVersion } from '../api';
import { ErrorNote, QueryState } from '../components/states';
import { SnapshotName, VersionValidation } from '../components/readable';
import { formatBytes, formatDate, formatNumber } from '../lib/format';

const AliasForm = ({ model, versions }: { model: string; versions: readonly ModelVersion[] }) => {
  const client = useQueryClient();
  const [alias, setAlias] = useState('production');
  const [version, setVersion] = useState(String(versions[0]?.version ?? ''));
  const move = useMutation({
    mutationFn: () => api.models.setAlias.mutate({ model, alias: alias.trim(), version: Number(version) }),
    onSuccess: () => void client.invalidateQueries({ queryKey: ['models'] }),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    move.mutate();
  };
  return (
    <form className="inline-form" onSubmit={submit} aria-label="Move alias">
      <label>
        Alias <input value={alias} onChange={(event) => setAlias(event.target.value)} required maxLength={64} />
      </label>
      <label>
        to version{' '}
        <select value={version} onChange={(event) => setVersion(event.target.value)}>
          {versions.map((item) => (
            <option key={item.version} value={item.version}>
              v{item.version}
            </option>
          ))}
        </select>
      </label>
      <button type="submit" disabled={move.isPending}>
        Move alias
      </button>
      {move.error && <ErrorNote error={move.error} />}
      {move.isSuccess && (
        <span role="status">
          {alias} → v{version}
        </span>
      )}
    </form>
  );
};

/** The file name a download gets: the name's last segment, safe characters only (the browser cleans it too). */
const downloadName = (artifact: Artifact): string => {
  const cleaned = (artifact.name.split(/[\\/]/).pop() ?? '').replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '');
  return /[A-Za-z0-9]/.test(cleaned) ? cleaned : artifact.sha256;
};

/** A version's artifacts; each downloads from the blob route (same origin, the session cookie authenticates). */
const VersionArtifacts = ({ version }: { version: ModelVersion }) => {
  const artifacts = useQuery({
    queryKey: ['models', 'artifacts', version.id],
    queryFn: () => api.artifacts.list.query({ modelVersionId: version.id, limit: 200 }),
    enabled: version.artifactCount > 0,
  });
  if (version.artifactCount === 0) return <p className="muted">v{version.version}: no artifacts.</p>;
  return (
    <QueryState query={artifacts} what="artifacts" isEmpty={(page) => page.items.length === 0} empty={`v${version.version}: no artifacts.`}>
      {(page) => (
        <table className="table" data-testid={`artifacts-v${version.version}`} aria-label={`Artifacts of v${version.version}`}>
          {version.artifactCount > page.items.length && (
            <caption className="muted">
              The newest {page.items.length} of {version.artifactCount} artifacts; all of them:{' '}
              <code>
                trainyard artifacts list --model {version.model}@{version.version}
              </code>
            </caption>
          )}
          <thead>
            <tr>
              <th scope="col">Artifact</th>
              <th scope="col">Type</th>
              <th scope="col">Size</th>
              <th scope="col">SHA-256</th>
              <th scope="col">Download</th>
            </tr>
          </thead>
          <tbody>
            {page.items.map((artifact) => (
              <tr key={artifact.id}>
                <td>{artifact.name}</td>
                <td>{artifact.type}</td>
                <td>{formatBytes(artifact.size)}</td>
                <td>
                  <code title={artifact.sha256}>{artifact.sha256.slice(0, 16)}…</code>
                </td>
                <td>
                  <a href={`/blobs/sha256/${artifact.sha256}`} download={downloadName(artifact)} aria-label={`Download ${artifact.name}`}>
                    Download
                  </a>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </QueryState>
  );
};

const clearActiveQuestion = (model: string, version: number): string =>
  `Clear the active version of ${model} (v${version})? Scoring without a version then uses the latest version.`;

/** The active version, and a button that clears it (after asking). */
const ActiveVersion = ({ model, active }: { model: string; active: number | null }) => {
  const client = useQueryClient();
  const clear = useMutation({
    mutationFn: () => api.models.setActive.mutate({ model, version: null }),
    onSuccess: () => void client.invalidateQueries({ queryKey: ['models'] }),
  });
  return (
    <p data-testid="active-version">
      Active version: {active ? `v${active}` : 'none (scoring uses the latest version)'}{' '}
      {active !== null && (
        <button type="button" onClick={() => window.confirm(clearActiveQuestion(model, active)) && clear.mutate()} disabled={clear.isPending}>
          Clear active version
        </button>
      )}
      {clear.error && <ErrorNote error={clear.error} />}
    </p>
  );
};

const VersionRow = ({ version }: { version: ModelVersion }) => {
  const client = useQueryClient();
  const activate = useMutation({
    mutationFn: () => api.models.setActive.mutate({ model: version.model, version: version.active ? null : version.version }),
    onSuccess: () => void client.invalidateQueries({ queryKey: ['models'] }),
  });
  // Clearing changes what scoring uses by default (the latest version then): ask first.
  const toggle = () => {
    if (version.active && !window.confirm(clearActiveQuestion(version.model, version.version))) return;
    activate.mutate();
  };
  return (
    <>
      <tr>
        <th scope="row">v{version.version}</th>
        <td>
          {Object.entries(version.metrics)
            .map(([name, value]) => `${name} ${formatNumber(value)}`)
            .join(', ') || '—'}
        </td>
        <td>
          {version.validation ? (
            <details>
              <summary>report</summary>
              <VersionValidation validation={version.validation} label={`Validation report of v${version.version}`} />
            </details>
          ) : (
            <span className="muted">no report</span>
          )}
        </td>
        <td>
          <SnapshotName id={version.datasetSnapshotId} />
        </td>
        <td data-testid={`aliases-v${version.version}`}>{version.aliases.join(', ') || '—'}</td>
        <td>{version.trainingJobId ? <Link to={`/jobs/${version.trainingJobId}`}>job</Link> : '—'}</td>
        <td>{formatDate(version.createdAt)}</td>
        <td>
          <button
            type="button"
            onClick={toggle}
            disabled={activate.isPending}
            aria-pressed={version.active}
            title={version.active ? 'Click to clear the active version' : undefined}
          >
            {version.active ? 'Active ✓' : 'Set active'}
          </button>
          {activate.error && <ErrorNote error={activate.error} />}
        </td>
      </tr>
      <tr>
        <td colSpan={8}>
          <VersionArtifacts version={version} />
        </td>
      </tr>
    </>
  );
};

export const ModelDetailScreen = () => {
  const { name = '' } = useParams();
  const client = useQueryClient();
  const model = useQuery({ queryKey: ['models', 'get', name], queryFn: () => api.models.get.query({ model: name }) });
  const versions = useQuery({ queryKey: ['models', 'versions', name], queryFn: () => api.models.listVersions.query({ model: name, limit: 100 }) });
  const archive = useMutation({
    mutationFn: () => api.models.archive.mutate({ model: name }),
    onSuccess: () => void client.invalidateQueries({ queryKey: ['models'] }),
  });
  return (
    <QueryState query={model} what="model">
      {(data) => (
        <section aria-labelledby="model-title">
          <header className="screen-header">
            <h1 id="model-title">{data.name}</h1>
            <Link to={`/models/${data.name}/lineage`}>Lineage</Link>
            {!data.archivedAt && (
              <button
                type="button"
                onClick={() =>
                  window.confirm(`Archive ${data.name}? It leaves the models list (tick "include archived" to see it); its versions stay readable.`) &&
                  archive.mutate()
                }
                disabled={archive.isPending}
              >
                Archive
              </button>
            )}
            {data.archivedAt && <span className="badge">archived {formatDate(data.archivedAt)}</span>}
          </header>
          {archive.error && <ErrorNote error={archive.error} />}
          <p className="muted">{data.description}</p>
          <ActiveVersion model={data.name} active={data.activeVersion ?? null} />
          <QueryState query={versions} what="versions" isEmpty={(list) => list.items.length === 0} empty="No versions yet.">
            {(list) => (
              <>
                <AliasForm model={data.name} versions={list.items} />
                <table className="table" data-testid="versions-table">
                  <thead>
                    <tr>
                      <th scope="col">Version</th>
                      <th scope="col">Metrics</th>
                      <th scope="col">Validation</th>
                      <th scope="col">Snapshot</th>
                      <th scope="col">Aliases</th>
                      <th scope="col">Trained by</th>
                      <th scope="col">Created</th>
                      <th scope="col">Active</th>
                    </tr>
                  </thead>
                  <tbody>
                    {list.items.map((version) => (
                      <VersionRow key={version.id} version={version} />
                    ))}
                  </tbody>
                </table>
              </>
            )}
          </QueryState>
        </section>
      )}
    </QueryState>
  );
};
