import { setTimeout as sleep } from 'node:timers/promises';
import cors from '@fastify/cors';
import Fastify, { type FastifyInstance } from 'fastify';
import { adminRoutes } from './admin/admin.routes.js';
import { apiKeyRoutes } from './api-keys/api-keys.routes.js';
import { authRoutes } from './auth/auth.routes.js';
import { createLoginThrottle } from './auth/login-throttle.js';
import { BoardQueue } from './board/board-queue.js';
import { RunningChanges } from './board/running-changes.js';
import { SenderOrder } from './board/sender-order.js';
import { createInviteMailLimit } from './orgs/invite-mail-limit.js';
import { findLogged } from './board/board-change.js';
import { BoardEventOrder } from './board/board-event-order.js';
import { BoardLocator } from './board/board-target.js';
import { registerTokens } from './auth/tokens.js';
import { createResetMailLimit } from './auth/reset-mail-limit.js';
import type { Config } from './config.js';
import type { AppContext } from './context.js';
import { migrate } from './db/migrate.js';
import { openDatabase, POOL_SIZE } from './db/orm.js';
import { settleDatabaseWork } from './db/settle.js';
import { type SilentConnectionWatch, watchSilentConnections } from './db/silent-connections.js';
import { answerInTime } from './http/answer-deadline.js';
import { warnOfUnnamedProxy } from './http/route-kit.js';
import { FailureLog } from './failure-log.js';
import { answerClientError, answerFrameworkError, registerErrorHandling } from './http/errors.js';
import { countRequests } from './http/in-flight.js';
import { acceptEmptyJsonBodies } from './http/json-body.js';
import { lingerAfterEarlyAnswers } from './http/lingering-close.js';
import { loggedError } from './logged-error.js';
import { loggedRequest } from './http/request-log.js';
import { requestTimeouts } from './http/request-timeout.js';
import { answerInTurn, closeStalledAnswers } from './http/stalled-answers.js';
import { shedBacklogs } from './node-backlog.js';
import { securityHeaders } from './http/security-headers.js';
import { InFlight } from './in-flight.js';
import { Lanes, Turns } from './lanes.js';
import { createAccountLanes } from './account-lanes.js';
import { PasswordTurns } from './auth/password-turns.js';
import { labelRoutes } from './labels/labels.routes.js';
import { logMailer, MailOutbox, type Mailer } from './mail/mailer.js';
import { smtpMailer } from './mail/smtp-mailer.js';
import { databaseCheck, healthRoutes } from './http/health.routes.js';
import { webRoutes } from './http/web.routes.js';
import { orgRoutes } from './orgs/orgs.routes.js';
import { expireNoopRecords } from './board/retried-change.js';
import { createPresence } from './presence/presence.js';
import { projectRoutes } from './projects/projects.routes.js';
import { accessSweep, isMember, type Sweep, sweepAfterOutages } from './realtime/access-sweep.js';
import { checkNodesAlike } from './realtime/alike-nodes.js';
import { relayAccessOrders } from './realtime/access-relay.js';
import { createBroadcaster } from './realtime/broadcaster.js';
import { connectRedis, refuseMisconfiguredRedis } from './realtime/redis.js';
import { WebhookDispatch } from './webhooks/webhook-dispatch.js';
import { webhookRoutes } from './webhooks/webhooks.routes.js';
import { AccessOrders } from './realtime/access-orders.js';
import { MAX_MESSAGE_BYTES } from '../shared/events.js';
import { coalesceWrites } from './realtime/coalesced-writes.js';
import { acceptSockets, closeConnections, createSocketServer } from './realtime/socket-server.js';
import type { TaskFlowServer } from './realtime/types.js';
import { taskRoutes } from './tasks/tasks.routes.js';
import { buildId } from './build-id.js';
import { countHttpRequests, createMetrics, NO_METRICS, serveMetrics } from './metrics/metrics.js';

export interface TaskFlow {
  app: FastifyInstance;
  io: TaskFlowServer;
  ctx: AppContext;
  /** The watch for database connections PostgreSQL stopped answering (`watchSilentConnections`). */
  silentConnections: SilentConnectionWatch;
  /** Applies pending migrations, and logs which it applied. */
  migrate(): Promise<void>;
  /** Listens on the configured host and port (port 0 picks a free one); answers the URL. */
  listen(): Promise<string>;
  /**
   * Stops: the socket events and HTTP requests under way are carried through and answered first
   * (new ones get UNAVAILABLE meanwhile, for at most `DRAIN_MS`; what is still unanswered then
   * waits on the database, whose statements are cancelled so that it is answered UNAVAILABLE,
   * within `ANSWER_MS`, rather than by its connection closing); then each socket's connection
   * closes once what is queued for it is written (at most `CLOSE_MS`), and the HTTP server closes;
   * the changes whose answer was lost are looked for in the log once more (at most `LOOK_MS`);
   * database work that outlived its answer gets `SETTLE_MS` to end, and what then still runs is
   * cancelled, or cut (`settleDatabaseWork`); Redis and the database close. Mail still going out is
   * waited for until `MAIL_MS` after the stop takes no more work, and what is not out by then is
   * logged.
   */
  close(): Promise<void>;
}

