import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * `@trainyard/*` import paths resolved exactly as TypeScript resolves them (tsconfig.base.json),
 * for Vite and Vitest. Longest first: Vite matches aliases by prefix, and
 * `@trainyard/training/testing` must not be taken for `@trainyard/training` + `/testing`.
 */
export const trainyardAliases = (repoRoot: string): Array<{ find: string; replacement: string }> => {
  const { compilerOptions } = JSON.parse(readFileSync(resolve(repoRoot, 'tsconfig.base.json'), 'utf8')) as {
    compilerOptions: { paths: Record<string, string[]> };
  };
  return Object.entries(compilerOptions.paths)
    .sort(([a], [b]) => b.length - a.length)
    .map(([find, [target]]) => ({ find, replacement: resolve(repoRoot, target ?? '') }));
};
