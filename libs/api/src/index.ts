export { appRouter, type AppRouter } from './app.router';
export { type ApiContext, type ApiServices, createApiContext, type Logger, type Principal, type SystemService } from './context';
export { createCallerFactory } from './trpc';
