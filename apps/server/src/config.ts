import { resolve } from 'node:path';
import { z } from 'zod';

const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '::1'] as const;

const envSchema = z.object({
  TRAINYARD_DATA_DIR: z.string().min(1).default('./.trainyard'),
  PORT: z.coerce.number().int().min(0).max(65_535).default(4777),
  HOST: z.string().min(1).default('127.0.0.1'),
  TRAINYARD_TOKEN: z.string().min(32, 'TRAINYARD_TOKEN must be at least 32 characters').max(512).optional(),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'DATABASE_URL must be a postgres:// or postgresql:// URL')
    .optional(),
  TRAINYARD_MAX_BODY_BYTES: z.coerce.number().int().min(1024).default(10 * 1024 * 1024),
});

export interface ServerConfig {
  dataDir: string;
  port: number;
  host: string;
  /** Fixed session token; a random one is made at every start when absent. */
  token: string | undefined;
  database: { kind: 'pglite'; dataDir: string } | { kind: 'postgresql'; url: string };
  maxBodyBytes: number;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** The only place that reads the environment; everything downstream gets a validated config. */
export const loadConfig = (env: NodeJS.ProcessEnv = process.env): ServerConfig => {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const values = parsed.data;
  if (!values.DATABASE_URL && !(LOOPBACK_HOSTS as readonly string[]).includes(values.HOST)) {
    throw new ConfigError(
      `Invalid configuration:\n  HOST: the local server only listens on loopback (${LOOPBACK_HOSTS.join(', ')}); got ${values.HOST}`,
    );
  }
  const dataDir = resolve(values.TRAINYARD_DATA_DIR);
  return {
    dataDir,
    port: values.PORT,
    host: values.HOST,
    token: values.TRAINYARD_TOKEN,
    database: values.DATABASE_URL
      ? { kind: 'postgresql', url: values.DATABASE_URL }
      : { kind: 'pglite', dataDir: resolve(dataDir, 'pglite') },
    maxBodyBytes: values.TRAINYARD_MAX_BODY_BYTES,
  };
};
