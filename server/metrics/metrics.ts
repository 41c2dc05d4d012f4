import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ClientEventName } from '../../shared/events.js';
import type { Orm } from '../db/orm.js';
import type { LendingClient } from '../db/settle.js';
import type { RedisLink } from '../realtime/redis.js';
import type { TaskFlowServer } from '../realtime/types.js';
import { WEB_CATCH_ALL } from '../http/web.routes.js';

/**
 * What a node counts for Prometheus. Nothing of any tenant's is in a label (no org, board, user,
 * key or address): only the contract's event names, route patterns, status and error codes, so a
 * scrape shows how the node does, never whose work it did.
 */
export interface Metrics {
  /** A socket event answered: its name as the client sent it (counted as `unknown` unless it is the contract's), `ok` or its error code, and how long it took. */
  socketEvent(event: unknown, outcome: string, seconds: number): void;
  /** A webhook delivery tried: `delivered`, `failed` (tried again later) or `gave_up` (its last try). */
  webhookTry(outcome: WebhookTryOutcome): void;
}

export type WebhookTryOutcome = 'delivered' | 'failed' | 'gave_up';

/** The contract's events, the only names a label may carry (a record, so that the compiler asks for each). */
const CLIENT_EVENTS: Record<ClientEventName, true> = {
  'board:join': true,
  'board:leave': true,
  'task:create': true,
  'task:update': true,
  'task:move': true,
  'task:delete': true,
  'column:create': true,
  'column:update': true,
  'column:move': true,
  'column:delete': true,
  'presence:update': true,
};

/** An event's name as a label: the contract's, or `unknown` for any a client made up. */
function eventLabel(name: unknown): string {
  return typeof name === 'string' && Object.hasOwn(CLIENT_EVENTS, name) ? name : 'unknown';
}

/** The metrics of a node that serves none (`METRICS_PORT` unset): nothing is counted. */
export const NO_METRICS: Metrics = { socketEvent: () => undefined, webhookTry: () => undefined };

/** Seconds, from a millisecond to the longest `ANSWER_DEADLINE` a node is likely to have. */
const ANSWER_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30];

/** A registry for one node: the process's own metrics (CPU, memory, event loop, GC) and TaskFlow's. */
export function createMetrics(
  io: TaskFlowServer,
  orm: Orm,
  redis: RedisLink | null,
  build: string,
): { metrics: Metrics; registry: Registry } {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  new Gauge({
    name: 'taskflow_build_info',
    help: 'The build this node runs (`build`: a hash of its sources), always 1',
    labelNames: ['build'],
    registers,
  }).set({ build }, 1);
  const socketEvents = new Counter({
    name: 'taskflow_socket_events_total',
    help: 'Socket events answered, by event and outcome (ok, or the error code)',
    labelNames: ['event', 'outcome'],
    registers,
  });
  const socketEventSeconds = new Histogram({
    name: 'taskflow_socket_event_seconds',
    help: 'Time from a socket event to its answer, by event',
    labelNames: ['event'],
    buckets: ANSWER_BUCKETS,
    registers,
  });
  new Gauge({
    name: 'taskflow_sockets',
    help: 'Sockets connected to this node',
    registers,
    collect() {
      this.set(io.of('/').sockets.size);
    },
  });
  // The node's database connections (its pool of POOL_SIZE): a pool always in use, with work
  // waiting for a connection, is the database's or the node's limit showing.
  const pool = () => (orm.em.getConnection().getKnex().client as LendingClient).pool;
  new Gauge({
    name: 'taskflow_db_connections',
    help: "This node's database connections, by state (in_use, idle)",
    labelNames: ['state'],
    registers,
    collect() {
      const lending = pool();
      this.set({ state: 'in_use' }, lending?.numUsed() ?? 0);
      this.set({ state: 'idle' }, lending?.numFree() ?? 0);
    },
  });
  new Gauge({
    name: 'taskflow_db_waiting',
    help: 'Work of this node waiting for a database connection',
    registers,
    collect() {
      this.set(pool()?.numPendingAcquires() ?? 0);
    },
  });
  // A node whose subscriber is down hears no other node's broadcasts (its sockets miss their
  // events until the link is back and they catch up); one whose publisher is down keeps its own.
  if (redis) {
    new Gauge({
      name: 'taskflow_redis_link',
      help: "Whether this node's link to Redis is up (1) or down (0), by client (publisher, subscriber)",
      labelNames: ['client'],
      registers,
      collect() {
        const linked = redis.linked();
        this.set({ client: 'publisher' }, Number(linked.publisher));
        this.set({ client: 'subscriber' }, Number(linked.subscriber));
      },
    });
  }
  const webhookTries = new Counter({
    name: 'taskflow_webhook_tries_total',
    help: 'Webhook deliveries tried by this node, by outcome (delivered, failed and to be tried again, gave_up)',
    labelNames: ['outcome'],
    registers,
  });
  return {
    registry,
    metrics: {
      socketEvent(name, outcome, seconds) {
        const event = eventLabel(name);
        socketEvents.inc({ event, outcome });
        socketEventSeconds.observe({ event }, seconds);
      },
      webhookTry: (outcome) => webhookTries.inc({ outcome }),
    },
  };
}

/** Counts the app's HTTP requests answered, by method, route pattern (`unmatched` where no route was found) and status, with their time. */
export function countHttpRequests(app: FastifyInstance, registry: Registry): void {
  const registers = [registry];
  const requests = new Counter({
    name: 'taskflow_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status',
    labelNames: ['method', 'route', 'status'],
    registers,
  });
  const seconds = new Histogram({
    name: 'taskflow_http_request_seconds',
    help: 'Time from an HTTP request to its answer, by method and route pattern',
    labelNames: ['method', 'route'],
    buckets: ANSWER_BUCKETS,
    registers,
  });
  app.addHook('onResponse', async (request, reply) => {
    // The pattern, never the path: ids and slugs stay out, and so does any path a client makes up.
    // The web board's catch-all answers 404 for a path no route has, as Fastify's own not-found does.
    const pattern = request.routeOptions.url;
    const route = pattern === undefined || (pattern === WEB_CATCH_ALL && reply.statusCode === 404) ? 'unmatched' : pattern;
    const method = KNOWN_METHODS.has(request.method) ? request.method : 'other';
    requests.inc({ method, route, status: String(reply.statusCode) });
    seconds.observe({ method, route }, reply.elapsedTime / 1000);
  });
}

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * Serves `GET /metrics` on a port of its own (`METRICS_PORT`), apart from the public one, for
 * Prometheus to scrape from inside the deployment; anything else there is 404. Answers its URL,
 * and how to close it.
 */
export async function serveMetrics(registry: Registry, host: string, port: number): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
      () => response.writeHead(500, { 'content-type': 'text/plain' }).end('could not collect the metrics\n'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    // Which setting to name, where start-up stops on it (`main.ts`).
    server.once('error', (error) => reject(Object.assign(error, { listening: `${host}:${port} (METRICS_PORT, METRICS_HOST)` })));
    server.listen(port, host, () => resolve());
  });
  const { address, family, port: bound } = server.address() as AddressInfo;
  return {
    url: `http://${family === 'IPv6' ? `[${address}]` : address}:${bound}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
