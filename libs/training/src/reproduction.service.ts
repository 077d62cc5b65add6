import type { ArtifactService } from '@trainyard/artifacts';
import {
  createJobInput,
  type IdentityDifference,
  isFinishedJobStatus,
  METRIC_TOLERANCE,
  type ReproduceInput,
  type ReproduceOutput,
  type ReproductionOutput,
  readTrainerIdentity,
  reproduceInput,
  type TrainerIdentity,
  type TrainerSpec,
  type VersionBundle,
} from '@trainyard/contracts';
import { DomainError } from '@trainyard/core';
import type { Prisma } from '@trainyard/db';
import type { ModelVersionService } from '@trainyard/registry';
import { LOCAL_ACTOR } from './command-trainer-policy';
import { diffTrainerIdentities } from './identity-diff';
import { programAvailable, pythonPackagesOf } from './trainer-probes';
import { captureTrainerIdentity } from './trainer-identity';
import type { TrainerCatalog } from './trainer-catalog';
import type { JobSnapshots, TrainingJobService } from './training-job.service';

type Lineage = VersionBundle['lineage'];

/** What a reproduction job keeps about its original (TrainingJob.reproducedFrom). */
export interface ReproducedFrom {
  versionId: string;
  model: string;
  version: number;
  /** The differences found before it ran (run anyway: allowDifferent). */
  differences: IdentityDifference[];
}

export interface ReproductionDeps {
  jobs: Pick<TrainingJobService, 'create' | 'get' | 'configurationOf'>;
  versions: Pick<ModelVersionService, 'get' | 'numbersOf'>;
  artifacts: Pick<ArtifactService, 'listOfVersions' | 'list'>;
  snapshots: JobSnapshots;
  catalog: TrainerCatalog;
}

const hyperparameterDifferences = (recorded: Record<string, unknown>, here: Record<string, unknown>): IdentityDifference[] =>
  [...new Set([...Object.keys(recorded), ...Object.keys(here)])]
    .sort()
    .filter((name) => JSON.stringify(recorded[name]) !== JSON.stringify(here[name]))
    .map((name) => ({
      field: `hyperparameter:${name}`,
      recorded: recorded[name] === undefined ? null : JSON.stringify(recorded[name]),
      here: here[name] === undefined ? null : JSON.stringify(here[name]),
      message:
        recorded[name] === undefined
          ? `hyperparameter ${name} is new here (default ${JSON.stringify(here[name])})`
          : `hyperparameter ${name}=${JSON.stringify(recorded[name])} would run as ${here[name] === undefined ? '(refused here)' : JSON.stringify(here[name])}`,
    }));

const withinTolerance = (original: number, reproduced: number): boolean =>
  Math.abs(original - reproduced) <= METRIC_TOLERANCE.absolute + METRIC_TOLERANCE.relative * Math.abs(original);

/**
 * Re-running a version's training job on this machine (issue #27): what the trainer here would
 * be, compared with what ran; the job, with the same trainer, hyperparameters (seed included)
 * and snapshot; and the report of its outputs against the version's.
 */
