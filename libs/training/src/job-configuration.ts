import type { VersionBundle } from '@trainyard/contracts';
import type { Database } from '@trainyard/db';

/** What a version made by a job carries about it to other machines: the job's name, trainer, hyperparameters and what ran. */
export type JobConfiguration = NonNullable<VersionBundle['lineage']['trainingJob']>;

/** The job's configuration, or null when the job no longer exists. */
export const jobConfiguration = async (database: Database, id: string): Promise<JobConfiguration | null> => {
  const job = await database.prisma.trainingJob.findUnique({
    where: { id },
    select: { id: true, name: true, trainer: true, hyperparameters: true, trainerIdentity: true },
  });
  return job
    ? {
        id: job.id,
        name: job.name,
        trainer: job.trainer as JobConfiguration['trainer'],
        hyperparameters: job.hyperparameters as JobConfiguration['hyperparameters'],
        identity: job.trainerIdentity ?? null,
      }
    : null;
};
