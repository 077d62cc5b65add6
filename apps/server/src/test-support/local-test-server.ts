import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTrainyardClient, type TrainyardClient } from '@trainyard/client';
import { afterAll, beforeAll } from 'vitest';
import { loadConfig } from '../config';
import { type RunningServer, startServer } from '../start-server';

export interface LocalTestServer {
  server: RunningServer;
  client: TrainyardClient;
  dataDir: string;
}

/**
 * A real server (PGlite, filesystem blobs, orchestrator) in its own temp data dir, started
 * before a test file's tests and stopped after them. No demo data unless the env asks for it.
 */
export const useLocalTestServer = (env: Record<string, string> = {}): LocalTestServer => {
  const context = {} as LocalTestServer;
  beforeAll(async () => {
    context.dataDir = mkdtempSync(join(tmpdir(), 'trainyard-test-server-'));
    const config = loadConfig({ TRAINYARD_DATA_DIR: context.dataDir, TRAINYARD_DEMO_DATA: 'off', PORT: '0', ...env });
    context.server = await startServer(config, { info: () => undefined, error: () => undefined });
    context.client = createTrainyardClient({ url: context.server.url, token: context.server.token });
  });
  afterAll(async () => {
    await context.server?.close();
    rmSync(context.dataDir, { recursive: true, force: true });
  });
  return context;
};
