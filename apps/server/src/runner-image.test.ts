import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config';

// apps/runner/Dockerfile is never built here (no container engine): this holds it to what the
// launchers and the build assume (docs/runner.md, "The runner image").
const dockerfile = readFileSync(fileURLToPath(new URL('../../runner/Dockerfile', import.meta.url)), 'utf8');
const instructions = dockerfile.split('\n').filter((line) => /^[A-Z]+\s/.test(line));

describe('the runner image', () => {
  it('copies the runner the build writes to the path Kubernetes pods start, and starts it as its entry point (SageMaker runs it with `train`)', () => {
    const runnerPath = loadConfig({ TRAINYARD_KUBERNETES: 'on', TRAINYARD_RUNNER_IMAGES: 'ghcr.io/lab/trainer:1' }).kubernetes?.runnerPath;
    expect(runnerPath).toBe('/opt/trainyard/runner.js');
    expect(instructions).toContain(`COPY apps/runner/dist/runner.js ${runnerPath}`);
    expect(instructions).toContain(`ENTRYPOINT ["node", "${runnerPath}"]`);
    // The build writes exactly that file (apps/runner/vite.config.ts: entry `runner`, named `[name].js`, in dist/).
    const build = readFileSync(fileURLToPath(new URL('../../runner/vite.config.ts', import.meta.url)), 'utf8');
    expect(build).toMatch(/input: \{ runner: /);
    expect(build).toMatch(/entryFileNames: '\[name\]\.js'/);
    expect(instructions[0]).toMatch(/^FROM node:22-/);
  });
});
