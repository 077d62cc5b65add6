import { isDomainError } from '@trainyard/core';
import { describe, expect, it } from 'vitest';
import {
  isAccountingDisabledError,
  isUnknownJobError,
  parseJobCompLine,
  parseJobCompLog,
  parseSacct,
  parseSbatchParsable,
  parseScontrolJob,
  parseSqueue,
} from './parsers';

// Real output of Slurm 22.05.8 (Debian 12) on the test cluster, captured as printed.
const SCONTROL_PENDING =
  'JobId=2 JobName=trainyard-test-hi UserId=root(0) GroupId=root(0) MCS_label=N/A Priority=4294901758 Nice=0 Account=(null) QOS=(null) JobState=PENDING Reason=Resources Dependency=(null) Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:0 RunTime=00:00:00 TimeLimit=UNLIMITED TimeMin=N/A SubmitTime=2026-11-30T01:47:16 EligibleTime=2026-11-30T01:47:16 AccrueTime=2026-11-30T01:47:16 StartTime=Unknown EndTime=Unknown Deadline=N/A SuspendTime=None SecsPreSuspend=0 LastSchedEval=2026-11-30T01:47:16 Scheduler=Main Partition=debug AllocNode:Sid=localhost:25909 ReqNodeList=(null) ExcNodeList=(null) NodeList= NumNodes=1 NumCPUs=1 NumTasks=1 CPUs/Task=1 ReqB:S:C:T=0:0:*:* TRES=cpu=1,mem=24105M,node=1,billing=1 Socks/Node=* NtasksPerN:B:S:C=0:0:*:* CoreSpec=* MinCPUsNode=1 MinMemoryNode=0 MinTmpDiskNode=0 Features=(null) DelayBoot=00:00:00 OverSubscribe=OK Contiguous=0 Licenses=(null) Network=(null) Command=/tmp/sj/hi.sh WorkDir=/tmp/sj StdErr=/tmp/sj/slurm-2.out StdIn=/dev/null StdOut=/tmp/sj/slurm-2.out Power= \n';
const SCONTROL_CANCELLED =
  'JobId=1 JobName=trainyard-test-sleep UserId=root(0) GroupId=root(0) MCS_label=N/A Priority=4294901759 Nice=0 Account=(null) QOS=(null) JobState=CANCELLED Reason=None Dependency=(null) Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:15 RunTime=00:00:13 TimeLimit=UNLIMITED TimeMin=N/A SubmitTime=2026-11-30T01:47:16 EligibleTime=2026-11-30T01:47:16 AccrueTime=2026-11-30T01:47:16 StartTime=2026-11-30T01:47:16 EndTime=2026-11-30T01:47:29 Deadline=N/A SuspendTime=None SecsPreSuspend=0 LastSchedEval=2026-11-30T01:47:16 Scheduler=Main Partition=debug AllocNode:Sid=localhost:25909 ReqNodeList=(null) ExcNodeList=(null) NodeList=vm BatchHost=vm NumNodes=1 NumCPUs=2 NumTasks=1 CPUs/Task=2 ReqB:S:C:T=0:0:*:* TRES=cpu=2,node=1,billing=2 Socks/Node=* NtasksPerN:B:S:C=0:0:*:* CoreSpec=* MinCPUsNode=2 MinMemoryNode=0 MinTmpDiskNode=0 Features=(null) DelayBoot=00:00:00 OverSubscribe=OK Contiguous=0 Licenses=(null) Network=(null) Command=/tmp/sj/sleep.sh WorkDir=/tmp/sj StdErr=/tmp/sj/slurm-1.out StdIn=/dev/null StdOut=/tmp/sj/slurm-1.out Power= \n';
const SCONTROL_FAILED =
  'JobId=3 JobName=trainyard-test-fail UserId=root(0) GroupId=root(0) MCS_label=N/A Priority=4294901757 Nice=0 Account=(null) QOS=(null) JobState=FAILED Reason=NonZeroExitCode Dependency=(null) Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=3:0 RunTime=00:00:00 TimeLimit=UNLIMITED TimeMin=N/A SubmitTime=2026-11-30T01:47:16 EligibleTime=2026-11-30T01:47:16 AccrueTime=2026-11-30T01:47:16 StartTime=2026-11-30T01:47:29 EndTime=2026-11-30T01:47:29 Deadline=N/A SuspendTime=None SecsPreSuspend=0 LastSchedEval=2026-11-30T01:47:29 Scheduler=Main Partition=debug AllocNode:Sid=localhost:25909 ReqNodeList=(null) ExcNodeList=(null) NodeList=vm BatchHost=vm NumNodes=1 NumCPUs=1 NumTasks=1 CPUs/Task=1 ReqB:S:C:T=0:0:*:* TRES=cpu=1,node=1,billing=1 Socks/Node=* NtasksPerN:B:S:C=0:0:*:* CoreSpec=* MinCPUsNode=1 MinMemoryNode=0 MinTmpDiskNode=0 Features=(null) DelayBoot=00:00:00 OverSubscribe=OK Contiguous=0 Licenses=(null) Network=(null) Command=/tmp/sj/fail.sh WorkDir=/tmp/sj StdErr=/tmp/sj/slurm-3.out StdIn=/dev/null StdOut=/tmp/sj/slurm-3.out Power= \n';
