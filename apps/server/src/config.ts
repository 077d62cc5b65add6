import { availableParallelism } from 'node:os';
import { delimiter, resolve } from 'node:path';
import { installPath } from '@trainyard/core';
import { commandArgv, containerImage } from '@trainyard/contracts';
import { z } from 'zod';

const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '::1'] as const;

/** A variable holding JSON, parsed; `shape` says what is expected when it is not JSON. */
const jsonText = (shape: string, maxLength = 16_384) =>
  z
    .string()
    .max(maxLength)
    .transform((value, ctx) => {
      try {
        return JSON.parse(value) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: `must be JSON: ${shape}` });
        return z.NEVER;
      }
    });

/** A comma-separated list (blanks and empty entries dropped), each entry checked by `item`. */
const commaList = (item: z.ZodType<string, string>, maxLength = 4_096) =>
  z
    .string()
    .max(maxLength)
    .transform((value) =>
      value
        .split(',')
        .map((entry) => entry.trim())
        .filter((entry) => entry !== ''),
    )
    .pipe(z.array(item).max(100));

/** Comma-separated Kubernetes object names (DNS-1123 labels): namespaces, service accounts. */
const kubernetesNames = commaList(
  z
    .string()
    .max(63)
    .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/, 'a Kubernetes name: lowercase letters, digits and -'),
).refine((names) => names.length > 0, 'at least one name');

/** A SageMaker instance type. */
const sageMakerInstanceType = z.string().regex(/^ml\.[a-z0-9]+\.[a-z0-9]+$/, 'a SageMaker instance type such as ml.m5.xlarge');

