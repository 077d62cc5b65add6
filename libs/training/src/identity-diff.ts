import type { HashedFile, IdentityDifference, TrainerIdentity } from '@trainyard/contracts';

const short = (hash: string | null): string | null => (hash ? hash.slice(0, 12) : null);

const difference = (field: string, recorded: string | null, here: string | null, message: string): IdentityDifference => ({ field, recorded, here, message });

const fileDifferences = (recorded: readonly HashedFile[], here: readonly HashedFile[]): IdentityDifference[] => {
  const now = new Map(here.map((file) => [file.path, file.sha256]));
  const out: IdentityDifference[] = [];
  for (const file of recorded) {
    const hash = now.get(file.path) ?? null;
    if (hash === file.sha256) continue;
    out.push(
      difference(
        `file:${file.path}`,
        file.sha256,
        hash,
        hash ? `${file.path} changed (sha256 ${short(file.sha256)}… → ${short(hash)}…)` : `${file.path} is missing here (was sha256 ${short(file.sha256)}…)`,
      ),
    );
  }
  return out;
};

const packageDifferences = (recorded: Record<string, string> | undefined, here: Record<string, string> | undefined): IdentityDifference[] => {
  // Only what both sides know is compared: a trainer reports its packages when it runs.
  if (!recorded || !here) return [];
  return Object.keys(recorded)
    .sort()
    .filter((name) => recorded[name] !== here[name])
    .map((name) =>
      difference(
        `package:${name}`,
        recorded[name] ?? null,
        here[name] ?? null,
        here[name] === undefined ? `${name} ${recorded[name]} is not installed here` : `${name} ${recorded[name]} here is ${here[name]}`,
      ),
    );
};

/**
 * Each way the trainer that would run here (`here`) differs from the one recorded on the original
 * job: another trainer, its code (a built-in's code hash, a command's files, git commit or dirty
 * state), the command itself or its working directory, the packages both report, Trainyard's version.
 * Empty when they agree. `here` null: the trainer cannot run here at all.
 */
export const diffTrainerIdentities = (recorded: TrainerIdentity, here: TrainerIdentity | null): IdentityDifference[] => {
  if (!here)
    return [difference('trainer', recorded.kind === 'builtin' ? recorded.name : recorded.command.join(' '), null, 'the trainer is not available here')];
  const out: IdentityDifference[] = [];
  if (recorded.kind === 'builtin' && here.kind === 'builtin') {
    if (recorded.name !== here.name) out.push(difference('trainer', recorded.name, here.name, `trainer ${recorded.name} here is ${here.name}`));
    else if (recorded.codeSha256 !== here.codeSha256) {
      const changed = fileDifferences(recorded.files, here.files).map((d) => d.field.slice('file:'.length));
      out.push(
        difference(
          'code',
          recorded.codeSha256,
          here.codeSha256,
          `${recorded.name}'s code differs: sha256 ${short(recorded.codeSha256)}… recorded, ${short(here.codeSha256)}… here${changed.length > 0 ? ` (${changed.join(', ')})` : ''}`,
        ),
      );
    }
  } else if (recorded.kind === 'command' && here.kind === 'command') {
    if (recorded.command.join('\u0000') !== here.command.join('\u0000')) {
      out.push(difference('command', recorded.command.join(' '), here.command.join(' '), `the command differs`));
    }
    if (recorded.cwd !== here.cwd)
      out.push(difference('cwd', recorded.cwd, here.cwd, `the working directory ${recorded.cwd ?? '(none)'} here is ${here.cwd ?? '(none)'}`));
    if (recorded.git && recorded.git.commit !== here.git?.commit) {
      out.push(
        difference(
          'git.commit',
          recorded.git.commit,
          here.git?.commit ?? null,
          here.git
            ? `the checkout is at ${short(here.git.commit)}…, recorded ${short(recorded.git.commit)}…`
            : `${here.cwd ?? 'the working directory'} is not a git checkout here`,
        ),
      );
    }
    if (recorded.git && here.git && recorded.git.dirty !== here.git.dirty) {
      out.push(
        difference(
          'git.dirty',
          String(recorded.git.dirty),
          String(here.git.dirty),
          here.git.dirty ? 'the checkout has uncommitted changes here' : 'the recorded checkout had uncommitted changes',
        ),
      );
    }
    // Both dirty (on the same commit or not): the changes themselves, when both were hashed.
    if (recorded.git?.diffSha256 && here.git?.diffSha256 && recorded.git.diffSha256 !== here.git.diffSha256) {
      out.push(
        difference(
          'git.diff',
          recorded.git.diffSha256,
          here.git.diffSha256,
          "the checkout's uncommitted changes here are not the recorded ones (git diff HEAD differs)",
        ),
      );
    }
    out.push(...fileDifferences(recorded.files, here.files));
  } else {
    out.push(difference('trainer', recorded.kind, here.kind, `a ${recorded.kind} trainer was recorded, a ${here.kind} trainer would run here`));
  }
  out.push(...packageDifferences(recorded.packages, here.packages));
  if (recorded.projectVersion !== here.projectVersion) {
    out.push(
      difference('projectVersion', recorded.projectVersion, here.projectVersion, `Trainyard ${recorded.projectVersion} recorded, ${here.projectVersion} here`),
    );
  }
  return out;
};
