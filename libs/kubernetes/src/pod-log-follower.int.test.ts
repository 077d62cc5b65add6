import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig, Log } from '@kubernetes/client-node';
import { startFakeKubernetes } from '@trainyard/test-services';
import { describe, expect, it } from 'vitest';
import { followPodLog } from './pod-log-follower';

describe('following a pod log', () => {
  it('survives its job directory being removed mid-follow: the error is reported, nothing is thrown from a callback or timer', async () => {
    const fake = await startFakeKubernetes({ images: [] });
    const root = mkdtempSync(join(tmpdir(), 'trainyard-log-follow-'));
    const dir = join(root, 'job', 'logs');
    await import('node:fs/promises').then((fs) => fs.mkdir(dir, { recursive: true }));
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions({
      clusters: [{ name: 'fake', server: fake.url, skipTLSVerify: true }],
      users: [{ name: 'u' }],
      contexts: [{ name: 'c', cluster: 'fake', user: 'u' }],
      currentContext: 'c',
    });
    const errors: unknown[] = [];
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown): void => void uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    try {
      const follower = followPodLog({
        log: new Log(kubeConfig),
        namespace: 'default',
        pod: 'no-such-pod',
        container: 'runner',
        file: join(dir, 'runner.log'),
        positionFile: join(root, 'job', 'runner', 'attempt-1.log-position'),
        ended: () => true,
        onError: (error) => errors.push(error),
      });
      rmSync(join(root, 'job'), { recursive: true, force: true });
      await follower.done;
      await new Promise((resolve) => setTimeout(resolve, 700));
      expect(uncaught).toEqual([]);
      expect(errors.map((error) => (error as { code?: string }).code)).toContain('ENOENT');
    } finally {
      process.off('uncaughtException', onUncaught);
      await fake.stop();
      rmSync(root, { recursive: true, force: true });
    }
  });
});
