import { localExecutor } from './local-executor';
import { describeExecutorContract } from './test-fixtures/executor-contract';

describeExecutorContract('local (child processes of this server)', () => localExecutor);
