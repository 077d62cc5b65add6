export * from './database';
export * from './migration-runner';
export * from './migration-source';
export type { SqlExecutor, SqlQueryable } from './sql-executor';
export { PrismaClient } from './generated/prisma/client';
export type { Prisma } from './generated/prisma/client';
export { copyPgliteTemplate, defaultTemplateCacheDir, pgliteTemplate } from './pglite-template';
export { pgliteExecutor } from './pglite-executor';
export { pgExecutor } from './pg-executor';
