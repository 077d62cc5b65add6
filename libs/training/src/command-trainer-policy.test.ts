import { describe, expect, it } from 'vitest';
import { commandRefusal, imageRefusal, misplacedResource, runRefusal } from './command-trainer-policy';

const allowed = [['/opt/train/bin/train', '--config', 'default.yaml']];
const local = { shared: false, allowedCommands: [] };
const shared = { shared: true, allowedCommands: allowed };

describe('command trainer policy', () => {
  it('lets the local session run any command, with a cwd', () => {
    expect(commandRefusal(local, { kind: 'command', command: ['python', 'train.py'], cwd: '/home/alice/project' }, 'local')).toBeUndefined();
    expect(runRefusal(local, { kind: 'command', command: ['python', 'train.py'] })).toBeUndefined();
  });

  it('refuses API-token callers a command unless it matches an allowlist entry exactly, without cwd', () => {
    expect(commandRefusal(shared, { kind: 'command', command: ['/bin/sh', '-c', 'env'] }, 'token:alice')).toMatch(/only be started from the local session/);
    expect(commandRefusal(shared, { kind: 'command', command: ['/opt/train/bin/train', '--config'] }, 'token:alice')).toMatch(/allowlist/);
    expect(commandRefusal(shared, { kind: 'command', command: ['/opt/train/bin/train', '--config', 'default.yaml', '--x'] }, 'token:alice')).toMatch(
      /allowlist/,
    );
    expect(commandRefusal(shared, { kind: 'command', command: ['/opt/train/bin/train', '--config', 'default.yaml'] }, 'token:alice')).toBeUndefined();
    expect(commandRefusal(shared, { kind: 'command', command: ['/opt/train/bin/train', '--config', 'default.yaml'], cwd: '/tmp' }, 'token:alice')).toMatch(
      /cwd/,
    );
    expect(commandRefusal(local, { kind: 'command', command: ['/bin/true'] }, 'token:alice')).toMatch(/allowlist/);
  });

  it('allows built-in trainers for everyone', () => {
    expect(commandRefusal(shared, { kind: 'builtin', name: 'example' }, 'token:alice')).toBeUndefined();
    expect(runRefusal(shared, { kind: 'builtin', name: 'example' })).toBeUndefined();
  });

  it('on a shared server, refuses to run a queued command that is not allowed, whoever queued it', () => {
    expect(runRefusal(shared, { kind: 'command', command: ['/bin/sh', '-c', 'env'] })).toMatch(/^Refused to run this command trainer on a shared server/);
    expect(commandRefusal(shared, { kind: 'command', command: ['/bin/sh'] }, 'local')).toMatch(/allowlist/);
    expect(runRefusal(shared, { kind: 'command', command: allowed[0] as string[] })).toBeUndefined();
  });

  describe('container executors (kubernetes, sagemaker)', () => {
    const images = ['registry.example.org/trainers/detector:1.4', 'registry.example.org/trainers/torch@sha256:' + 'a'.repeat(64)];
    const team = { ...shared, containerImages: images };

    it('let any caller run any command, since it runs inside the image and not on this machine', () => {
      expect(commandRefusal(team, { kind: 'command', command: ['/bin/sh', '-c', 'env'] }, 'token:alice', 'kubernetes')).toBeUndefined();
      expect(runRefusal(team, { kind: 'command', command: ['python', 'train.py'] }, 'sagemaker', { image: images[1] })).toBeUndefined();
    });

    it('refuse built-in trainers and a cwd: neither exists inside the image', () => {
      expect(commandRefusal(team, { kind: 'builtin', name: 'text-detector' }, 'local', 'kubernetes')).toMatch(/Built-in trainers run on this server's machine/);
      expect(commandRefusal(team, { kind: 'command', command: ['python'], cwd: '/work' }, 'local', 'sagemaker')).toMatch(/cwd cannot be given/);
    });

    it('run only images on the allowlist, the first by default, and refuse when the operator allows none', () => {
      expect(imageRefusal(team, 'kubernetes', {})).toBeUndefined();
      expect(imageRefusal(team, 'kubernetes', { image: images[1] })).toBeUndefined();
      expect(imageRefusal(team, 'sagemaker', { image: 'registry.example.org/trainers/detector:1.5' })).toMatch(/not on this server's allowlist/);
      expect(imageRefusal(shared, 'kubernetes', {})).toMatch(/allows no container images/);
      // An image removed from the allowlist after the job was queued: the orchestrator refuses to run it.
      expect(runRefusal({ ...team, containerImages: [images[1] as string] }, { kind: 'command', command: ['x'] }, 'kubernetes', { image: images[0] })).toMatch(
        /^Refused to run this job: Image .* is not on this server's allowlist/,
      );
    });

    it('run Kubernetes jobs only in the namespaces and as the service accounts the operator allows', () => {
      const cluster = { ...team, kubernetes: { namespaces: ['ml', 'ml-gpu'], serviceAccounts: ['trainer'] } };
      expect(imageRefusal(cluster, 'kubernetes', { namespace: 'ml-gpu', serviceAccount: 'trainer' })).toBeUndefined();
      expect(imageRefusal(cluster, 'kubernetes', {})).toBeUndefined();
      expect(imageRefusal(cluster, 'kubernetes', { namespace: 'kube-system' })).toMatch(/Namespace kube-system is not one this server allows/);
      expect(imageRefusal(cluster, 'kubernetes', { serviceAccount: 'cluster-admin' })).toMatch(/Service account cluster-admin is not one/);
      // The lists shrank after the job was queued: the orchestrator refuses to start it.
      expect(
        runRefusal({ ...cluster, kubernetes: { namespaces: ['ml'], serviceAccounts: ['trainer'] } }, { kind: 'command', command: ['x'] }, 'kubernetes', {
          namespace: 'ml-gpu',
        }),
      ).toMatch(/^Refused to run this job: Namespace ml-gpu is not one this server allows/);
    });

    it('run SageMaker jobs only on the instance types the operator allows (an instance type is a cost)', () => {
      const aws = { ...team, sageMaker: { instanceTypes: ['ml.m5.xlarge', 'ml.g5.xlarge'] } };
      expect(imageRefusal(aws, 'sagemaker', { instanceType: 'ml.g5.xlarge' })).toBeUndefined();
      expect(imageRefusal(aws, 'sagemaker', {})).toBeUndefined();
      expect(imageRefusal(aws, 'sagemaker', { instanceType: 'ml.p5.48xlarge' })).toMatch(/Instance type ml.p5.48xlarge is not one this server allows/);
    });

    it('refuse placement keys meant for another executor', () => {
      expect(misplacedResource('local', { image: images[0] })).toMatch(/resources.image applies to kubernetes and sagemaker jobs only/);
      expect(misplacedResource('sagemaker', { namespace: 'ml' })).toMatch(/resources.namespace applies to kubernetes jobs only/);
      expect(misplacedResource('kubernetes', { instanceType: 'ml.g5.xlarge' })).toMatch(/resources.instanceType applies to sagemaker jobs only/);
      expect(misplacedResource('local', { partition: 'gpu' })).toMatch(/resources.partition applies to slurm jobs only/);
      expect(misplacedResource('slurm', { partition: 'gpu' })).toBeUndefined();
    });
  });
});
