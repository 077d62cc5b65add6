import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DomainError } from '@trainyard/core';
import { Client, type ConnectConfig } from 'ssh2';
import type { SlurmCommandRunner } from '../slurm-cli.port';
import { DEFAULT_SLURM_COMMAND_TIMEOUT_MS } from './local-runner';
import { remoteCommandLine } from './shell-words';

export interface SshSlurmRunnerOptions {
  host: string;
  user: string;
  port?: number;
  /** An unencrypted private key (OpenSSH or PEM) … */
  privateKeyPath?: string;
  /** … or an ssh-agent's socket (the app passes SSH_AUTH_SOCK). */
  agent?: string;
  /**
   * The login node's host key must be known: its `SHA256:…` fingerprint (as `ssh-keygen -lf`
   * prints it), or a known_hosts file (default ~/.ssh/known_hosts, looked up with
   * `ssh-keygen -F`, so hashed entries and `[host]:port` work).
   */
  hostKeySha256?: string;
  knownHostsPath?: string;
  /** Set for every command on the login node (e.g. SLURM_CONF), with `env`. */
  env?: Record<string, string>;
  timeoutMs?: number;
  connectTimeoutMs?: number;
}

export interface SshSlurmRunner extends SlurmCommandRunner {
  /** Ends the SSH connection (the next command opens a new one). */
  close(): Promise<void>;
}

const fingerprint = (key: Buffer): string => `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;

/** The base64 key blobs known_hosts holds for host:port (`ssh-keygen -F`; exit 1: none). */
const knownKeys = (path: string, host: string, port: number): Promise<string[]> =>
  new Promise((resolve) => {
    const entry = port === 22 ? host : `[${host}]:${port}`;
    execFile('ssh-keygen', ['-F', entry, '-f', path], { encoding: 'utf8', timeout: 10_000 }, (error, stdout) => {
      if (error) return resolve([]);
      resolve(
        stdout
          .split('\n')
          .filter((line) => line !== '' && !line.startsWith('#'))
          .map((line) => line.split(/\s+/)[2] ?? '')
          .filter(Boolean),
      );
    });
  });

/**
 * Runs Slurm's tools on a login node over SSH (ssh2, one connection reused for every command,
 * reopened after it drops). argv is quoted for the remote shell word by word; `env` and `cwd` go
 * in front (`cd … && env SLURM_CONF=… sbatch …`). An unknown or changed host key is refused.
 */
export const createSshSlurmRunner = (options: SshSlurmRunnerOptions): SshSlurmRunner => {
  const port = options.port ?? 22;
  const where = `ssh ${options.user}@${options.host}${port === 22 ? '' : `:${port}`}`;
  const knownHostsPath = options.knownHostsPath ?? join(homedir(), '.ssh', 'known_hosts');
  let connection: Promise<Client> | undefined;
  let hostKeyProblem: string | undefined;

  const unavailable = (message: string, details: Record<string, unknown> = {}): DomainError =>
    new DomainError('UNAVAILABLE', `${message} (${where})`, { where, ...details });

  const connect = (): Promise<Client> => {
    const client = new Client();
    const config: ConnectConfig = {
      host: options.host,
      port,
      username: options.user,
      readyTimeout: options.connectTimeoutMs ?? 20_000,
      keepaliveInterval: 15_000,
      hostVerifier: (key: Buffer, verify: (valid: boolean) => void) => {
        const presented = fingerprint(key);
        if (options.hostKeySha256 !== undefined) {
          hostKeyProblem = presented === options.hostKeySha256 ? undefined : `host key ${presented} is not the expected ${options.hostKeySha256}`;
          return verify(hostKeyProblem === undefined);
        }
        void knownKeys(knownHostsPath, options.host, port).then((keys) => {
          const base64 = key.toString('base64');
          hostKeyProblem = keys.includes(base64)
            ? undefined
            : keys.length === 0
              ? `host key ${presented} is not in ${knownHostsPath}`
              : `host key ${presented} does not match ${knownHostsPath} (changed?)`;
          verify(hostKeyProblem === undefined);
        });
      },
    };
    if (options.privateKeyPath !== undefined) config.privateKey = readFileSync(options.privateKeyPath);
    else if (options.agent !== undefined) config.agent = options.agent;
    return new Promise((resolve, reject) => {
      client.once('ready', () => resolve(client));
      client.once('error', (error) => {
        connection = undefined;
        reject(unavailable(`cannot connect: ${hostKeyProblem ?? error.message}`));
      });
      client.on('close', () => {
        connection = undefined;
      });
      client.connect(config);
    });
  };

  const exec = (client: Client, command: string, timeoutMs: number) =>
    new Promise<{ stdout: string; stderr: string; exitCode: number }>((resolve, reject) => {
      client.exec(command, (error, stream) => {
        if (error) return reject(unavailable(`cannot run a command: ${error.message}`));
        const stdout: Buffer[] = [];
        const stderr: Buffer[] = [];
        let exitCode: number | undefined;
        let signal: string | undefined;
        const timer = setTimeout(() => {
          stream.signal('KILL');
          stream.close();
          reject(unavailable(`no answer within ${timeoutMs} ms: ${command.slice(0, 200)}`, { timeoutMs }));
        }, timeoutMs);
        stream.on('data', (chunk: Buffer) => stdout.push(chunk));
        stream.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
        stream.on('exit', (code: number | null, signalName?: string) => {
          exitCode = code ?? undefined;
          signal = signalName ?? undefined;
        });
        stream.on('close', () => {
          clearTimeout(timer);
          if (exitCode === undefined)
            return reject(unavailable(`command ended without an exit code${signal ? ` (signal ${signal})` : ''}: ${command.slice(0, 200)}`));
          resolve({ stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8'), exitCode });
        });
      });
    });

  return {
    where,
    async run(argv, runOptions = {}) {
      const command = remoteCommandLine(argv, { ...(runOptions.cwd === undefined ? {} : { cwd: runOptions.cwd }), env: options.env ?? {} });
      connection ??= connect();
      const client = await connection;
      return exec(client, command, runOptions.timeoutMs ?? options.timeoutMs ?? DEFAULT_SLURM_COMMAND_TIMEOUT_MS);
    },
    async close() {
      const pending = connection;
      connection = undefined;
      if (!pending) return;
      const client = await pending.catch(() => undefined);
      if (!client) return;
      await new Promise<void>((resolve) => {
        client.once('close', () => resolve());
        client.end();
      });
    },
  };
};
