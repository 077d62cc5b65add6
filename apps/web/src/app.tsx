import { QueryClientProvider, useQuery } from '@tanstack/react-query';
import { BrowserRouter, Navigate, NavLink, Route, Routes } from 'react-router-dom';
import { api, isUnauthorized, queryClient, signOut } from './api';
import { ErrorNote, Loading } from './components/states';
import { SignIn } from './screens/sign-in';
import { JobsScreen } from './screens/jobs';
import { JobDetailScreen } from './screens/job-detail';
import { TrainingDataScreen } from './screens/training-data';
import { ModelsScreen } from './screens/models';
import { ModelDetailScreen } from './screens/model-detail';
import { LineageScreen } from './screens/lineage';
import { ScoreScreen } from './screens/score';
import { SyncScreen } from './screens/sync';

const NAV = [
  ['/jobs', 'Jobs'],
  ['/data', 'Training data'],
  ['/models', 'Models'],
  ['/score', 'Score'],
  ['/sync', 'Sync'],
] as const;

const Shell = ({ version }: { version: string }) => (
  <div className="shell">
    <nav className="sidebar" aria-label="Main">
      <div className="brand">Trainyard <span className="muted">{version}</span></div>
      <ul>
        {NAV.map(([to, label]) => (
          <li key={to}>
            <NavLink to={to}>{label}</NavLink>
          </li>
        ))}
      </ul>
      <button type="button" className="link" onClick={() => void signOut().then(() => queryClient.resetQueries())}>
        Sign out
      </button>
    </nav>
    <main className="content">
      <Routes>
        <Route path="/" element={<Navigate to="/jobs" replace />} />
        <Route path="/jobs" element={<JobsScreen />} />
        <Route path="/jobs/:id" element={<JobDetailScreen />} />
        <Route path="/data" element={<TrainingDataScreen />} />
        <Route path="/models" element={<ModelsScreen />} />
        <Route path="/models/:name" element={<ModelDetailScreen />} />
        <Route path="/models/:name/lineage" element={<LineageScreen />} />
        <Route path="/score" element={<ScoreScreen />} />
        <Route path="/sync" element={<SyncScreen />} />
        <Route path="*" element={<p>Nothing here. <NavLink to="/jobs">Go to jobs</NavLink></p>} />
      </Routes>
    </main>
  </div>
);

/** Shows the sign-in form until the session cookie authenticates a health check. */
const Gate = () => {
  const health = useQuery({ queryKey: ['health'], queryFn: () => api.system.health.query() });
  if (health.isPending) return <Loading what="Trainyard" />;
  if (health.error && isUnauthorized(health.error)) return <SignIn onSignedIn={() => void health.refetch()} />;
  if (health.error) return <ErrorNote error={health.error} />;
  return <Shell version={health.data.version} />;
};

export const App = () => (
  <QueryClientProvider client={queryClient}>
    <BrowserRouter>
      <Gate />
    </BrowserRouter>
  </QueryClientProvider>
);
