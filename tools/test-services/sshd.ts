import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port';

const SSHD = '/usr/sbin/sshd';

/** Debian's OpenSSH server on 127.0.0.1, with its own host key, config and authorized key. */
export interface SshTestServer {
  host: '127.0.0.1';
  port: number;
  /** root: the user the tests run as, so commands over SSH see the same machine and Slurm. */
  user: string;
  /** The client key sshd accepts (unencrypted ed25519, OpenSSH format). */
  privateKeyPath: string;
  /** A known_hosts file holding this server's host key as `[127.0.0.1]:port`. */
  knownHostsPath: string;
  /** The host key's fingerprint, `SHA256:…`. */
  hostKeySha256: string;
  /** A client key sshd does not accept. */
  strangerKeyPath: string;
  log(): string;
  /** Stops sshd by its pid and waits for it; deletes the directory. */
  stop(): Promise<void>;
}

/**
 * Why SSH tests cannot run here, or undefined when they can. With REQUIRE_SSHD=1 (CI) a missing
 * sshd is a failure, not a skip.
 */
export const sshdUnavailableReason = (): string | undefined => {
  let reason: string | undefined;
  if (!existsSync(SSHD)) reason = `${SSHD} missing (apt-get install openssh-server)`;
  else if (process.getuid?.() !== 0) reason = 'the test sshd runs as root';
  else {
    try {
      execFileSync('which', ['ssh-keygen'], { stdio: 'ignore' });
    } catch {
      reason = 'ssh-keygen not on PATH';
    }
  }
  if (reason && process.env['REQUIRE_SSHD'] === '1') throw new Error(`${reason} (REQUIRE_SSHD=1)`);
  return reason;
};

const keygen = (path: string): void => {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'trainyard-test', '-f', path], { stdio: 'pipe' });
};

const listening = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

/** sshd in the foreground (-D) on a free loopback port, from a config of its own in a temp dir. */
export const startSshd = async (): Promise<SshTestServer> => {
  const reason = sshdUnavailableReason();
  if (reason) throw new Error(reason);
  const dir = mkdtempSync(join(tmpdir(), 'trainyard-sshd-'));
  chmodSync(dir, 0o700);
  // sshd's privilege separation directory; a Debian install without systemd may lack it.
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const hostKey = join(dir, 'host_ed25519');
  const clientKey = join(dir, 'client_ed25519');
  const strangerKey = join(dir, 'stranger_ed25519');
  for (const key of [hostKey, clientKey, strangerKey]) keygen(key);
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(`${clientKey}.pub`));
  const port = await freePort();
  const user = execFileSync('id', ['-un'], { encoding: 'utf8' }).trim();
  const config = join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      `AllowUsers ${user}`,
      'PermitRootLogin prohibit-password',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      // The key files live under /tmp (world-writable): the ownership walk would refuse them.
      'StrictModes no',
      'LogLevel VERBOSE',
      '',
    ].join('\n'),
  );
  const hostKeyLine = readFileSync(`${hostKey}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
  const knownHostsPath = join(dir, 'known_hosts');
  writeFileSync(knownHostsPath, `[127.0.0.1]:${port} ${hostKeyLine}\n`);
  const hostKeySha256 = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${hostKey}.pub`], { encoding: 'utf8' }).split(/\s+/)[1] ?? '';

  let output = '';
  const child: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 15_000;
  while (!(await listening(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`sshd did not start:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    host: '127.0.0.1',
    port,
    user,
    privateKeyPath: clientKey,
    knownHostsPath,
    hostKeySha256,
    strangerKeyPath: strangerKey,
    log: () => output,
    async stop() {
      if (child.exitCode === null && child.pid !== undefined) {
        process.kill(child.pid, 'SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
};
