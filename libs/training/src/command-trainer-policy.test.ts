import { describe, expect, it } from 'vitest';
import { commandRefusal, runRefusal } from './command-trainer-policy';

const allowed = [['/opt/train/bin/train', '--config', 'default.yaml']];
const local = { shared: false, allowedCommands: [] };
const shared = { shared: true, allowedCommands: allowed };

describe('command trainer policy', () => {
  it('lets the local session run any command, with a cwd', () => {
    expect(commandRefusal(local, { kind: 'command', command: ['python', 'train.py'], cwd: '/home/alice/project' }, 'local')).toBeUndefined();
    expect(runRefusal(local, { kind: 'command', command: ['python', 'train.py'] })).toBeUndefined();
  });

  it('refuses API-token callers a command unless it matches an allowlist entry exactly, without cwd', () => {
    expect(commandRefusal(shared, { kind: 'command', command: ['/bin/sh', '-c', 'env'] }, 'token:alice')).toMatch(/only be started from the local session/);
    expect(commandRefusal(shared, { kind: 'command', command: ['/opt/train/bin/train', '--config'] }, 'token:alice')).toMatch(/allowlist/);
    expect(commandRefusal(shared, { kind: 'command', command: ['/opt/train/bin/train', '--config', 'default.yaml', '--x'] }, 'token:alice')).toMatch(
      /allowlist/,
    );
    expect(commandRefusal(shared, { kind: 'command', command: ['/opt/train/bin/train', '--config', 'default.yaml'] }, 'token:alice')).toBeUndefined();
    expect(commandRefusal(shared, { kind: 'command', command: ['/opt/train/bin/train', '--config', 'default.yaml'], cwd: '/tmp' }, 'token:alice')).toMatch(
      /cwd/,
    );
    expect(commandRefusal(local, { kind: 'command', command: ['/bin/true'] }, 'token:alice')).toMatch(/allowlist/);
  });

  it('allows built-in trainers for everyone', () => {
    expect(commandRefusal(shared, { kind: 'builtin', name: 'example' }, 'token:alice')).toBeUndefined();
    expect(runRefusal(shared, { kind: 'builtin', name: 'example' })).toBeUndefined();
  });

  it('on a shared server, refuses to run a queued command that is not allowed, whoever queued it', () => {
    expect(runRefusal(shared, { kind: 'command', command: ['/bin/sh', '-c', 'env'] })).toMatch(/^Refused to run this command trainer on a shared server/);
    expect(commandRefusal(shared, { kind: 'command', command: ['/bin/sh'] }, 'local')).toMatch(/allowlist/);
    expect(runRefusal(shared, { kind: 'command', command: allowed[0] as string[] })).toBeUndefined();
  });
});
