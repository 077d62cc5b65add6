import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { builtLayout, entryFile, entryNodeArgs, installPath, runtimeLayout, serverEntries } from './runtime-layout';

const repo = resolve(import.meta.dirname, '..', '..', '..');

describe('runtime layout', () => {
  it('from sources (as tests run): not built, rooted at the repository', () => {
    expect(runtimeLayout).toEqual({ built: false, root: repo });
    expect((JSON.parse(readFileSync(installPath('package.json'), 'utf8')) as { name: string }).name).toBe('trainyard');
    expect(existsSync(installPath('prisma', 'migrations'))).toBe(true);
  });

  it('from sources, entry points run as TypeScript through tsx (by absolute URL) or as the .mjs that registers it', () => {
    const [flag, loader, file] = entryNodeArgs(serverEntries.textDetectorTrainer);
    expect(flag).toBe('--import');
    expect(fileURLToPath(loader ?? '')).toContain(join('node_modules', 'tsx'));
    expect(file).toBe(join(repo, 'libs', 'trainers', 'src', 'text-detector', 'main.ts'));
    expect(entryNodeArgs(serverEntries.importWorker)).toEqual([join(repo, 'libs', 'datasets', 'src', 'pair-preparation.thread.mjs')]);
    for (const entry of Object.values(serverEntries)) {
      expect(existsSync(entryFile(entry))).toBe(true);
      expect(existsSync(join(repo, entry.module))).toBe(true);
    }
  });

  it('built, entry points are the build output run with source maps, and never name tsx', () => {
    const layout = builtLayout('/opt/Trainyard/resources/app');
    expect(entryFile(serverEntries.main, layout)).toBe('/opt/Trainyard/resources/app/apps/server/dist/main.js');
    expect(entryNodeArgs(serverEntries.textDetectorTrainer, layout)).toEqual([
      '--enable-source-maps',
      '/opt/Trainyard/resources/app/apps/server/dist/text-detector-trainer.js',
    ]);
    for (const entry of Object.values(serverEntries)) expect(entryNodeArgs(entry, layout).join(' ')).not.toMatch(/tsx|\.ts\b/);
  });
});