/** How long a stop waits for the work under way to be answered. */
const DRAIN_MS = 10_000;
/** How long a stop whose wait ran out gives the work it then cancelled to be answered. */
const ANSWER_MS = 1_000;
/** How long a stop then waits for the sockets' last packets to be written. */
const CLOSE_MS = 2_000;
/** How long a stop looks in the log for the changes whose answer it lost. */
const LOOK_MS = 1_000;
/** How long a stop waits for database work that outlived its answer before cancelling it. */
const SETTLE_MS = 5_000;
/** How long a stop waits for the mail going out, once it takes no more requests: longer than an SMTP server may take to fail. */
const MAIL_MS = 15_000;
/** How often the pool's connections are looked at for one PostgreSQL stopped answering (`watchSilentConnections`). */
const SILENCE_CHECK_MS = 1_000;

/** What a server is built with besides its configuration: the mailer, and settings for tests. */
export interface BuildOptions {
  /** Where mail goes; by default it is logged. */
  mailer?: Mailer;
  /** For tests only: how long a request may take to arrive (`REQUEST_TIMEOUT_MS` otherwise). */
  requestTimeoutMs?: number;
  /** For tests only: how long an answer may wait for its client to take any of it (`STALLED_ANSWER_MS` otherwise). */
  stalledAnswerMs?: number;
  /** For tests only: how long a stop waits for the work under way to be answered (`DRAIN_MS` otherwise). */
  drainMs?: number;
  /** For tests only: where the log goes (standard output otherwise). */
  logStream?: { write(line: string): void };
  /** For tests only: the build the node says it runs (`buildId()`, a hash of its sources, otherwise). */
  build?: string;
}

