export { appRouter, type AppRouter } from './app.router';
export type { ApiContext, ApiServices, Logger, Principal } from './context';
export { createCallerFactory } from './trpc';
