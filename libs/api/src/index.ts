export { appRouter, type AppRouter } from './app.router';
export { type ApiContext, type ApiServices, createApiContext, type Logger, type Principal } from './context';
export { createCallerFactory } from './trpc';