const envSchema = z.object({
  TRAINYARD_DATA_DIR: z.string().min(1).default('./.trainyard'),
  PORT: z.coerce.number().int().min(0).max(65_535).default(4777),
  HOST: z.string().min(1).default('127.0.0.1'),
  TRAINYARD_TOKEN: z.string().min(32, 'TRAINYARD_TOKEN must be at least 32 characters').max(512).optional(),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'DATABASE_URL must be a postgres:// or postgresql:// URL')
    .optional(),
  TRAINYARD_MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(10 * 1024 * 1024),
  TRAINYARD_MAX_BLOB_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(1024 ** 4),
  TRAINYARD_GC_GRACE_MINUTES: z.coerce.number().min(0).default(60),
  TRAINYARD_GC_INTERVAL_MINUTES: z.coerce.number().min(0).default(360),
  ARTIFACT_STORE: z
    .string()
    .regex(/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/, 'ARTIFACT_STORE must be s3://bucket[/prefix]')
    .optional(),
  MODEL_ARTIFACTS_PATH: z.string().min(1).optional(),
  S3_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'S3_BUCKET must be a valid bucket name')
    .optional(),
  S3_ENDPOINT: z.url().optional(),
  S3_REGION: z.string().min(1).default('us-east-1'),
  S3_FORCE_PATH_STYLE: z.enum(['true', 'false', '1', '0']).optional(),
  S3_PART_SIZE_MB: z.coerce.number().int().min(5).max(512).default(16),
  S3_UPLOAD_CONCURRENCY: z.coerce.number().int().min(1).max(32).default(4),
  S3_UPLOADS_IN_FLIGHT: z.coerce.number().int().min(1).max(64).default(8),
  S3_VERIFY_READ_CONCURRENCY: z.coerce.number().int().min(1).max(32).optional(),
  TRAINYARD_ORCHESTRATOR: z.enum(['on', 'off']).optional(),
  TRAINYARD_JOB_CONCURRENCY: z.coerce.number().int().min(1).max(64).optional(),
  TRAINYARD_CANCEL_GRACE_SECONDS: z.coerce.number().min(0).max(3_600).default(10),
  /**
   * `on` runs jobs created with executor `runner-local` through the runner (docs/runner.md): a
   * separate process in an empty temporary directory that reaches this server over HTTP with a
   * job token, exactly as the cloud executors' runners will. For checking that path here.
   */
  TRAINYARD_RUNNER_LOCAL: z.enum(['on', 'off']).default('off'),
  /** The URL runners reach this server at (behind a proxy or load balancer); default: the server's own. */
  TRAINYARD_RUNNER_URL: z
    .string()
    .max(2_048)
    .regex(/^https?:\/\/[^\s/?#]+\/?$/, 'an http(s) URL of the server, without a path')
    .optional(),
  /**
   * Kubernetes: `on` runs jobs created with executor `kubernetes` as Kubernetes Jobs
   * (docs/kubernetes.md), with the kubeconfig from KUBECONFIG, ~/.kube/config or the pod's
   * in-cluster account. Images come from TRAINYARD_RUNNER_IMAGES.
   */
  TRAINYARD_KUBERNETES: z.enum(['on', 'off']).default('off'),
  /** Namespaces Kubernetes jobs may run in, comma-separated; the first is the default. */
  TRAINYARD_K8S_NAMESPACES: kubernetesNames.default(['default']),
  /** Service accounts their pods may run as, comma-separated; the first is the default. */
  TRAINYARD_K8S_SERVICE_ACCOUNTS: kubernetesNames.default(['default']),
  /** Where the runner is inside the images (docs/kubernetes.md, "The runner image"). */
  TRAINYARD_K8S_RUNNER_PATH: z
    .string()
    .max(1_024)
    .regex(/^\/[^\s]*$/, 'an absolute path inside the image')
    .default('/opt/trainyard/runner.js'),
  /** How long Kubernetes keeps a finished Job, its pod (and so its log) and its token's Secret. */
  TRAINYARD_K8S_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .max(30 * 86_400)
    .default(86_400),
  /** Slurm: `on` runs jobs created with executor `slurm` (docs/training.md, "Slurm"). */
  TRAINYARD_SLURM: z.enum(['on', 'off']).default('off'),
  /** Run Slurm's commands on a login node over SSH: `user@host` (or `user@host:port`). */
  TRAINYARD_SLURM_SSH: z
    .string()
    .regex(/^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+(:\d{1,5})?$/, 'must be user@host or user@host:port')
    .optional(),
  /** The private key for TRAINYARD_SLURM_SSH (default: the SSH agent at SSH_AUTH_SOCK). */
  TRAINYARD_SLURM_SSH_KEY: z.string().min(1).max(4_096).optional(),
  /** The known_hosts file the login node's host key must be in (default ~/.ssh/known_hosts). */
  TRAINYARD_SLURM_SSH_KNOWN_HOSTS: z.string().min(1).max(4_096).optional(),
  /** The cluster's completion log (`JobCompLoc` with `JobCompType=jobcomp/filetxt`): where finished jobs are found without accounting. */
  TRAINYARD_SLURM_JOBCOMP_LOG: z.string().min(1).max(4_096).optional(),
  TRAINYARD_SLURM_PARTITION: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'a partition name: letters, digits, _ . -')
    .optional(),
  TRAINYARD_SLURM_ACCOUNT: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'an account name: letters, digits, _ . -')
    .optional(),
  /** How often Slurm is asked about every followed job at once (one squeue call). */
  TRAINYARD_SLURM_POLL_SECONDS: z.coerce.number().min(0.1).max(300).default(1),
  /** Where job directories live when jobs run on other machines: a directory on the cluster's shared filesystem. */
  TRAINYARD_SHARED_DIR: z
    .string()
    .regex(/^\/[^\s'"\\]*$/, 'must be an absolute path without spaces or quotes (Slurm batch directives cannot carry them)')
    .optional(),
  /** SageMaker: `on` runs jobs created with executor `sagemaker` as SageMaker training jobs (docs/sagemaker.md). */
  TRAINYARD_SAGEMAKER: z.enum(['on', 'off']).default('off'),
  /** The IAM role SageMaker assumes for the jobs (pulls the image, writes S3 and CloudWatch Logs). */
  TRAINYARD_SAGEMAKER_ROLE_ARN: z
    .string()
    .max(2_048)
    .regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/?[a-zA-Z_0-9+=,.@\-_/]+$/, 'an IAM role ARN (arn:aws:iam::<account>:role/<name>)')
    .optional(),
  /** The instance type of a job that names none. */
  TRAINYARD_SAGEMAKER_INSTANCE_TYPE: sageMakerInstanceType.default('ml.m5.xlarge'),
  /**
   * The instance types jobs may ask for (`resources.instanceType`), comma-separated; default: only
   * TRAINYARD_SAGEMAKER_INSTANCE_TYPE. An instance type is a cost: a train token cannot pick any.
   */
  TRAINYARD_SAGEMAKER_INSTANCE_TYPES: commaList(sageMakerInstanceType).optional(),
  /** OutputDataConfig.S3OutputPath (SageMaker requires one; it writes model.tar.gz there) and the checkpoint prefix (`<prefix>/<job id>/`). */
  TRAINYARD_SAGEMAKER_OUTPUT_S3_URI: z
    .string()
    .max(1_024)
    .regex(/^s3:\/\/[^/\s]+(\/\S*)?$/, 'an s3://bucket/prefix URI')
    .optional(),
  TRAINYARD_SAGEMAKER_CHECKPOINT_S3_URI: z
    .string()
    .max(900)
    .regex(/^s3:\/\/[^/\s]+(\/\S*)?$/, 'an s3://bucket/prefix URI')
    .optional(),
  /** The region (default: the AWS SDK's own chain: AWS_REGION, the profile) and an endpoint other than AWS's (a VPC endpoint; the tests' fake). */
  TRAINYARD_SAGEMAKER_REGION: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region such as eu-west-1')
    .optional(),
  TRAINYARD_SAGEMAKER_ENDPOINT: z
    .url({ protocol: /^https?$/ })
    .max(2_048)
    .optional(),
  TRAINYARD_SAGEMAKER_VOLUME_GB: z.coerce.number().int().min(1).max(16_384).default(30),
  /** How often DescribeTrainingJob is asked about each running job (SageMaker has no watch). */
  TRAINYARD_SAGEMAKER_POLL_SECONDS: z.coerce.number().min(0.1).max(600).default(15),
  TRAINYARD_DEMO_DATA: z.enum(['on', 'off']).optional(),
  /** Score ONNX model versions (load model.onnx in ONNX Runtime): default on locally, off on a shared server. */
  TRAINYARD_SCORING: z.enum(['on', 'off']).optional(),
  /** Memory for loaded models kept between scoring requests. */
  TRAINYARD_SCORING_CACHE_MB: z.coerce.number().int().min(1).max(1_048_576).default(512),
  TRAINYARD_MODE: z.enum(['local', 'shared']).optional(),
  TRAINYARD_SYNC_RETRY_BASE_MS: z.coerce.number().int().min(1).max(600_000).default(1_000),
  TRAINYARD_SYNC_RETRY_MAX_MS: z.coerce.number().int().min(1).max(3_600_000).default(300_000),
  /** Shared server: take the data of dataset snapshots pushed with versions or alone (off: versions keep only the manifest; docs/sync.md). */
  TRAINYARD_SYNC_ACCEPT_DATASETS: z.enum(['on', 'off']).default('on'),
  /** The built web UI served at `/` (default: apps/web/dist of this checkout). */
  TRAINYARD_WEB_DIR: z.string().min(1).optional(),
  /** How built-in trainers are started, set by the desktop app (its trainer-host mode): JSON { execPath, args?, env? }. */
  TRAINYARD_TRAINER_RUNTIME: jsonText('{ "execPath": "…", "args": […], "env": {…} }')
    .pipe(z.strictObject({ execPath: z.string().min(1), args: z.array(z.string()).optional(), env: z.record(z.string(), z.string()).optional() }))
    .optional(),
  TRAINYARD_UPLOAD_URL_EXPIRY_SECONDS: z.coerce
    .number()
    .int()
    .min(1)
    .max(7 * 86_400)
    .default(3_600),
  /** Shared server: requests per second each API token may make, sustained (0 = no limit), and the burst above it. */
  // 50/s with a burst of 200 throttled our own client: a push of 1 000 small blobs (one PUT each) took 17 s instead of 6.5 s.
  TRAINYARD_RATE_LIMIT_PER_SECOND: z.coerce.number().min(0).max(1_000_000).default(200),
  TRAINYARD_RATE_LIMIT_BURST: z.coerce.number().int().min(1).max(1_000_000).default(1_000),
  /** The Python interpreter Python built-in trainers (pytorch-text-classifier) run with: a name on PATH or a path. */
  TRAINYARD_PYTHON: z.string().min(1).max(4_096).default('python3'),
  /** Extra variables trainers receive from the server's environment: comma-separated names. */
  TRAINYARD_TRAINER_ENV: commaList(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be comma-separated environment variable names')).default([]),
  /** Command trainers API-token callers may run: a JSON array of argv arrays, matched exactly. */
  TRAINYARD_ALLOWED_COMMANDS: jsonText('an array of argv arrays, e.g. [["/opt/train/bin/train","--fast"]]', 65_536)
    .pipe(
      z.array(
        commandArgv.refine((argv) => argv[0]?.startsWith('/'), 'the program must be an absolute path'),
        'must be an array of argv arrays',
      ),
    )
    .default([]),
  /**
   * Container images Kubernetes and SageMaker jobs may run in (their trainer is a command inside
   * the image): comma-separated references, matched exactly; the first is the default.
   */
  TRAINYARD_RUNNER_IMAGES: commaList(containerImage, 16_384).default([]),
});

