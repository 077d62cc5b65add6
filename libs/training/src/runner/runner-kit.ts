/**
 * What the runner program (apps/runner) takes from the training context: the trainer protocol's
 * own code (running a trainer with fd 3 exactly as the local executor does, its environment
 * filter) and the runner's wire format. A subpath of its own (`@trainyard/training/runner-kit`)
 * so the runner's bundle holds only this, not the orchestrator and its database code.
 */
export { startLocalExecution, type Execution, type ExecutionOutcome, BAD_EVENT_SAMPLE_FIRST } from '../local-executor';
export { trainerEnvironment, ENV_NAME_PATTERN } from '../trainer-env';
export type { TrainerEvent } from '../trainer-events';
export * from './runner-protocol';
