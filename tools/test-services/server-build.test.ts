import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { staleSource } from './server-build';

const scratch = mkdtempSync(join(tmpdir(), 'trainyard-server-build-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('the process tests refuse a server build older than its sources', () => {
  it('names a source changed after the build, or gone, by the source maps', () => {
    const dist = join(scratch, 'apps', 'server', 'dist');
    const source = join(scratch, 'libs', 'x', 'src', 'x.ts');
    mkdirSync(dist, { recursive: true });
    mkdirSync(join(scratch, 'libs', 'x', 'src'), { recursive: true });
    writeFileSync(source, 'export {};\n');
    writeFileSync(join(dist, 'main.js.map'), JSON.stringify({ version: 3, sources: ['../../../libs/x/src/x.ts'], mappings: '' }));
    const built = new Date();
    utimesSync(source, new Date(built.getTime() - 60_000), new Date(built.getTime() - 60_000));
    expect(staleSource(dist)).toBeUndefined();

    utimesSync(source, new Date(built.getTime() + 60_000), new Date(built.getTime() + 60_000));
    expect(staleSource(dist)).toBe(source);

    rmSync(source);
    expect(staleSource(dist)).toBe(source);
  });
});