export const createReproductionService = (deps: ReproductionDeps) => {
  /** The trainer that would run here, as an identity (null: it cannot run here at all), with the packages its interpreter reports. */
  const identityHere = async (spec: TrainerSpec, recorded: TrainerIdentity | null): Promise<{ identity: TrainerIdentity | null; missing: string[] }> => {
    if (spec.kind === 'builtin' && !deps.catalog.list().some((trainer) => trainer.name === spec.name)) return { identity: null, missing: [] };
    const identity = await captureTrainerIdentity(spec, { catalog: deps.catalog });
    const missing: string[] = [];
    if (spec.kind === 'command' && !(await programAvailable(spec.command[0] ?? '', spec.cwd))) missing.push(spec.command[0] ?? '');
    // Packages are asked of the interpreter that would run, when the recorded trainer reported some.
    if (recorded?.packages) {
      const launch = spec.kind === 'builtin' ? deps.catalog.launch(spec.name) : { command: spec.command };
      const packages = await pythonPackagesOf(launch.command[0] ?? '', Object.keys(recorded.packages));
      if (packages) identity.packages = packages;
    }
    return { identity, missing };
  };

  /** The version a job on this server fine-tuned (model and number; `gone`: its id, deleted since), or null. */
  const parentOfJob = async (jobId: string): Promise<{ model: string; version: number } | { gone: string } | null> => {
    const { parentVersionId } = await deps.jobs.get(jobId);
    if (!parentVersionId) return null;
    const [parent] = await deps.versions.numbersOf([parentVersionId]);
    return parent ? { model: parent.model, version: parent.version } : { gone: parentVersionId };
  };
  const parentDifference = (recorded: string, message: string): IdentityDifference => ({ field: 'parentVersion', recorded, here: null, message });

  return {
    /**
     * Refused (with each difference) when the trainer here differs from the recorded one, unless
     * `allowDifferent`; refused when the snapshot is not on this server. Otherwise queues the job.
     */
    async reproduce(raw: ReproduceInput, caller: { actor: string } = { actor: LOCAL_ACTOR }): Promise<ReproduceOutput> {
      const input = reproduceInput.parse(raw);
      const version = await deps.versions.get(input.model, { version: input.version });
      const lineage = (version.provenance as { lineage?: Lineage } | null)?.lineage;
      const local = version.trainingJobId ? await deps.jobs.configurationOf(version.trainingJobId) : null;
      const job = local ?? lineage?.trainingJob ?? null;
      const original = { versionId: version.id, model: version.model, version: version.version, jobId: job?.id ?? null };
      if (!job) {
        throw new DomainError(
          'FAILED_PRECONDITION',
          `${version.model} version ${version.version} records no training job: there is nothing to re-run`,
          original,
        );
      }
      const refused = (reason: string, differences: IdentityDifference[] = []): ReproduceOutput => ({
        refused: true,
        reason,
        original,
        differences,
        jobId: null,
      });
      const spec = job.trainer as TrainerSpec;
      // Before anything here looks at the command (its files, its checkout, its interpreter).
      if (spec.kind === 'command' && !local && !input.allowCommand) {
        return refused(
          `${version.model} version ${version.version} was trained elsewhere by a command: ${JSON.stringify(spec.command).slice(0, 500)}${spec.cwd ? ` in ${spec.cwd}` : ''}; re-running it runs that command on this machine (run it: --allow-command)`,
        );
      }
      const snapshotId = version.datasetSnapshotId ?? lineage?.datasetSnapshot?.id ?? null;
      if (snapshotId && (await deps.snapshots.summariesOf([snapshotId])).length === 0) {
        return refused(
          `Dataset snapshot ${lineage?.datasetSnapshot?.name ?? ''} (${snapshotId}) is not on this server: pull it with the version first`.replace(' ()', ''),
        );
      }
      // A fine-tune starts from its parent version's weights: the same job from scratch is another job.
      const localParent = local ? await parentOfJob(job.id) : null;
      const parent = localParent && 'model' in localParent ? localParent : null;
      const remoteParent = local ? null : (lineage?.parentVersion ?? null);
      const { identity: recorded, malformed } = readTrainerIdentity(job.identity);
      const hyperparameters = job.hyperparameters as Record<string, unknown>;
      const { identity, missing } = await identityHere(spec, recorded);
      const differences: IdentityDifference[] = [
        ...(remoteParent
          ? [
              parentDifference(
                `${remoteParent.model}@${remoteParent.version}`,
                `it was fine-tuned from ${remoteParent.model} version ${remoteParent.version} where it was trained; here the job would start from scratch`,
              ),
            ]
          : []),
        ...(localParent && 'gone' in localParent
          ? [parentDifference(localParent.gone, 'the version it was fine-tuned from is deleted; here the job would start from scratch')]
          : []),
        ...missing.map((program) => ({ field: 'command', recorded: program, here: null, message: `${program} is not found here` })),
        ...(recorded
          ? diffTrainerIdentities(recorded, identity)
          : [
              {
                field: 'identity',
                recorded: null,
                here: null,
                message: malformed
                  ? `the recorded trainer identity cannot be read, so nothing can be compared with it: ${malformed}`
                  : 'no trainer identity was recorded for the original job (trained before Trainyard recorded one)',
              },
            ]),
      ];
      if (identity) {
        try {
          const here = spec.kind === 'builtin' ? deps.catalog.hyperparameters(spec.name, hyperparameters) : hyperparameters;
          differences.push(...hyperparameterDifferences(hyperparameters, here));
        } catch (error) {
          differences.push({
            field: 'hyperparameters',
            recorded: JSON.stringify(hyperparameters),
            here: null,
            message: `the trainer here refuses them: ${(error as Error).message}`,
          });
        }
      }
      if (differences.length > 0 && !input.allowDifferent) {
        return refused(
          `The trainer here differs from the one that trained ${version.model} version ${version.version} (run anyway: --allow-different)`,
          differences,
        );
      }
      const reproducedFrom: ReproducedFrom = { versionId: version.id, model: version.model, version: version.version, differences };
      // No target model: a reproduction makes no version; its outputs stay the job's artifacts, compared with the version's.
      const created = await deps.jobs.create(
        createJobInput.parse({
          name: `reproduce ${version.model}@${version.version}`.slice(0, 255),
          trainer: spec,
          executor: input.executor,
          ...(snapshotId ? { datasetSnapshotId: snapshotId } : {}),
          ...(parent ? { parentVersion: parent } : {}),
          hyperparameters,
        }),
        caller,
        { reproducedFrom: reproducedFrom as unknown as Prisma.InputJsonValue },
      );
      return { refused: false, reason: null, original, differences, jobId: created.id };
    },

    /**
     * A reproduction's report: artifact by artifact, whether the reproduction's file of that name
     * is byte-identical (SHA-256) to the version's; where not, each final metric within
     * METRIC_TOLERANCE. Differences are those between the recorded trainer and the one that ran
     * (as it recorded itself), or, before it ran, those found when it was queued.
     */
    async report(jobId: string): Promise<ReproductionOutput> {
      const job = await deps.jobs.get(jobId);
      const from = job.reproducedFrom as ReproducedFrom | null;
      if (!from) throw new DomainError('FAILED_PRECONDITION', `Job ${jobId} is not a reproduction`, { jobId });
      const base = {
        jobId,
        status: job.status,
        reproducedFrom: { versionId: from.versionId, model: from.model, version: from.version },
        differences: from.differences,
        tolerance: { ...METRIC_TOLERANCE },
      };
      if (!isFinishedJobStatus(job.status) || job.status !== 'succeeded') {
        const verdict = job.status === 'failed' ? `failed: ${job.error ?? ''}` : job.status;
        return { ...base, artifacts: null, identical: null, metrics: null, metricsWithinTolerance: null, verdict };
      }
      const version = await deps.versions.get(from.model, { version: from.version }).catch(() => null);
      if (!version || version.id !== from.versionId) {
        return {
          ...base,
          artifacts: null,
          identical: null,
          metrics: null,
          metricsWithinTolerance: null,
          verdict: `${from.model} version ${from.version} is gone`,
        };
      }
      const published = await deps.artifacts.listOfVersions([version.id]);
      const reproduced = new Map<string, string>();
      for (let cursor: string | undefined; ;) {
        const page = await deps.artifacts.list({ trainingJobId: jobId, limit: 200, ...(cursor ? { cursor } : {}) });
        for (const artifact of page.items) reproduced.set(artifact.name, artifact.sha256);
        if (!page.nextCursor) break;
        cursor = page.nextCursor;
      }
      const artifacts = published
        .map((artifact) => ({ name: artifact.name, original: artifact.sha256, reproduced: reproduced.get(artifact.name) ?? null }))
        .sort((a, b) => a.name.localeCompare(b.name))
        .map((row) => ({ ...row, identical: row.original === row.reproduced }));
      const identical = artifacts.length > 0 && artifacts.every((row) => row.identical);
      const originalMetrics = (version.metrics ?? {}) as Record<string, number>;
      const reproducedMetrics = (job.finalMetrics ?? {}) as Record<string, number>;
      const metrics = [...new Set([...Object.keys(originalMetrics), ...Object.keys(reproducedMetrics)])].sort().map((name) => {
        const original = typeof originalMetrics[name] === 'number' ? originalMetrics[name] : null;
        const again = typeof reproducedMetrics[name] === 'number' ? reproducedMetrics[name] : null;
        return { name, original, reproduced: again, withinTolerance: original !== null && again !== null && withinTolerance(original, again) };
      });
      const metricsWithinTolerance = metrics.length > 0 && metrics.every((row) => row.withinTolerance);
      const recorded = readTrainerIdentity(job.trainerIdentity).identity;
      const lineage = (version.provenance as { lineage?: Lineage } | null)?.lineage;
      const originalJob = version.trainingJobId ? await deps.jobs.configurationOf(version.trainingJobId) : null;
      const originalIdentity = readTrainerIdentity((originalJob ?? lineage?.trainingJob)?.identity).identity;
      // What ran, as the reproduction recorded itself (its packages too), against the original; and what was found before it ran besides the trainer.
      const differences =
        originalIdentity && recorded
          ? [
              ...diffTrainerIdentities(originalIdentity, recorded),
              ...from.differences.filter((d) => d.field.startsWith('hyperparameter') || d.field === 'identity' || d.field === 'parentVersion'),
            ]
          : from.differences;
      const verdict = identical ? 'byte-identical' : metricsWithinTolerance ? 'metrics within tolerance' : 'differs';
      return { ...base, differences, artifacts, identical, metrics, metricsWithinTolerance, verdict };
    },
  };
};

export type ReproductionService = ReturnType<typeof createReproductionService>;