export type ArtifactStoreConfig =
  | { kind: 'filesystem'; root: string }
  | {
      kind: 's3';
      bucket: string;
      prefix: string;
      endpoint: string | undefined;
      region: string;
      forcePathStyle: boolean;
      partSizeBytes: number;
      queueSize: number;
      /** Uploads through this server buffering parts at once, across all requests. */
      uploadsInFlight: number;
      /** Ranged GETs in flight when an upload is read back to verify it; 1 reads it as one stream. */
      verifyReadConcurrency: number;
      spoolDir: string;
    };

const artifactStoreConfig = (values: z.infer<typeof envSchema>, dataDir: string): ArtifactStoreConfig => {
  // ARTIFACT_STORE=s3://bucket/prefix, or the seed's S3_BUCKET; otherwise files under the data dir.
  const fromUrl = values.ARTIFACT_STORE ? /^s3:\/\/([^/]+)\/?(.*)$/.exec(values.ARTIFACT_STORE) : null;
  const bucket = fromUrl?.[1] ?? values.S3_BUCKET;
  if (!bucket) return { kind: 'filesystem', root: resolve(values.MODEL_ARTIFACTS_PATH ?? resolve(dataDir, 'blobs')) };
  const rawPrefix = fromUrl?.[2] ?? '';
  return {
    kind: 's3',
    bucket,
    prefix: rawPrefix === '' || rawPrefix.endsWith('/') ? rawPrefix : `${rawPrefix}/`,
    endpoint: values.S3_ENDPOINT,
    region: values.S3_REGION,
    forcePathStyle:
      values.S3_FORCE_PATH_STYLE === 'true' || values.S3_FORCE_PATH_STYLE === '1' || Boolean(values.S3_ENDPOINT && values.S3_FORCE_PATH_STYLE === undefined),
    partSizeBytes: values.S3_PART_SIZE_MB * 1024 * 1024,
    queueSize: values.S3_UPLOAD_CONCURRENCY,
    uploadsInFlight: values.S3_UPLOADS_IN_FLIGHT,
    // AWS serves one connection at a fraction of a machine's bandwidth, so parallel ranges pay
    // there; a local S3-compatible server (s3rver here) served one stream faster than four.
    verifyReadConcurrency: values.S3_VERIFY_READ_CONCURRENCY ?? (values.S3_ENDPOINT ? 1 : 4),
    spoolDir: resolve(dataDir, 'spool'),
  };
};

