import type { BlobStore } from '@trainyard/artifacts';
import type { Logger } from '@trainyard/core';
import { createRunnerExecutor, type JobTokenIssuer, type RunnerHub, type TrainerExecutor } from '@trainyard/training';
import type { KubernetesConfig } from './config';

/**
 * The Kubernetes executor for TRAINYARD_KUBERNETES=on: the runner executor with a launcher that
 * runs each attempt as a Kubernetes Job (docs/kubernetes.md). The kubeconfig is Kubernetes' own
 * default search: KUBECONFIG, ~/.kube/config, or the service account of the pod this server runs
 * in. Loaded only when configured: a server without Kubernetes never loads the client library.
 */
export const createConfiguredKubernetesExecutor = async (
  config: KubernetesConfig,
  deps: { images: readonly string[]; tokens: JobTokenIssuer; blobs: Pick<BlobStore, 'put' | 'stat'>; hub: RunnerHub; serverUrl: () => string; logger: Logger },
): Promise<TrainerExecutor> => {
  const [{ KubeConfig }, { createKubernetesLauncher }] = await Promise.all([import('@kubernetes/client-node'), import('@trainyard/kubernetes')]);
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromDefault();
  return createRunnerExecutor({
    kind: 'kubernetes',
    launcher: createKubernetesLauncher({
      kubeConfig,
      namespaces: config.namespaces,
      serviceAccounts: config.serviceAccounts,
      images: deps.images,
      runnerPath: config.runnerPath,
      ttlSecondsAfterFinished: config.ttlSecondsAfterFinished,
      logger: deps.logger,
    }),
    tokens: deps.tokens,
    blobs: deps.blobs,
    hub: deps.hub,
    serverUrl: deps.serverUrl,
    logger: deps.logger,
  });
};
