import { afterAll, beforeAll, beforeEach } from 'vitest';
import { createTestDatabase, type TestDatabase } from './database.js';
import { describeChildren, type RedisProcess, type ServerProcess, startTwoNodes } from './processes.js';

/** A test file's database, with a Redis and two server processes on it (see `useTwoNodes`). */
export interface TwoNodeCluster {
  db: TestDatabase;
  redis: RedisProcess;
  node1: ServerProcess;
  node2: ServerProcess;
}

/**
 * Registers the hooks of a test file that runs on `startTwoNodes` (with `env`): beforeAll creates a
 * database and starts Redis and the nodes on it, afterAll stops them and drops the database, and a
 * failing test prints what they wrote. The returned object is filled in by that beforeAll; a test
 * that restarts a node or Redis puts the new one in it, so that afterAll stops that one. Hooks
 * registered after this call run after its beforeAll and before its afterAll (vitest's "stack" order).
 */
export function useTwoNodes(env: Record<string, string> = {}): TwoNodeCluster {
  const cluster: Partial<TwoNodeCluster> = {};
  beforeAll(async () => {
    cluster.db = await createTestDatabase();
    Object.assign(cluster, await startTwoNodes(cluster.db.url, env));
  }, 120_000);
  afterAll(async () => {
    await Promise.all([cluster.node1?.stop(), cluster.node2?.stop()]);
    await cluster.redis?.stop();
    await cluster.db?.drop();
  });
  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => console.error(`child process output:\n${describeChildren([cluster.node1, cluster.node2, cluster.redis])}`));
  });
  // Complete once beforeAll has run, which is before any test reads it.
  return cluster as TwoNodeCluster;
}
