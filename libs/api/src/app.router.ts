import { artifactsRouter } from './routers/artifacts.router';
import { datasetsRouter } from './routers/datasets.router';
import { jobsRouter } from './routers/jobs.router';
import { modelsRouter } from './routers/models.router';
import { sweepsRouter } from './routers/sweeps.router';
import { syncRouter } from './routers/sync.router';
import { systemRouter } from './routers/system.router';
import { trainingDataRouter } from './routers/training-data.router';
import { router } from './trpc';

export const appRouter = router({
  system: systemRouter,
  artifacts: artifactsRouter,
  trainingData: trainingDataRouter,
  datasets: datasetsRouter,
  models: modelsRouter,
  jobs: jobsRouter,
  sweeps: sweepsRouter,
  sync: syncRouter,
});

export type AppRouter = typeof appRouter;
