import { setFlagsFromString } from 'node:v8';
import { loadConfig } from '../config';
import { installLastResort } from '../runtime/last-resort';
import { createStderrLogger } from '../runtime/logger';
import { startServer } from '../start-server';
import { exitWithError } from './exit-with-error';

export const runServeCommand = async (): Promise<void> => {
  // V8 lets the old generation grow to several times what is live before a full collection:
  // pushing 20 000 small blobs grew a shared server by ~180 MB of garbage over ~40 MB live.
  // Sizing the heap for memory keeps that growth near 50 MB (issue #24; docs/sync.md). V8
  // reads this flag when it sizes the heap, so setting it before any work takes effect.
  setFlagsFromString('--optimize-for-size');
  try {
    const config = loadConfig();
    const logger = createStderrLogger();
    // Before anything can fail asynchronously: see last-resort.ts for which errors keep it serving.
    installLastResort(logger);
    const server = await startServer(config, logger);
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      process.stderr.write(`Received ${signal}, shutting down\n`);
      server.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    // Before announcing the address: whoever reads it may signal at once, and until a listener
    // exists Node takes SIGINT/SIGTERM by default, killing the process without a clean stop.
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.stdout.write(
      server.token
        ? `Trainyard listening on ${server.url}\nSession token: ${server.token}\nWeb UI: ${server.url}/ (sign in with the session token; \`npx trainyard ui\` prints it again)\n`
        : `Trainyard listening on ${server.url}\nShared server: API tokens only (create one with \`trainyard tokens create --name NAME --scope read|write|admin\`)\n`,
    );
  } catch (error) {
    exitWithError(error);
  }
};
