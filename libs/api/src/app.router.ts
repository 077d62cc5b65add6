import { artifactsRouter } from './routers/artifacts.router';
import { systemRouter } from './routers/system.router';
import { router } from './trpc';

export const appRouter = router({
  system: systemRouter,
  artifacts: artifactsRouter,
});

export type AppRouter = typeof appRouter;