const JOBCOMP_LOG = [
  'JobId=1 UserId=root(0) GroupId=root(0) Name=trainyard-test-sleep JobState=CANCELLED Partition=debug TimeLimit=UNLIMITED StartTime=2026-11-30T01:47:16 EndTime=2026-11-30T01:47:29 NodeList=vm NodeCnt=1 ProcCnt=2 WorkDir=/tmp/sj ReservationName= Tres=cpu=2,mem=24105M,node=1,billing=2 Account= QOS= WcKey= Cluster=unknown SubmitTime=2026-11-30T01:47:16 EligibleTime=2026-11-30T01:47:16 DerivedExitCode=0:0 ExitCode=0:0 ',
  'JobId=3 UserId=root(0) GroupId=root(0) Name=trainyard-test-fail JobState=FAILED Partition=debug TimeLimit=UNLIMITED StartTime=2026-11-30T01:47:29 EndTime=2026-11-30T01:47:29 NodeList=vm NodeCnt=1 ProcCnt=1 WorkDir=/tmp/sj ReservationName= Tres=cpu=1,mem=24105M,node=1,billing=1 Account= QOS= WcKey= Cluster=unknown SubmitTime=2026-11-30T01:47:16 EligibleTime=2026-11-30T01:47:16 DerivedExitCode=0:0 ExitCode=3:0 ',
  // A requeue (`scontrol requeue 5`) writes a line too, with JobState=PENDING.
  'JobId=5 UserId=root(0) GroupId=root(0) Name=trainyard-test-rq JobState=PENDING Partition=debug TimeLimit=UNLIMITED StartTime=2026-11-30T01:47:51 EndTime=2026-11-30T01:47:52 NodeList=vm NodeCnt=1 ProcCnt=1 WorkDir=/tmp/sj ReservationName= Tres=cpu=1,mem=24105M,node=1,billing=1 Account= QOS= WcKey= Cluster=unknown SubmitTime=2026-11-30T01:47:50 EligibleTime=2026-11-30T01:47:50 DerivedExitCode=0:0 ExitCode=0:0 ',
  '',
].join('\n');

/** The DomainError a malformed answer must be: INTEGRITY, naming the command, quoting the output. */
const malformedError = (run: () => unknown): { code: string; message: string } => {
  try {
    run();
  } catch (error) {
    if (!isDomainError(error)) throw error;
    return { code: error.code, message: error.message };
  }
  throw new Error('expected a malformed-output error, got an answer');
};

describe('sbatch --parsable', () => {
  it('reads the job id, and the id of an `id;cluster` answer', () => {
    expect(parseSbatchParsable('sbatch', '7\n')).toBe('7');
    expect(parseSbatchParsable('sbatch', '123;ci\n')).toBe('123');
  });

  it.each([
    ['empty output', ''],
    ['a blank line', '\n'],
    ['garbage', 'Submitted batch job 7\n'],
    ['two ids', '7\n8\n'],
    ['a truncated cluster', '7;\n'],
    ['a negative id', '-7\n'],
  ])('refuses %s with an error naming sbatch and quoting the output', (_, stdout) => {
    const error = malformedError(() => parseSbatchParsable('sbatch (local)', stdout));
    expect(error.code).toBe('INTEGRITY');
    expect(error.message).toContain('sbatch (local)');
    expect(error.message).toContain(JSON.stringify(stdout));
  });
});

