import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, createOrg, createProject, registerUser } from './support/api.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { freePort, type RedisProcess, startRedis } from './support/processes.js';
import { buildId } from '../server/build-id.js';
import { loadConfig } from '../server/config.js';
import { type RunningServer, startServer, TEST_JWT_SECRET } from './support/server.js';
import { closeAllSockets, connect, eventually, ok, request } from './support/sockets.js';

// Prometheus metrics on a port of their own: what the node did, counted by event, route and code, and nothing of any tenant's.
let db: TestDatabase;
let node: RunningServer;
let metricsUrl: string;

beforeAll(async () => {
  db = await createTestDatabase();
  const port = await freePort();
  node = await startServer({ DATABASE_URL: db.url, METRICS_PORT: String(port) });
  metricsUrl = `http://127.0.0.1:${port}/metrics`;
});

afterAll(async () => {
  closeAllSockets();
  await node?.close();
  await db?.drop();
});

async function scrape(): Promise<string> {
  const answer = await fetch(metricsUrl);
  expect(answer.status).toBe(200);
  expect(answer.headers.get('content-type')).toContain('text/plain');
  return answer.text();
}

/** The value of one sample, by its name and labels as Prometheus writes them; undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((row) => row.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('the metrics port', () => {
  it('names the build the node runs', async () => {
    expect(sample(await scrape(), `taskflow_build_info{build="${await buildId()}"}`)).toBe(1);
  });

  it("counts socket events by event and outcome, HTTP requests by route pattern and status, and the sockets, naming no tenant's anything", async () => {
    const ana = await registerUser(node.url, 'ana-metrics');
    const org = await createOrg(node.url, ana);
    const { project, columns } = await createProject(node.url, org, 'Secret launch plans');
    const socket = await connect(node.url, { token: ana.token });
    await ok(socket, 'board:join', { projectId: project.id });
    const { task } = await ok(socket, 'task:create', { projectId: project.id, columnId: columns[0]!.id, title: 'Acquire Globex quietly' });
    expect(await request(socket, 'task:update', { taskId: task.id, patch: { priority: 'high' } })).toMatchObject({
      ok: false,
      error: { code: 'VALIDATION_FAILED' },
    });
    const madeUp = `leak:${org.slug}`;
    expect(await request(socket, madeUp, {})).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });
    expect((await api(node.url, 'GET', `/orgs/${org.slug}/projects/${project.id}`, undefined, ana.token)).status).toBe(200);
    expect((await api(node.url, 'GET', `/orgs/no-such-org-${org.slug}`, undefined, ana.token)).status).toBe(404);
    // Paths no route has, under the API and beside the web board's files (which the board's catch-all answers).
    for (const path of [`/api/v1/no-such-route/${org.slug}`, `/no-such-file-${org.slug}.js`])
      expect((await fetch(`${node.url}${path}`)).status).toBe(404);

    const text = await scrape();
    expect(sample(text, 'taskflow_socket_events_total{event="board:join",outcome="ok"}')).toBe(1);
    expect(sample(text, 'taskflow_socket_events_total{event="task:create",outcome="ok"}')).toBe(1);
    expect(sample(text, 'taskflow_socket_events_total{event="task:update",outcome="VALIDATION_FAILED"}')).toBe(1);
    expect(sample(text, 'taskflow_socket_events_total{event="unknown",outcome="VALIDATION_FAILED"}')).toBe(1);
    expect(sample(text, 'taskflow_socket_event_seconds_count{event="task:create"}')).toBe(1);
    expect(sample(text, 'taskflow_sockets')).toBe(1);
    const [inUse, idle] = [sample(text, 'taskflow_db_connections{state="in_use"}'), sample(text, 'taskflow_db_connections{state="idle"}')];
    expect(inUse! + idle!).toBeGreaterThanOrEqual(1); // the pool's connections, of its ten
    expect(inUse! + idle!).toBeLessThanOrEqual(10);
    expect(sample(text, 'taskflow_db_waiting')).toBe(0);
    expect(sample(text, 'taskflow_http_requests_total{method="POST",route="/api/v1/orgs/:slug/projects",status="201"}')).toBe(1);
    expect(sample(text, 'taskflow_http_requests_total{method="GET",route="/api/v1/orgs/:slug/projects/:projectId",status="200"}')).toBe(1);
    expect(sample(text, 'taskflow_http_requests_total{method="GET",route="/api/v1/orgs/:slug",status="404"}')).toBe(1);
    expect(sample(text, 'taskflow_http_request_seconds_count{method="POST",route="/api/v1/auth/register"}')).toBe(1);
    expect(sample(text, 'taskflow_http_requests_total{method="GET",route="unmatched",status="404"}')).toBe(2);
    expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds \d/m);
    for (const secret of [org.slug, org.id, project.id, task.id, ana.user.id, ana.email, 'Secret launch plans', 'Globex', madeUp])
      expect(text).not.toContain(secret);
    expect(text).not.toContain('taskflow_redis_link'); // a node without Redis has no link to show
  });

  it("shows whether a clustered node's links to Redis are up", async () => {
    let redis: RedisProcess | undefined = await startRedis();
    const port = await freePort();
    const clustered = await startServer({ DATABASE_URL: db.url, REDIS_URL: redis.url, METRICS_PORT: String(port) });
    const links = async () => {
      const answer = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return ['publisher', 'subscriber'].map((client) => sample(answer, `taskflow_redis_link{client="${client}"}`));
    };
    try {
      await eventually(async () => expect(await links()).toEqual([1, 1]));
      await redis.stop();
      redis = undefined;
      await eventually(async () => expect(await links()).toEqual([0, 0]));
    } finally {
      await clustered.close();
      await redis?.stop();
    }
  });

  it('listens on this host only unless METRICS_HOST says otherwise', () => {
    expect(loadConfig({ METRICS_PORT: '9464', JWT_SECRET: TEST_JWT_SECRET })).toMatchObject({
      metricsPort: 9464,
      metricsHost: '127.0.0.1',
    });
    expect(loadConfig({ JWT_SECRET: TEST_JWT_SECRET })).toMatchObject({ metricsPort: null });
  });

  it('is not served on the public port, and answers nothing else on its own', async () => {
    expect(await (await fetch(`${node.url}/metrics`)).text()).not.toContain('taskflow_sockets'); // the web board's page, as for any path
    expect((await fetch(metricsUrl.replace('/metrics', '/'))).status).toBe(404);
    expect((await fetch(metricsUrl, { method: 'POST' })).status).toBe(404);
  });
});
