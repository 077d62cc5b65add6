import { type PostgresServer, type S3TestServer, startPostgresServer, startS3Server } from '@trainyard/test-services';
import { type SharedServer, startSharedServer } from './shared-server';

/** Quick sync retries for tests whose servers come and go. */
export const FAST_SYNC_RETRY = { TRAINYARD_SYNC_RETRY_BASE_MS: '50', TRAINYARD_SYNC_RETRY_MAX_MS: '500' };

export interface TeamRegistry {
  postgres: PostgresServer;
  s3: S3TestServer;
  shared: SharedServer;
  databaseUrl: string;
  /** Stops the shared server, S3 and PostgreSQL (whatever of them started). */
  stop(): Promise<void>;
}

/** A team's shared registry as it runs in production: a shared server on a PostgreSQL database (`database`) and the S3 test server. */
export const startTeamRegistry = async (database: string): Promise<TeamRegistry> => {
  const registry = {} as TeamRegistry;
  registry.stop = async () => {
    await registry.shared?.stop();
    await registry.s3?.stop();
    await registry.postgres?.stop();
  };
  try {
    registry.postgres = await startPostgresServer();
    registry.s3 = await startS3Server();
    registry.databaseUrl = await registry.postgres.createDatabase(database);
    registry.shared = await startSharedServer({ databaseUrl: registry.databaseUrl, s3: { endpoint: registry.s3.endpoint, bucket: registry.s3.bucket } });
  } catch (error) {
    await registry.stop();
    throw error;
  }
  return registry;
};