export interface KubernetesConfig {
  /** Allowed namespaces and service accounts; the first of each is the default. */
  namespaces: string[];
  serviceAccounts: string[];
  /** The runner's path inside the images. */
  runnerPath: string;
  ttlSecondsAfterFinished: number;
}

export interface SlurmConfig {
  /** Slurm's commands on a login node over SSH; undefined: on this machine's PATH. */
  ssh: { user: string; host: string; port: number; privateKeyPath: string | undefined; knownHostsPath: string | undefined } | undefined;
  /** Where finished jobs are found when Slurm has no accounting (TRAINYARD_SLURM_JOBCOMP_LOG). */
  jobCompLog: string | undefined;
  partition: string | undefined;
  account: string | undefined;
  pollMs: number;
  /** TRAINYARD_SHARED_DIR: job directories and snapshot channels live under it. */
  sharedDir: string;
}

export interface SageMakerConfig {
  roleArn: string;
  instanceType: string;
  /** The instance types jobs may ask for (the default one included). */
  instanceTypes: string[];
  outputS3Uri: string;
  checkpointS3Uri: string;
  region: string | undefined;
  endpoint: string | undefined;
  volumeSizeGb: number;
  pollMs: number;
}

const sageMakerConfig = (values: z.infer<typeof envSchema>): SageMakerConfig | undefined => {
  if (values.TRAINYARD_SAGEMAKER !== 'on') return undefined;
  const missing = [
    ['TRAINYARD_SAGEMAKER_ROLE_ARN', values.TRAINYARD_SAGEMAKER_ROLE_ARN, 'the IAM role SageMaker assumes for the jobs'],
    ['TRAINYARD_SAGEMAKER_OUTPUT_S3_URI', values.TRAINYARD_SAGEMAKER_OUTPUT_S3_URI, 'where SageMaker writes each job’s model.tar.gz (s3://bucket/prefix)'],
    ['TRAINYARD_SAGEMAKER_CHECKPOINT_S3_URI', values.TRAINYARD_SAGEMAKER_CHECKPOINT_S3_URI, 'where SageMaker syncs /opt/ml/checkpoints (s3://bucket/prefix)'],
    ['TRAINYARD_RUNNER_IMAGES', values.TRAINYARD_RUNNER_IMAGES[0], 'the images (with the runner) SageMaker jobs may run in'],
  ].filter(([, value]) => !value);
  if (missing.length > 0)
    throw new ConfigError(`Invalid configuration:\n${missing.map(([name, , what]) => `  ${name}: TRAINYARD_SAGEMAKER=on needs ${what}`).join('\n')}`);
  return {
    roleArn: values.TRAINYARD_SAGEMAKER_ROLE_ARN ?? '',
    instanceType: values.TRAINYARD_SAGEMAKER_INSTANCE_TYPE,
    instanceTypes: [...new Set([values.TRAINYARD_SAGEMAKER_INSTANCE_TYPE, ...(values.TRAINYARD_SAGEMAKER_INSTANCE_TYPES ?? [])])],
    outputS3Uri: values.TRAINYARD_SAGEMAKER_OUTPUT_S3_URI ?? '',
    checkpointS3Uri: values.TRAINYARD_SAGEMAKER_CHECKPOINT_S3_URI ?? '',
    region: values.TRAINYARD_SAGEMAKER_REGION,
    endpoint: values.TRAINYARD_SAGEMAKER_ENDPOINT,
    volumeSizeGb: values.TRAINYARD_SAGEMAKER_VOLUME_GB,
    pollMs: values.TRAINYARD_SAGEMAKER_POLL_SECONDS * 1_000,
  };
};

