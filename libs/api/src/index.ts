export { appRouter, type AppRouter } from './app.router';
export type { ApiContext, ApiServices, Logger } from './context';
export { createCallerFactory } from './trpc';
