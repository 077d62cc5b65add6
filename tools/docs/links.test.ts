import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

// Every relative link in README.md and docs/*.md must point to a file that exists, so a moved
// or renamed page breaks the build. Anchors (#…) and external URLs are not checked.
const root = resolve(__dirname, '../..');
const pages = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];

/** Targets of inline links and images, `[text](target)`, outside fenced code blocks. */
const linkTargets = (markdown: string): string[] =>
  [...markdown.replace(/^```[\s\S]*?^```/gm, '').matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((match) => match[1] ?? '');

describe('documentation links', () => {
  it('finds the pages', () => {
    expect(pages).toContain('docs/architecture.md');
  });

  it.each(pages)('%s links only to files that exist', (page) => {
    const broken = linkTargets(readFileSync(join(root, page), 'utf8'))
      .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target) && !target.startsWith('#'))
      .map((target) => decodeURIComponent(target.split('#')[0] ?? ''))
      .filter((path) => !existsSync(resolve(root, dirname(page), path)));
    expect(broken).toEqual([]);
  });
});