/** Builds the whole server without opening a port: tests build as many as they need. */
export async function buildServer(config: Config, options: BuildOptions = {}): Promise<TaskFlow> {
  if (config.redisUrl) await refuseMisconfiguredRedis(config.redisUrl);
  const app = Fastify({
    logger: {
      level: config.logLevel,
      redact: ['req.headers.authorization'],
      serializers: { req: loggedRequest, err: loggedError },
      stream: options.logStream,
    },
    bodyLimit: MAX_MESSAGE_BYTES,
    forceCloseConnections: true,
    frameworkErrors: answerFrameworkError,
    clientErrorHandler: answerClientError,
    trustProxy: config.trustProxy,
    ...requestTimeouts(options.requestTimeoutMs),
  });
  const database = await openDatabase(config, {
    warn: (message) => app.log.warn({ driver: 'knex' }, String(message)),
    error: (message) => app.log.error({ driver: 'knex' }, String(message)),
  });
  if (!config.databaseUrl)
    app.log.info({ dataDir: config.dataDir }, `the embedded database (PGlite) in ${config.dataDir}: set DATABASE_URL to use PostgreSQL`);
  const failures = new FailureLog(app.log);
  registerErrorHandling(app, failures);
  acceptEmptyJsonBodies(app);
  lingerAfterEarlyAnswers(app);
  answerInTurn(app);
  answerInTime(app, config.answerDeadline * 1000, failures);
  if (config.trustProxy === false) warnOfUnnamedProxy(app);
  const inFlight = new InFlight();
  const requests = countRequests(app, inFlight);
  // Every method a route answers to: @fastify/cors allows only GET, HEAD and POST unless told.
  if (config.corsOrigins) await app.register(cors, { origin: config.corsOrigins, methods: ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE'] });
  await securityHeaders(app);
  const tokens = await registerTokens(app, config.jwtSecret, config.tokenTtl);
  const build =
    options.build ??
    (await buildId().catch((error: unknown) => {
      app.log.warn({ err: error }, 'the build id could not be read from the sources: this node tells its build as "unknown"');
      return 'unknown';
    }));

  const redis = config.redisUrl ? connectRedis(config.redisUrl, app.log) : null;
  const io = createSocketServer(app.server, { corsOrigins: config.corsOrigins, publicUrl: config.publicUrl, adapter: redis?.adapter });
  // Once socket.io is attached: engine.io takes over the server's `request` listeners, and calls those
  // there before it only for requests not its own, where the watch must see its long-polling answers too.
  const httpAnswers = closeStalledAnswers(app, options.stalledAnswerMs);
  const shedding = shedBacklogs(io, httpAnswers, config.nodeBacklogLimit * 2 ** 20, app.log);
  const mail = new MailOutbox(options.mailer ?? (config.smtp ? smtpMailer(config.smtp.url, config.smtp.from) : logMailer(app.log)));
  const writes = coalesceWrites(io, app.log);
  const presence = createPresence(io, app.log, {
    refreshMs: config.presenceRefresh * 1000,
    clustered: redis !== null,
    writeNow: writes.writeNow,
  });
  const observed = config.metricsPort === null ? null : createMetrics(io, database.orm, redis, build);
  if (observed) countHttpRequests(app, observed.registry);
  let metricsServer: { url: string; close(): Promise<void> } | null = null;
  /** Whether the public port was had: a start stopped before it has no work to account for. */
  let listening = false;
  const accessOrders = new AccessOrders(io, presence);
  // Made once the context is (below); the relay's first call of `onDatabaseGap` comes only after a
  // link of its broke, and a change of access fails only once requests are taken, long after this function has returned.
  let sweepAccess: Sweep | null = null;
  let sweepAfterOutage: Sweep | null = null;
  // Nodes on one Redis tell each other of changes of access, through Redis and the database.
  const accessRelay = redis
    ? relayAccessOrders(io, accessOrders, {
        databaseUrl: config.databaseUrl,
        secret: config.jwtSecret,
        log: app.log,
        isMember: (userId, orgId) => isMember(database.orm, userId, orgId),
        onDatabaseGap: () => sweepAccess?.run(),
        onCatchUp: () => sweepAfterOutage?.run(),
      })
    : null;
  const noopExpiry = expireNoopRecords(database.orm, app.log);
  const alikeNodes = redis ? checkNodesAlike(redis.client, { jwtSecret: config.jwtSecret, build }, app.log) : null;
  const broadcaster = createBroadcaster(io, accessOrders, presence, accessRelay, () => sweepAccess?.run());
  const ctx: AppContext = {
    config,
    orm: database.orm,
    log: app.log,
    broadcaster,
    tokens,
    mail,
    loginThrottle: createLoginThrottle(redis?.client ?? null),
    inviteMailLimit: createInviteMailLimit(redis?.client ?? null),
    resetMailLimit: createResetMailLimit(redis?.client ?? null),
    locator: new BoardLocator(database),
    boardQueue: new BoardQueue(database.orm),
    accountLanes: createAccountLanes(config.socketRateLimit),
    passwordTurns: new PasswordTurns(),
    boardTurns: new Lanes(1),
    arrivals: new Turns(POOL_SIZE / 2),
    eventOrder: new BoardEventOrder(broadcaster, (orgId, projectId, change) => findLogged(database.orm, orgId, projectId, change)),
    runningChanges: new RunningChanges(),
    senderOrder: new SenderOrder(),
    inFlight,
    failures,
    metrics: observed?.metrics ?? NO_METRICS,
    webhooks: new WebhookDispatch(database.orm, app.log, observed?.metrics ?? NO_METRICS, {
      allowPrivate: config.webhookAllowPrivate,
      attempts: config.webhookAttempts,
      retryDelay: config.webhookRetryDelay,
    }),
  };
  const sockets = acceptSockets(io, ctx, presence, accessOrders);
  const silentConnections = watchSilentConnections(database.orm, {
    afterMs: config.answerDeadline * 1000,
    everyMs: Math.min(SILENCE_CHECK_MS, (config.answerDeadline * 1000) / 2),
    onCut: (backendPid, silentMs) =>
      app.log.warn(
        { backendPid, silentMs },
        'cut a database connection that PostgreSQL had stopped answering (its session was idle or gone)',
      ),
  });
  sweepAccess = accessSweep(io, ctx);
  if (redis) sweepAfterOutage = sweepAfterOutages(io, ctx, redis);

  await app.register(
    healthRoutes({
      database: databaseCheck(database.orm),
      ...(redis ? { redis: redis.ping } : {}),
    }),
  );
  await app.register(
    async (api) => {
      await api.register(authRoutes(ctx));
      await api.register(orgRoutes(ctx));
      await api.register(projectRoutes(ctx));
      await api.register(taskRoutes(ctx));
      await api.register(labelRoutes(ctx));
      await api.register(apiKeyRoutes(ctx));
      await api.register(webhookRoutes(ctx));
      await api.register(adminRoutes(ctx));
    },
    { prefix: '/api/v1' },
  );
  await app.register(webRoutes());

  /** Settles the database work still under way at a stop (`settleDatabaseWork`), logging what it had to cancel or cut. */
  const settleDatabase = async (within: { waitMs: number; cancelMs: number }) => {
    const { cancelled, cut } = await settleDatabaseWork(database.orm, within);
    if (cancelled > 0) app.log.warn({ cancelled }, 'statements still running at the stop were cancelled');
    if (cut > 0) app.log.warn({ sessions: cut }, 'sessions still running at the stop could not be cancelled, and were cut');
  };

  return {
    app,
    io,
    ctx,
    silentConnections,
    migrate: async () => {
      const applied = await migrate(database.orm, config.databaseUrl, app.log);
      if (applied.length > 0) app.log.info({ migrations: applied }, `applied ${applied.length} migration(s)`);
    },
    listen: async () => {
      accessRelay?.start();
      // The metrics port first: one it cannot have stops the start before the public port takes anyone.
      if (observed) metricsServer = await serveMetrics(observed.registry, config.metricsHost, config.metricsPort!);
      const address = await app.listen({ port: config.port, host: config.host });
      listening = true;
      app.log.info({ build }, 'serving this build');
      if (metricsServer) app.log.info({ url: metricsServer.url }, 'serving metrics');
      ctx.webhooks.start();
      alikeNodes?.start();
      noopExpiry.start();
      if (!options.mailer && !config.smtp)
        app.log.warn('no SMTP_URL: invitations and password-reset links are written to this log (at info), not mailed');
      if (isWildcardHost(new URL(config.publicUrl).hostname))
        app.log.warn(
          { publicUrl: config.publicUrl },
          'PUBLIC_URL is not an address people can reach: set it, or invitation links will point nowhere',
        );
      return address;
    },
    close: async () => {
      const began = Date.now();
      // The answered requests' mail goes out meanwhile; it is waited for until MAIL_MS after the
      // stop took no more requests, within the 30 s a stop has (main.ts), so that what is not out is logged.
      const mailDeadline = began + MAIL_MS;
      const underWay = inFlight.size;
      requests.turnAwayArriving();
      // Its mark goes first: the nodes of a new build, started once this one is told to stop, do not meet it.
      await alikeNodes?.stop();
      if (!(await inFlight.drain(options.drainMs ?? DRAIN_MS))) {
        // What is still unanswered waits on the database (a lock held elsewhere, say): cancelled,
        // it is answered UNAVAILABLE, which the client retries elsewhere, before its connection closes.
        await settleDatabase({ waitMs: 0, cancelMs: SETTLE_MS });
        await inFlight.drain(ANSWER_MS);
      }
      presence.close();
      sockets.stop();
      shedding.stop();
      sweepAccess.stop();
      sweepAfterOutage?.stop();
      await noopExpiry.stop();
      await ctx.webhooks.stop(); // a try cut short is tried again once its lease runs out, here or on another node
      // What the stop carried through and turned away, for the operator of a rolling restart.
      const drained = { underWay, refused: inFlight.refused, drainMs: Date.now() - began, sockets: io.of('/').sockets.size };
      if (listening) app.log.info(drained, 'work under way answered; closing the sockets');
      await closeConnections(io, CLOSE_MS);
      // io.close() waits for the HTTP server to close, which waits for its connections: app.close()
      // closes those left (keep-alive ones, say) rather than waiting for them to time out.
      const ioClosed = new Promise<void>((resolve) => io.close(() => resolve()));
      await app.close();
      await ioClosed;
      // A change whose answer was lost may have committed: sent out while Redis is open, as no retry elsewhere will.
      await Promise.race([ctx.eventOrder.lookOnceMore(), sleep(LOOK_MS, undefined, { ref: false })]);
      // Work answered at its deadline may still commit: broadcast while Redis is open, or cancelled.
      await settleDatabase({ waitMs: SETTLE_MS, cancelMs: SETTLE_MS });
      // A change it could not find in the log (the database away from it), or what it published
      // while its link to Redis was down or silent, may have reached no other node, and no look or
      // return of the link here will now: the others send their sockets their boards' latest events.
      if (redis && (ctx.eventOrder.unsettled > 0 || !(await redis.publishedAll()))) await accessRelay?.catchUp();
      await accessRelay?.close();
      await redis?.close();
      silentConnections.stop();
      await database.close();
      // No request can write anything now, nor post mail: what is going out is all there is.
      if (mail.size > 0) app.log.warn({ mails: mail.size }, 'waiting for the mail still going out');
      await mail.settle(mailDeadline - Date.now());
      await metricsServer?.close(); // last: a scrape during the stop still sees it
    },
  };
}

/** Whether a URL's host name is "every interface" (HOST=0.0.0.0 or ::), which no link can point to. */
function isWildcardHost(hostname: string): boolean {
  return hostname === '0.0.0.0' || hostname === '[::]';
}
