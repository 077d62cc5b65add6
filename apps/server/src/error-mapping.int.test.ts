import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appRouter, createApiContext, createCallerFactory, type Logger } from '@trainyard/api';
import { createTestDatabase } from '@trainyard/db';
import { TRPCError } from '@trpc/server';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config';
import { createServices } from './wiring';

const dataDir = mkdtempSync(join(tmpdir(), 'trainyard-errors-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('error mapping', () => {
  it('turns an internal failure into a generic error without SQL, stack or path, and logs the cause', async () => {
    const errors: unknown[] = [];
    const logger: Logger = { info: () => undefined, error: (fields) => errors.push(fields) };
    const database = await createTestDatabase();
    const services = await createServices(
      loadConfig({ TRAINYARD_DATA_DIR: dataDir, TRAINYARD_DEMO_DATA: 'off', TRAINYARD_ORCHESTRATOR: 'off' }),
      database,
      logger,
    );
    await database.close(); // every query now fails inside the driver
    const caller = createCallerFactory(appRouter)(createApiContext(services, { actor: 'test', scope: 'admin' }, logger));
    const failure = await caller.system.health().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TRPCError);
    expect((failure as TRPCError).code).toBe('INTERNAL_SERVER_ERROR');
    expect((failure as TRPCError).message).toBe('Internal server error');
    expect((failure as TRPCError).cause).toBeUndefined();
    expect(errors).toHaveLength(1);
  });
});
