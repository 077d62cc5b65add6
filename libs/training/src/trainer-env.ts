/**
 * The environment a trainer starts with: never the server's own environment (which holds the
 * session token, DATABASE_URL, cloud credentials …), only
 *  - the variables below, copied from the server's environment when set;
 *  - names the operator adds (`TRAINYARD_TRAINER_ENV`), copied the same way;
 *  - what the runtime of a built-in trainer needs (e.g. ELECTRON_RUN_AS_NODE in the desktop app);
 *  - what the protocol defines (TRAINYARD_JOB_DIR; the executor adds TRAINYARD_RUN_ID), set last.
 * Pure: no process.env reads, so it is tested with plain objects.
 */

/** Exact names passed through. */
export const TRAINER_ENV_NAMES: readonly string[] = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'LANG',
  'LANGUAGE',
  'TZ',
  'TMPDIR',
  'TEMP',
  'TMP',
  'TERM',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'ALL_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
  'all_proxy',
  'PYTHONPATH',
  'PYTHONHOME',
  'VIRTUAL_ENV',
  'LD_LIBRARY_PATH',
  'OMP_NUM_THREADS',
  'MKL_NUM_THREADS',
  'OPENBLAS_NUM_THREADS',
];

/** Name prefixes passed through: locale, GPU runtimes, conda. */
export const TRAINER_ENV_PREFIXES: readonly string[] = ['LC_', 'CUDA_', 'NVIDIA_', 'ROCM_', 'HIP_', 'CONDA_'];

/** Variables the protocol sets for every trainer (see PROTOCOL.md). */
export const PROTOCOL_ENV_NAMES: readonly string[] = ['TRAINYARD_JOB_DIR', 'TRAINYARD_RUN_ID'];

/** A name an operator may add to the pass-through list: a plain environment variable name. */
export const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const passesThrough = (name: string, extra: readonly string[] = []): boolean =>
  TRAINER_ENV_NAMES.includes(name) || TRAINER_ENV_PREFIXES.some((prefix) => name.startsWith(prefix)) || extra.includes(name);

export interface TrainerEnvInput {
  /** The server's environment (the source; only allowed names are read from it). */
  source: Readonly<Record<string, string | undefined>>;
  /** Extra names the operator allowed (TRAINYARD_TRAINER_ENV). */
  extra?: readonly string[];
  /** What the trainer's runtime needs, e.g. { ELECTRON_RUN_AS_NODE: '1' }. */
  runtime?: Readonly<Record<string, string>>;
  /** The protocol's variables: { TRAINYARD_JOB_DIR }. */
  protocol: Readonly<Record<string, string>>;
}

export const trainerEnvironment = ({ source, extra = [], runtime = {}, protocol }: TrainerEnvInput): Record<string, string> => {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(source)) {
    if (value !== undefined && passesThrough(name, extra)) env[name] = value;
  }
  return { ...env, ...runtime, ...protocol };
};
