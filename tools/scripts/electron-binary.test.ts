import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { electronBinaryProblem } from './electron-binary';

const dir = mkdtempSync(join(tmpdir(), 'trainyard-electron-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the Electron binary check behind `npm run desktop`', () => {
  it('says how to get the binary when the package was installed without it', () => {
    expect(electronBinaryProblem(dir)).toMatch(/not installed[\s\S]*node node_modules\/electron\/install\.js[\s\S]*npm start/);
    writeFileSync(join(dir, 'path.txt'), 'electron'); // recorded, but the download never landed
    expect(electronBinaryProblem(dir)).toMatch(/not installed/);
  });

  it('is satisfied once the binary the package names exists', () => {
    writeFileSync(join(dir, 'path.txt'), 'electron');
    mkdirSync(join(dir, 'dist'), { recursive: true });
    writeFileSync(join(dir, 'dist', 'electron'), '');
    expect(electronBinaryProblem(dir)).toBeUndefined();
  });
});
