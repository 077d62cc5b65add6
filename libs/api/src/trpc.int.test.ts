import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createArtifactService, createFsBlobStore } from '@trainyard/artifacts';
import { createDatasetSnapshotService, createTrainingDataService } from '@trainyard/datasets';
import { createTestDatabase } from '@trainyard/db';
import { createModelRegistryService, createModelVersionService } from '@trainyard/registry';
import { TRPCError } from '@trpc/server';
import { describe, expect, it } from 'vitest';
import { appRouter } from './app.router';
import type { ApiContext, Logger } from './context';
import { createCallerFactory } from './trpc';

const recordingLogger = () => {
  const errors: unknown[] = [];
  const logger: Logger = { info: () => undefined, error: (fields) => errors.push(fields) };
  return { logger, errors };
};

describe('error mapping', () => {
  it('turns an internal failure into a generic error without SQL, stack or path, and logs the cause', async () => {
    const database = await createTestDatabase();
    await database.close(); // every query now fails inside the driver
    const { logger, errors } = recordingLogger();
    const blobs = await createFsBlobStore(mkdtempSync(join(tmpdir(), 'trainyard-api-')));
    const artifacts = createArtifactService({ database, blobs, gcGraceMs: 0 });
    const trainingData = createTrainingDataService(database);
    const snapshots = createDatasetSnapshotService(database, blobs);
    const models = createModelRegistryService(database);
    const versions = createModelVersionService(database);
    const context: ApiContext = { services: { version: 'test', database, blobs, artifacts, trainingData, snapshots, models, versions }, logger, actor: 'test' };
    const caller = createCallerFactory(appRouter)(context);
    const failure = await caller.system.health().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TRPCError);
    expect((failure as TRPCError).code).toBe('INTERNAL_SERVER_ERROR');
    expect((failure as TRPCError).message).toBe('Internal server error');
    expect((failure as TRPCError).cause).toBeUndefined();
    expect(errors).toHaveLength(1);
  });
});
