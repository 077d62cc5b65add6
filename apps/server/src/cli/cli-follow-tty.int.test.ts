import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { builtServerMain } from '@trainyard/test-services';
import { describe, expect, it } from 'vitest';
import { useLocalTestServer } from '../test-support/local-test-server';

const t = useLocalTestServer();
const repoRoot = fileURLToPath(new URL('../../../..', import.meta.url));
const hasScript = spawn('script', ['--version']).once('error', () => undefined);
const scriptAvailable = await new Promise<boolean>((resolve) => {
  hasScript.once('exit', (code) => resolve(code === 0));
  hasScript.once('error', () => resolve(false));
});

/** Runs the built CLI on a pseudo-terminal (util-linux `script`), so it draws its progress bar. */
const onTerminal = (args: string[]): Promise<string> =>
  new Promise((resolve) => {
    const command = [process.execPath, '--enable-source-maps', builtServerMain(), ...args].map((part) => `'${part}'`).join(' ');
    const child = spawn('script', ['-qec', command, '/dev/null'], { cwd: repoRoot, env: { ...process.env, TRAINYARD_DATA_DIR: t.dataDir, COLUMNS: '120' } });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', () => resolve(output));
  });

describe.skipIf(!scriptAvailable)('`jobs start --follow` on a terminal', () => {
  it('draws its progress bar with the message, never a literal placeholder, between metric lines', async () => {
    const output = await onTerminal(['jobs', 'start', '--name', 'tty', '--trainer', 'example', '--param', 'epochs=3', '--param', 'stepDelayMs=50', '--follow']);
    expect(output).toContain('metric ');
    expect(output).toMatch(/Training \[[^\]]*\] \d+%/);
    expect(output).not.toContain('{message}');
  });
});