const slurmConfig = (values: z.infer<typeof envSchema>): SlurmConfig | undefined => {
  if (values.TRAINYARD_SLURM !== 'on') return undefined;
  if (!values.TRAINYARD_SHARED_DIR) {
    throw new ConfigError(
      'Invalid configuration:\n  TRAINYARD_SHARED_DIR: TRAINYARD_SLURM=on needs the directory on the cluster’s shared filesystem where job directories live',
    );
  }
  const ssh = values.TRAINYARD_SLURM_SSH ? /^([^@]+)@([^:]+)(?::(\d+))?$/.exec(values.TRAINYARD_SLURM_SSH) : null;
  return {
    ssh: ssh
      ? {
          user: ssh[1] ?? '',
          host: ssh[2] ?? '',
          port: Number(ssh[3] ?? 22),
          privateKeyPath: values.TRAINYARD_SLURM_SSH_KEY,
          knownHostsPath: values.TRAINYARD_SLURM_SSH_KNOWN_HOSTS,
        }
      : undefined,
    jobCompLog: values.TRAINYARD_SLURM_JOBCOMP_LOG,
    partition: values.TRAINYARD_SLURM_PARTITION,
    account: values.TRAINYARD_SLURM_ACCOUNT,
    pollMs: values.TRAINYARD_SLURM_POLL_SECONDS * 1_000,
    sharedDir: values.TRAINYARD_SHARED_DIR,
  };
};

