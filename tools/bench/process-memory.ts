import { readFileSync } from 'node:fs';

export interface TreeMemory {
  /** Sum of VmRSS over the process and its descendants (pages shared between them count twice). */
  rssMb: number;
  /** Sum of Pss: each shared page split among the processes mapping it, so nothing counts twice. */
  pssMb: number;
}

const childrenOf = (pid: number): number[] => {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return []; // it ended meanwhile
  }
};

const treeOf = (pid: number): number[] => [pid, ...childrenOf(pid).flatMap(treeOf)];

const kbField = (text: string, name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);

/** Resident memory of a process tree, read from Linux's /proc (worker threads belong to their process). */
export const treeMemory = (rootPid: number): TreeMemory => {
  let rssKb = 0;
  let pssKb = 0;
  for (const pid of treeOf(rootPid)) {
    try {
      rssKb += kbField(readFileSync(`/proc/${pid}/status`, 'utf8'), 'VmRSS');
      pssKb += kbField(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'), 'Pss');
    } catch {
      // it ended between listing and reading: it holds nothing now
    }
  }
  return { rssMb: rssKb / 1024, pssMb: pssKb / 1024 };
};
