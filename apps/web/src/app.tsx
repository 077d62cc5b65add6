import { QueryClientProvider, useQuery } from '@tanstack/react-query';
import { lazy, Suspense } from 'react';
import { BrowserRouter, NavLink, Route, Routes, useLocation } from 'react-router-dom';
import { SESSION_ENDED_MESSAGE } from '@trainyard/contracts';
import { api, errorMessage, isUnauthorized, queryClient, signOut } from './api';
import { ScreenErrorBoundary } from './components/error-boundary';
import { ErrorNote, Loading } from './components/states';
import { SignIn } from './screens/sign-in';
import { DashboardScreen } from './screens/dashboard';
import { JobsScreen } from './screens/jobs';

// The landing and jobs screens are in the main bundle; the others (uPlot, dagre…) load when first visited.
const JobDetailScreen = lazy(() => import('./screens/job-detail').then((m) => ({ default: m.JobDetailScreen })));
const TrainingDataScreen = lazy(() => import('./screens/training-data').then((m) => ({ default: m.TrainingDataScreen })));
const ModelsScreen = lazy(() => import('./screens/models').then((m) => ({ default: m.ModelsScreen })));
const ModelDetailScreen = lazy(() => import('./screens/model-detail').then((m) => ({ default: m.ModelDetailScreen })));
const LineageScreen = lazy(() => import('./screens/lineage').then((m) => ({ default: m.LineageScreen })));
const ScoreScreen = lazy(() => import('./screens/score').then((m) => ({ default: m.ScoreScreen })));
const CompareScreen = lazy(() => import('./screens/compare').then((m) => ({ default: m.CompareScreen })));
const SweepsScreen = lazy(() => import('./screens/sweeps').then((m) => ({ default: m.SweepsScreen })));
const SweepDetailScreen = lazy(() => import('./screens/sweeps').then((m) => ({ default: m.SweepDetailScreen })));
const SyncScreen = lazy(() => import('./screens/sync').then((m) => ({ default: m.SyncScreen })));

const NAV = [
  ['/', 'Overview'],
  ['/jobs', 'Jobs'],
  ['/sweeps', 'Sweeps'],
  ['/data', 'Training data'],
  ['/models', 'Models'],
  ['/score', 'Score'],
  ['/sync', 'Sync'],
] as const;

const Shell = ({ version }: { version: string | undefined }) => {
  const location = useLocation();
  return (
    <div className="shell">
      <nav className="sidebar" aria-label="Main">
        <div className="brand">
          Trainyard <span className="muted">{version ?? ''}</span>
        </div>
        <ul>
          {NAV.map(([to, label]) => (
            <li key={to}>
              <NavLink to={to} end={to === '/'}>
                {label}
              </NavLink>
            </li>
          ))}
        </ul>
        <button type="button" className="link" onClick={() => void signOut().then(() => queryClient.resetQueries())}>
          Sign out
        </button>
      </nav>
      <main className="content">
        <ScreenErrorBoundary resetKey={location.pathname}>
          <Suspense fallback={<Loading what="screen" />}>
            <Routes>
              <Route path="/" element={<DashboardScreen />} />
              <Route path="/jobs" element={<JobsScreen />} />
              <Route path="/jobs/:id" element={<JobDetailScreen />} />
              <Route path="/compare" element={<CompareScreen />} />
              <Route path="/sweeps" element={<SweepsScreen />} />
              <Route path="/sweeps/:name" element={<SweepDetailScreen />} />
              <Route path="/data" element={<TrainingDataScreen />} />
              <Route path="/models" element={<ModelsScreen />} />
              <Route path="/models/:name" element={<ModelDetailScreen />} />
              <Route path="/models/:name/lineage" element={<LineageScreen />} />
              <Route path="/score" element={<ScoreScreen />} />
              <Route path="/sync" element={<SyncScreen />} />
              <Route
                path="*"
                element={
                  <p>
                    Nothing here. <NavLink to="/jobs">Go to jobs</NavLink>
                  </p>
                }
              />
            </Routes>
          </Suspense>
        </ScreenErrorBoundary>
      </main>
    </div>
  );
};

/**
 * The app renders at once (its queries start alongside the health check, in one batched
 * request); the sign-in form replaces it when the session cookie is missing or refused.
 */
const Gate = () => {
  const health = useQuery({ queryKey: ['health'], queryFn: () => api.system.health.query() });
  if (health.error && isUnauthorized(health.error)) {
    // A refused cookie (not a first visit) says why the app asks to sign in again.
    const ended = errorMessage(health.error).startsWith(SESSION_ENDED_MESSAGE);
    return <SignIn reason={ended ? SESSION_ENDED_MESSAGE : undefined} onSignedIn={() => void queryClient.resetQueries()} />;
  }
  if (health.error) return <ErrorNote error={health.error} retry={() => void health.refetch()} />;
  return <Shell version={health.data?.version} />;
};

export const App = () => (
  <QueryClientProvider client={queryClient}>
    <BrowserRouter>
      <Gate />
    </BrowserRouter>
  </QueryClientProvider>
);
