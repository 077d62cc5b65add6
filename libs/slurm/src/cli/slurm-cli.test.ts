import { describe, expect, it } from 'vitest';
import type { SlurmCommandRunner } from '../slurm-cli.port';
import { createSlurmCli } from './slurm-cli';

/** Slurm's commands answered by command name, in the output formats a real single-node Slurm prints (its lines, edited). */
const scripted = (answers: Record<string, { stdout?: string; stderr?: string; exitCode?: number }>): SlurmCommandRunner => ({
  where: 'local',
  run: async (argv) => ({ stdout: '', stderr: '', exitCode: 0, ...answers[argv[0] ?? ''] }),
});

const name = 'trainyard-test-ok';
const jobCompLine = `JobId=7 UserId=root(0) GroupId=root(0) Name=${name} JobState=COMPLETED Partition=debug TimeLimit=1 StartTime=2026-11-30T02:06:21 EndTime=2026-11-30T02:06:22 NodeList=vm NodeCnt=1 ProcCnt=1 WorkDir=/tmp/x ReservationName= Tres=cpu=1,node=1,billing=1 Account= QOS= WcKey= Cluster=unknown SubmitTime=2026-11-30T02:06:18 EligibleTime=2026-11-30T02:06:18 DerivedExitCode=0:0 ExitCode=0:0 \n`;

describe('findByName when the controller purges a finished job between squeue and scontrol (MinJobAge)', () => {
  const squeue = { stdout: `7|COMPLETED|${name}|vm\n` };
  const purged = { stderr: 'slurm_load_jobs error: Invalid job id specified\n', exitCode: 1 };
  const noAccounting = { stderr: 'Slurm accounting storage is disabled\n', exitCode: 1 };

  it("takes the completion log's record, with its exit code, not squeue's", async () => {
    const cli = createSlurmCli(scripted({ squeue, scontrol: purged, sacct: noAccounting, grep: { stdout: jobCompLine } }), { jobCompLog: '/x/jobcomp.log' });
    expect(await cli.findByName(name)).toEqual([{ slurmJobId: '7', name, state: 'COMPLETED', exitCode: 0, signal: 0, source: 'jobcomp' }]);
  });

  it("still finds the job from squeue's line when nothing else knows it", async () => {
    const cli = createSlurmCli(scripted({ squeue, scontrol: purged, sacct: noAccounting }));
    expect(await cli.findByName(name)).toEqual([{ slurmJobId: '7', name, state: 'COMPLETED', reason: 'vm', source: 'squeue' }]);
  });
});
