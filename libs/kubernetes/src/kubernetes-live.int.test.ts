import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { KubeConfig } from '@kubernetes/client-node';
import type { RunnerLaunch, SchedulerState } from '@trainyard/training';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createKubernetesLauncher } from './kubernetes-launcher';

// Opt-in: the launcher against a REAL cluster, only when TRAINYARD_LIVE_KUBECONFIG names a
// kubeconfig (docs/kubernetes.md, "Verified here, and not"). It checks what the fake cannot: that
// a real API server accepts our Job (podFailurePolicy and all) and Secret (with its
// ownerReference), that RBAC suffices, and what a real scheduler and kubelet say. No Trainyard
// server needs to be reachable from the cluster: the image (TRAINYARD_LIVE_K8S_IMAGE, default
// node:22-alpine) has no runner, so `node /opt/trainyard/runner.js` fails at once — the Job
// must then fail by its podFailurePolicy with node's error in the followed log.

const kubeconfig = process.env['TRAINYARD_LIVE_KUBECONFIG'];
const namespace = process.env['TRAINYARD_LIVE_K8S_NAMESPACE'] ?? 'default';
const serviceAccount = process.env['TRAINYARD_LIVE_K8S_SERVICE_ACCOUNT'] ?? 'default';
const image = process.env['TRAINYARD_LIVE_K8S_IMAGE'] ?? 'node:22-alpine';
const SKIPPED =
  'live Kubernetes tests skipped: TRAINYARD_LIVE_KUBECONFIG is not set (no cluster is reachable from this machine; set it, and optionally TRAINYARD_LIVE_K8S_NAMESPACE, _SERVICE_ACCOUNT, _IMAGE, to run them)';
const root = mkdtempSync(join(tmpdir(), 'trainyard-k8s-live-'));

afterAll(() => rmSync(root, { recursive: true, force: true }));

const launchOf = (extra: Partial<RunnerLaunch> = {}): RunnerLaunch => {
  const jobId = randomUUID();
  const jobDir = join(root, jobId);
  mkdirSync(join(jobDir, 'logs'), { recursive: true });
  return {
    jobId,
    attempt: 1,
    jobDir,
    serverUrl: 'https://trainyard.invalid',
    token: 'tyj_live-test',
    env: {},
    resources: { cpus: 0.1, memoryMb: 128, timeoutSeconds: 300 },
    graceMs: 1_000,
    ...extra,
  };
};

describe.skipIf(!kubeconfig)(kubeconfig ? `against the live cluster of ${kubeconfig} (namespace ${namespace})` : SKIPPED, () => {
  const launcher = () => {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(kubeconfig ?? '');
    return createKubernetesLauncher({ kubeConfig, namespaces: [namespace], serviceAccounts: [serviceAccount], images: [image], ttlSecondsAfterFinished: 300 });
  };

  it('a real API server accepts the Job and Secret; a runner that cannot start fails the Job by its podFailurePolicy, its error in runner.log', async () => {
    const launch = launchOf();
    const handle = await launcher().launch(launch);
    expect(await handle.gone).toMatch(/failed \(PodFailurePolicy/);
    await vi.waitFor(() => expect(readFileSync(join(launch.jobDir, 'logs', 'runner.log'), 'utf8')).toMatch(/Cannot find module/), { timeout: 30_000 });
  }, 300_000);

  it('a pod asking for 1000 cpus is Unschedulable; the cancel (Foreground delete) removes the Job', async () => {
    const states: SchedulerState[] = [];
    const handle = await launcher().launch(launchOf({ resources: { cpus: 1000 }, onState: (state) => states.push(state) }));
    await vi.waitFor(() => expect(states.at(-1)?.reason).toMatch(/^Unschedulable/), { timeout: 60_000, interval: 500 });
    handle.signal('SIGTERM');
    expect(await handle.gone).toMatch(/deleted/);
  }, 120_000);
});