describe('squeue -h -o "%i|%T|%j|%R"', () => {
  it('reads real lines: a pending reason without its parentheses, a running job with its node', () => {
    const stdout =
      '2|PENDING|trainyard-test-hi|(Resources)\n3|PENDING|trainyard-test-fail|(Priority)\n1|RUNNING|trainyard-test-sleep|vm\n5|PENDING|trainyard-test-rq|(BeginTime)\n';
    expect(parseSqueue('squeue', stdout)).toEqual([
      { slurmJobId: '2', name: 'trainyard-test-hi', state: 'PENDING', reason: 'Resources', source: 'squeue' },
      { slurmJobId: '3', name: 'trainyard-test-fail', state: 'PENDING', reason: 'Priority', source: 'squeue' },
      { slurmJobId: '1', name: 'trainyard-test-sleep', state: 'RUNNING', reason: 'vm', source: 'squeue' },
      { slurmJobId: '5', name: 'trainyard-test-rq', state: 'PENDING', reason: 'BeginTime', source: 'squeue' },
    ]);
  });

  it('reads an empty queue from empty output, array tasks, and a reason holding `|` and commas', () => {
    expect(parseSqueue('squeue', '')).toEqual([]);
    expect(parseSqueue('squeue', '9_2|PENDING|trainyard-a|(ReqNodeNotAvail, UnavailableNodes:vm|x)\n')).toEqual([
      { slurmJobId: '9_2', name: 'trainyard-a', state: 'PENDING', reason: 'ReqNodeNotAvail, UnavailableNodes:vm|x', source: 'squeue' },
    ]);
    expect(parseSqueue('squeue', '4|COMPLETING|trainyard-b|\n')).toEqual([{ slurmJobId: '4', name: 'trainyard-b', state: 'COMPLETING', source: 'squeue' }]);
  });

  it.each([
    ['garbage', 'JOBID PARTITION NAME\n'],
    ['a truncated line', '2|PENDING|trainyard-test-hi\n'],
    ['a line cut inside the state', '1|RUNN\n'],
    ['an unknown state', '1|WAITING|trainyard-x|(None)\n'],
    ['a compact state', '1|R|trainyard-x|vm\n'],
    ['a bad job id', 'x1|RUNNING|trainyard-x|vm\n'],
    ['a blank line between jobs', '1|RUNNING|trainyard-x|vm\n\n2|RUNNING|trainyard-y|vm\n'],
    ['an empty name', '1|RUNNING||vm\n'],
  ])('refuses %s', (_, stdout) => {
    const error = malformedError(() => parseSqueue('squeue (ssh u@h)', stdout));
    expect(error.code).toBe('INTEGRITY');
    expect(error.message).toMatch(/^unexpected output from squeue \(ssh u@h\): /);
  });
});

describe('scontrol show job -o', () => {
  it('reads state, reason, exit code and signal, restarts and name from real records', () => {
    expect(parseScontrolJob('scontrol', SCONTROL_PENDING, '2')).toEqual({
      slurmJobId: '2',
      name: 'trainyard-test-hi',
      state: 'PENDING',
      reason: 'Resources',
      exitCode: 0,
      signal: 0,
      restarts: 0,
      source: 'scontrol',
    });
    expect(parseScontrolJob('scontrol', SCONTROL_CANCELLED, '1')).toMatchObject({ state: 'CANCELLED', exitCode: 0, signal: 15 });
    expect(parseScontrolJob('scontrol', SCONTROL_CANCELLED, '1')).not.toHaveProperty('reason');
    expect(parseScontrolJob('scontrol', SCONTROL_FAILED, '3')).toMatchObject({ state: 'FAILED', reason: 'NonZeroExitCode', exitCode: 3, signal: 0 });
  });

  it('reads a name with spaces and a free-text reason, and not a JobState= hidden in the name', () => {
    const line = SCONTROL_PENDING.replace('JobName=trainyard-test-hi', 'JobName=my job JobState=COMPLETED x').replace(
      'Reason=Resources',
      'Reason=held by admin: disk full',
    );
    expect(parseScontrolJob('scontrol', line, '2')).toMatchObject({
      name: 'my job JobState=COMPLETED x',
      state: 'PENDING',
      reason: 'held by admin: disk full',
    });
  });

  it.each([
    ['empty output', ''],
    ['garbage', 'slurm_load_jobs: something\n'],
    ['another job', SCONTROL_FAILED],
    ['a record cut before ExitCode', SCONTROL_PENDING.slice(0, SCONTROL_PENDING.indexOf(' Reboot='))],
    ['an unknown state', SCONTROL_PENDING.replace('JobState=PENDING', 'JobState=SLEEPING')],
    ['a bad exit code', SCONTROL_FAILED.replace('ExitCode=3:0', 'ExitCode=3')],
    ['a bad restart count', SCONTROL_FAILED.replace('Restarts=0', 'Restarts=many')],
  ])('refuses %s', (_, stdout) => {
    const error = malformedError(() => parseScontrolJob('scontrol (local)', stdout, '2'));
    expect(error.code).toBe('INTEGRITY');
    expect(error.message).toContain('scontrol (local)');
  });

  it('tells "no such job" (never submitted, or purged after MinJobAge) from other failures', () => {
    expect(isUnknownJobError('slurm_load_jobs error: Invalid job id specified\n')).toBe(true);
    expect(isUnknownJobError('slurm_load_jobs error: Unable to contact slurm controller (connect failure)\n')).toBe(false);
  });
});

