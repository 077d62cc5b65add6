import { startHttpProxy } from './http-proxy';

export interface RoundRobinProxy {
  url: string;
  /** How many requests each target (by index) was sent. */
  served(): number[];
  close(): Promise<void>;
}

/**
 * A load balancer in front of several server instances, as simple as they come: each HTTP
 * request (not each connection, which keep-alive would pin to one instance) goes to the next
 * target in turn.
 */
export const startRoundRobinProxy = async (targets: readonly string[]): Promise<RoundRobinProxy> => {
  if (targets.length === 0) throw new Error('a round-robin proxy needs at least one target');
  const counts = targets.map(() => 0);
  let next = 0;
  const proxy = await startHttpProxy(() => {
    const index = next;
    next = (next + 1) % targets.length;
    counts[index] = (counts[index] ?? 0) + 1;
    return targets[index] as string;
  });
  return { ...proxy, served: () => [...counts] };
};
