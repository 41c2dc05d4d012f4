import { createAdapter } from '@socket.io/redis-adapter';
import type { FastifyBaseLogger } from 'fastify';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis, ReplyError } from 'ioredis';
import { ConfigError } from '../config.js';

export interface RedisLink {
  adapter: ReturnType<typeof createAdapter>;
  /** For other shared state (login throttling); its commands fail fast while Redis is away. */
  client: Redis;
  /** Resolves while both clients are linked: the publisher answers, and the subscriber is connected (what other nodes publish reaches this one). */
  ping(): Promise<void>;
  /** Whether each client's link is up now (for the metrics). */
  linked(): { publisher: boolean; subscriber: boolean };
  /**
   * Whether everything this node published reached Redis: no publish failed since the link was
   * last back, and Redis answers now (within a second, so that one still on its way is in).
   */
  publishedAll(): Promise<boolean>;
  /** Runs `callback` each time Redis answers again after an outage. */
  onRecovered(callback: () => void): void;
  close(): Promise<void>;
}

/**
 * The prefix of the adapter's pub/sub channels. Redis's pub/sub ignores the database number that
 * keys live in, so the channels carry it: deployments on one Redis server, each on a database of
 * its own (staging restored from production's backup, say), hear only their own nodes, whose
 * org and board ids may well be the same.
 */
function channelPrefix(client: Redis): string {
  return `taskflow:db${client.options.db ?? 0}`;
}

/**
 * Redis's refusals that a setting causes: a password missing or wrong, a database it has not got,
 * a Redis in protected mode that takes no one from outside.
 */
const REFUSED_SETTING = /^(NOAUTH|WRONGPASS|DENIED|ERR (DB index|invalid password))/;

/** The longest the check of `REDIS_URL` holds up a start. */
const CHECK_MS = 3000;

/**
 * Refuses to start on a `REDIS_URL` that its Redis refuses: a database number past those it has
 * (ioredis only logs the refused `SELECT` and goes on in database 0, among another deployment's
 * keys), or a password missing or wrong (every command would fail, read as an outage that never
 * ends). A Redis out of reach, or one that does not answer (frozen, still loading its data), is not
 * refused: the node starts after `CHECK_MS` at most, and links once Redis answers.
 */
export async function refuseMisconfiguredRedis(url: string): Promise<void> {
  const probe = new Redis(url, {
    lazyConnect: true,
    enableReadyCheck: false, // a Redis loading its data would hold the start until it had loaded
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: CHECK_MS,
    commandTimeout: CHECK_MS,
    connectionName: 'taskflow-check',
  });
  const isRefusal = (error: unknown): error is Error => error instanceof ReplyError && REFUSED_SETTING.test((error as Error).message);
  // A refused AUTH is told as an `error` event, as ioredis closes the connection under the commands.
  let refused = null as Error | null;
  probe.on('error', (error: unknown) => {
    if (isRefusal(error)) refused ??= error;
  });
  // Selected by a command of this check's own, whose refusal is its answer: the connection's own
  // SELECT reports one only as an `error` event, after the commands behind it may have been answered.
  const database = probe.options.db ?? 0;
  probe.options.db = 0;
  const failed = probe
    .connect()
    .then(() => probe.select(database)) // a password missing or refused fails it too
    .then(
      () => null,
      (error: unknown) => error,
    );
  const answer = await Promise.race([failed, sleep(CHECK_MS, null, { ref: false })]);
  probe.disconnect();
  if (isRefusal(answer)) refused ??= answer;
  // Out of reach, or not answering in time, is not this check's to judge.
  if (refused) throw new ConfigError(`invalid configuration: REDIS_URL: the Redis at ${new URL(url).host} refused it: ${refused.message}`);
}

/** How long a command waits for Redis's answer. */
const REDIS_COMMAND_TIMEOUT_MS = 1000;

/**
 * The socket.io Redis adapter on two ioredis clients. A Redis outage must not end the process:
 * the adapter does not catch failed publishes and unsubscribes, so they are logged and swallowed
 * here (the node keeps serving its own sockets, and clients fill gaps from the event log), and
 * both clients reconnect and resubscribe by themselves when Redis returns.
 */
