import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router-dom';
import { api } from '../api';
import { QueryState } from '../components/states';
import { formatDate } from '../lib/format';

export const ModelsScreen = () => {
  const [nameContains, setNameContains] = useState('');
  const [includeArchived, setIncludeArchived] = useState(false);
  const models = useQuery({
    queryKey: ['models', 'list', nameContains, includeArchived],
    queryFn: () => api.models.list.query({ includeArchived, limit: 100, ...(nameContains.trim() ? { nameContains: nameContains.trim() } : {}) }),
  });
  return (
    <section aria-labelledby="models-title">
      <header className="screen-header">
        <h1 id="models-title">Models</h1>
      </header>
      <form className="filters" role="search" onSubmit={(event) => event.preventDefault()}>
        <label>
          Name contains <input value={nameContains} onChange={(event) => setNameContains(event.target.value)} maxLength={200} />
        </label>
        <label>
          <input type="checkbox" checked={includeArchived} onChange={(event) => setIncludeArchived(event.target.checked)} /> include archived
        </label>
      </form>
      <QueryState query={models} what="models" isEmpty={(data) => data.items.length === 0} empty="No models yet. A job with a target model registers one.">
        {(data) => (
          <table className="table" data-testid="models-table">
            <thead>
              <tr>
                <th scope="col">Model</th>
                <th scope="col">Latest</th>
                <th scope="col">Active</th>
                <th scope="col">Tags</th>
                <th scope="col">Updated</th>
                <th scope="col">Lineage</th>
              </tr>
            </thead>
            <tbody>
              {data.items.map((model) => (
                <tr key={model.id}>
                  <td>
                    <Link to={`/models/${model.name}`}>{model.name}</Link> {model.archivedAt && <span className="badge">archived</span>}
                    <div className="muted">{model.description}</div>
                  </td>
                  <td>v{model.latestVersion}</td>
                  <td>{model.activeVersion ? `v${model.activeVersion}` : '—'}</td>
                  <td>{model.tags.join(', ') || '—'}</td>
                  <td>{formatDate(model.updatedAt)}</td>
                  <td>
                    <Link to={`/models/${model.name}/lineage`}>graph</Link>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </QueryState>
    </section>
  );
};