export interface ServerConfig {
  /**
   * local: one user's machine, loopback only, the session token. shared: a server a team shares
   * (DATABASE_URL, usually S3): API tokens only, any Host, no session token.
   */
  mode: 'local' | 'shared';
  dataDir: string;
  port: number;
  host: string;
  /** Fixed session token; when absent, the one kept in <dataDir>/session-token (made on first start). */
  token: string | undefined;
  database: { kind: 'pglite'; dataDir: string } | { kind: 'postgresql'; url: string };
  maxBodyBytes: number;
  maxBlobBytes: number;
  artifactStore: ArtifactStoreConfig;
  gc: { graceMs: number; intervalMs: number };
  orchestrator: { enabled: boolean; concurrency: number; graceMs: number };
  /** Seed a labelled synthetic demo dataset into a fresh, empty database. */
  demoData: boolean;
  /**
   * The server's environment, from which trainers receive only the allowed variables
   * (libs/training trainer-env.ts) plus `trainerEnvNames` (TRAINYARD_TRAINER_ENV).
   */
  trainerEnv: Record<string, string | undefined>;
  trainerEnvNames: string[];
  /** Command trainers API-token callers may run (TRAINYARD_ALLOWED_COMMANDS), exact argv. */
  allowedCommands: string[][];
  /** Images Kubernetes and SageMaker jobs may run in (TRAINYARD_RUNNER_IMAGES); the first is the default. */
  runnerImages: string[];
  /** `acceptDatasets`: a shared server takes dataset snapshots' data (TRAINYARD_SYNC_ACCEPT_DATASETS). */
  sync: { retryBaseMs: number; retryMaxMs: number; uploadUrlExpirySeconds: number; acceptDatasets: boolean };
  /** Per-API-token request rate on a shared server (token bucket per instance); null = no limit. */
  rateLimit: { perSecond: number; burst: number } | null;
  /** Jobs with executor `runner-local` run through a runner process on this machine (TRAINYARD_RUNNER_LOCAL=on). */
  runnerLocal: boolean;
  /** Where runners reach this server (TRAINYARD_RUNNER_URL); undefined: its own URL. */
  runnerUrl: string | undefined;
  /** Jobs with executor `kubernetes` (TRAINYARD_KUBERNETES=on): what they may run as; undefined: off. */
  kubernetes: KubernetesConfig | undefined;
  /** Jobs with executor `slurm`: how Slurm is reached, the defaults, and the shared directory job directories live in. */
  slurm: SlurmConfig | undefined;
  /** Jobs with executor `sagemaker` (TRAINYARD_SAGEMAKER=on): the role, instance defaults, S3 paths and where SageMaker is reached. */
  sageMaker: SageMakerConfig | undefined;
  /**
   * models.score: whether ONNX versions are loaded (ONNX Runtime parses model files natively, so a
   * shared server loads pushed ones only when its operator says so), and the loaded-model cache's bound.
   */
  scoring: { onnx: boolean; cacheBytes: number };
  /** The built web UI (Vite output) served at `/`. */
  webDir: string;
  /** The built-in trainers' Node runtime when not this process's own (the desktop app's). */
  trainerRuntime: { execPath: string; args?: string[]; env?: Record<string, string> } | undefined;
  /**
   * Python built-in trainers: the interpreter (TRAINYARD_PYTHON) and the server's own PYTHONPATH
   * entries, kept after the trainer's own on theirs.
   */
  trainerPython: { executable: string; path: string[] };
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
    throw new ConfigError(`Invalid configuration:\n  HOST: the local server only listens on loopback (${LOOPBACK_HOSTS.join(', ')}); got ${values.HOST}`);
  }
  const dataDir = resolve(values.TRAINYARD_DATA_DIR);
  const mode = values.TRAINYARD_MODE ?? (values.DATABASE_URL ? 'shared' : 'local');
  if (mode === 'shared' && !values.DATABASE_URL) {
    throw new ConfigError('Invalid configuration:\n  TRAINYARD_MODE: a shared server needs DATABASE_URL (PostgreSQL)');
  }
  return {
    mode,
    dataDir,
    port: values.PORT,
    host: values.HOST,
    token: values.TRAINYARD_TOKEN,
    database: values.DATABASE_URL ? { kind: 'postgresql', url: values.DATABASE_URL } : { kind: 'pglite', dataDir: resolve(dataDir, 'pglite') },
    maxBodyBytes: values.TRAINYARD_MAX_BODY_BYTES,
    maxBlobBytes: values.TRAINYARD_MAX_BLOB_BYTES,
    artifactStore: artifactStoreConfig(values, dataDir),
    gc: { graceMs: values.TRAINYARD_GC_GRACE_MINUTES * 60_000, intervalMs: values.TRAINYARD_GC_INTERVAL_MINUTES * 60_000 },
    orchestrator: {
      // Local mode trains; a shared server (DATABASE_URL) does not unless asked to.
      enabled: (values.TRAINYARD_ORCHESTRATOR ?? (values.DATABASE_URL ? 'off' : 'on')) === 'on',
      // Default: one concurrent job per 2 cores.
      concurrency: values.TRAINYARD_JOB_CONCURRENCY ?? Math.max(1, Math.floor(availableParallelism() / 2)),
      graceMs: values.TRAINYARD_CANCEL_GRACE_SECONDS * 1_000,
    },
    demoData: (values.TRAINYARD_DEMO_DATA ?? (values.DATABASE_URL ? 'off' : 'on')) === 'on',
    scoring: { onnx: (values.TRAINYARD_SCORING ?? (mode === 'shared' ? 'off' : 'on')) === 'on', cacheBytes: values.TRAINYARD_SCORING_CACHE_MB * 1024 * 1024 },
    trainerEnv: { ...env },
    trainerEnvNames: values.TRAINYARD_TRAINER_ENV,
    allowedCommands: values.TRAINYARD_ALLOWED_COMMANDS,
    runnerImages: values.TRAINYARD_RUNNER_IMAGES,
    webDir: resolve(values.TRAINYARD_WEB_DIR ?? installPath('apps', 'web', 'dist')),
    trainerRuntime: values.TRAINYARD_TRAINER_RUNTIME,
    trainerPython: { executable: values.TRAINYARD_PYTHON, path: (env['PYTHONPATH'] ?? '').split(delimiter).filter((entry) => entry !== '') },
    sync: {
      retryBaseMs: values.TRAINYARD_SYNC_RETRY_BASE_MS,
      retryMaxMs: values.TRAINYARD_SYNC_RETRY_MAX_MS,
      uploadUrlExpirySeconds: values.TRAINYARD_UPLOAD_URL_EXPIRY_SECONDS,
      acceptDatasets: values.TRAINYARD_SYNC_ACCEPT_DATASETS === 'on',
    },
    runnerLocal: values.TRAINYARD_RUNNER_LOCAL === 'on',
    runnerUrl: values.TRAINYARD_RUNNER_URL?.replace(/\/$/, ''),
    slurm: slurmConfig(values),
    kubernetes:
      values.TRAINYARD_KUBERNETES === 'on'
        ? {
            namespaces: values.TRAINYARD_K8S_NAMESPACES,
            serviceAccounts: values.TRAINYARD_K8S_SERVICE_ACCOUNTS,
            runnerPath: values.TRAINYARD_K8S_RUNNER_PATH,
            ttlSecondsAfterFinished: values.TRAINYARD_K8S_TTL_SECONDS,
          }
        : undefined,
    sageMaker: sageMakerConfig(values),
    rateLimit:
      values.TRAINYARD_RATE_LIMIT_PER_SECOND > 0 ? { perSecond: values.TRAINYARD_RATE_LIMIT_PER_SECOND, burst: values.TRAINYARD_RATE_LIMIT_BURST } : null,
  };
};

export interface ClientEnv {
  url: string | undefined;
  token: string | undefined;
  dataDir: string | undefined;
}

/** What the CLI's client commands read from the environment (the server's own config is above). */
export const loadClientEnv = (env: NodeJS.ProcessEnv = process.env): ClientEnv => ({
  url: env['TRAINYARD_URL'],
  token: env['TRAINYARD_TOKEN'],
  dataDir: env['TRAINYARD_DATA_DIR'],
});

/** The server's config for a data dir the CLI names (`--data-dir`), the rest from the environment: where a direct backup finds the blobs. */
export const loadConfigForDataDir = (dataDir: string, env: NodeJS.ProcessEnv = process.env): ServerConfig =>
  loadConfig({ ...env, TRAINYARD_DATA_DIR: dataDir });