describe('sacct -n -P -X -o JobIDRaw,JobName,State,ExitCode', () => {
  it('reads allocations, a `CANCELLED by <uid>` state and a name holding `|`', () => {
    expect(parseSacct('sacct', '5|trainyard-x|COMPLETED|0:0\n6|a|b|CANCELLED by 0|0:15\n7|trainyard-y|TIMEOUT|0:1\n')).toEqual([
      { slurmJobId: '5', name: 'trainyard-x', state: 'COMPLETED', exitCode: 0, signal: 0, source: 'sacct' },
      { slurmJobId: '6', name: 'a|b', state: 'CANCELLED', exitCode: 0, signal: 15, source: 'sacct' },
      { slurmJobId: '7', name: 'trainyard-y', state: 'TIMEOUT', exitCode: 0, signal: 1, source: 'sacct' },
    ]);
    expect(parseSacct('sacct', '')).toEqual([]);
  });

  it.each([
    ['garbage', 'JobID JobName State\n'],
    ['a truncated line', '5|trainyard-x|COMPLETED\n'],
    ['an unknown state', '5|trainyard-x|DONE|0:0\n'],
    ['a bad exit code', '5|trainyard-x|COMPLETED|zero\n'],
  ])('refuses %s', (_, stdout) => {
    expect(malformedError(() => parseSacct('sacct (local)', stdout)).message).toContain('sacct (local)');
  });

  it('tells a cluster without accounting (what this test cluster prints) from other failures', () => {
    expect(isAccountingDisabledError('Slurm accounting storage is disabled\n')).toBe(true);
    expect(isAccountingDisabledError('sacct: error: Problem talking to the database: Connection refused\n')).toBe(false);
  });
});

describe('the jobcomp/filetxt log', () => {
  it('reads real lines: state, name and exit code; a requeue is a PENDING line', () => {
    expect(parseJobCompLog('jobcomp', JOBCOMP_LOG)).toEqual([
      { slurmJobId: '1', name: 'trainyard-test-sleep', state: 'CANCELLED', exitCode: 0, signal: 0, source: 'jobcomp' },
      { slurmJobId: '3', name: 'trainyard-test-fail', state: 'FAILED', exitCode: 3, signal: 0, source: 'jobcomp' },
      { slurmJobId: '5', name: 'trainyard-test-rq', state: 'PENDING', exitCode: 0, signal: 0, source: 'jobcomp' },
    ]);
  });

  it('reads a real TIMEOUT line (a job that ignored SIGTERM: scontrol said ExitCode=0:9, the log 0:0) with a 130-character name', () => {
    const name = `trainyard-${'x'.repeat(120)}`;
    const line = `JobId=1 UserId=root(0) GroupId=root(0) Name=${name} JobState=TIMEOUT Partition=debug TimeLimit=1 StartTime=2026-11-30T02:06:21 EndTime=2026-11-30T02:07:48 NodeList=vm NodeCnt=1 ProcCnt=1 WorkDir=/tmp/trainyard-slurm-oBajzI ReservationName= Tres=cpu=1,mem=24105M,node=1,billing=1 Account= QOS= WcKey= Cluster=unknown SubmitTime=2026-11-30T02:06:18 EligibleTime=2026-11-30T02:06:18 DerivedExitCode=0:0 ExitCode=0:0 `;
    expect(parseJobCompLine('jobcomp', line)).toEqual({ slurmJobId: '1', name, state: 'TIMEOUT', exitCode: 0, signal: 0, source: 'jobcomp' });
  });

  it('reads a name with spaces, and not an ExitCode= inside a path', () => {
    const line = (JOBCOMP_LOG.split('\n')[1] ?? '').replace('Name=trainyard-test-fail', 'Name=a b').replace('WorkDir=/tmp/sj', 'WorkDir=/tmp/x ExitCode=9:9');
    expect(parseJobCompLine('jobcomp', line)).toMatchObject({ name: 'a b', state: 'FAILED', exitCode: 3 });
  });

  it.each([
    ['garbage', 'hello world'],
    ['a line cut before its exit code', (JOBCOMP_LOG.split('\n')[1] ?? '').slice(0, 150)],
    ['an unknown state', (JOBCOMP_LOG.split('\n')[1] ?? '').replace('JobState=FAILED', 'JobState=BROKEN')],
  ])('refuses %s', (_, line) => {
    expect(malformedError(() => parseJobCompLine('grep (local)', line)).message).toContain('grep (local)');
  });
});