export function connectRedis(url: string, log: FastifyBaseLogger): RedisLink {
  // Commands issued while Redis is down fail after one reconnect attempt instead of piling up, and
  // those a Redis that stopped answering (a frozen host) never answers fail after a second: the
  // login throttle then counts in memory, and a broadcast stays on this node.
  // Named, so that Redis's CLIENT LIST tells a node's two links apart.
  const pub = new Redis(url, { maxRetriesPerRequest: 1, commandTimeout: REDIS_COMMAND_TIMEOUT_MS, connectionName: 'taskflow-pub' });
  const sub = pub.duplicate({ maxRetriesPerRequest: null, commandTimeout: undefined, connectionName: 'taskflow-sub' });
  const recovered: Array<() => void> = [];
  let warned = false;
  // The clients whose link closed since it was last ready: what was published meanwhile may be
  // lost to them. The outage is over once none is left, and the recovery runs once for it.
  const lost = new Set<string>();
  let publishFailed = false; // since the link was last back
  for (const [name, client] of [
    ['publisher', pub],
    ['subscriber', sub],
  ] as const) {
    client.on('error', (error: Error) => {
      if (!warned) log.warn({ err: error, client: name }, 'redis unreachable; broadcasts stay on this node until it returns');
      warned = true;
      lost.add(name);
    });
    client.on('close', () => {
      lost.add(name);
    });
    client.on('ready', () => {
      if (!lost.delete(name) || lost.size > 0) return;
      publishFailed = false; // the recovery below asks every node to catch up
      log.info('redis is back');
      warned = false;
      for (const callback of recovered) callback();
    });
  }
  // The adapter does not catch these commands' failures (a publish while Redis is away, an
  // unsubscribe queued while it is away and dropped as the node stops): swallowed, so they cannot
  // end the process; what a lost publish carried, clients fill from the event log.
  for (const [client, command] of [
    [pub, 'publish'],
    [sub, 'punsubscribe'],
    [sub, 'unsubscribe'],
  ] as const) {
    const original = client[command].bind(client) as (...args: unknown[]) => Promise<unknown>;
    Object.assign(client, {
      [command]: (...args: unknown[]) =>
        original(...args).catch((error: Error) => {
          log.debug({ err: error, command }, 'redis command failed');
          if (command === 'publish') publishFailed = true;
          return 0;
        }),
    });
  }
  dropUnreadableMessages(sub, log);
  return {
    adapter: createAdapter(pub, sub, { key: channelPrefix(pub) }),
    client: pub,
    ping: async () => {
      await pub.ping();
      if (sub.status !== 'ready') throw new Error(`redis subscriber ${sub.status}`);
    },
    linked: () => ({ publisher: pub.status === 'ready', subscriber: sub.status === 'ready' }),
    publishedAll: () =>
      publishFailed
        ? Promise.resolve(false)
        : pub.ping().then(
            () => !publishFailed,
            () => false,
          ),
    onRecovered: (callback) => recovered.push(callback),
    close: async () => {
      pub.disconnect();
      sub.disconnect();
    },
  };
}

/**
 * What arrives on the adapter's channels is another node's message, or anyone's who can publish
 * there (a neighbour misconfigured onto the same channels, a tool): one the adapter cannot read
 * (its decoder throws in ioredis's data handler), or whose handling fails (an async handler's
 * rejection nobody awaits), is logged and dropped. Either ended the process, on every node at once
 * (the fault review: one `PUBLISH taskflow:db0#/# hello`). A node's own message whose handling
 * fails, a bug, is logged the same way, as an error.
 */
function dropUnreadableMessages(sub: Redis, log: FastifyBaseLogger): void {
  const emit = sub.emit.bind(sub);
  const dropped = (error: unknown, channel: unknown) =>
    log.error({ err: error, channel: String(channel) }, 'dropped a message on the redis channels that could not be read or handled');
  sub.emit = ((event: string | symbol, ...args: unknown[]) => {
    if (event !== 'messageBuffer' && event !== 'pmessageBuffer') return emit(event, ...args);
    const channel = event === 'pmessageBuffer' ? args[1] : args[0];
    for (const listener of sub.rawListeners(event) as Array<(...args: unknown[]) => unknown>) {
      try {
        const handled = listener.apply(sub, args);
        if (handled instanceof Promise) handled.catch((error: unknown) => dropped(error, channel));
      } catch (error) {
        dropped(error, channel);
      }
    }
    return true;
  }) as typeof sub.emit;
}
