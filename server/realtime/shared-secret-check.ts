import { createHmac, randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';

/** The hash of the nodes' marks: node id → `<mark> <until>` (ms since the epoch). */
const KEY = 'taskflow:jwt-secret-marks';
/** How often a node renews its mark and reads the others'. */
const EVERY_MS = 20_000;
/** How long a node's mark counts after it last renewed it: a node killed without its stop drops out then. */
const KEPT_MS = 60_000;

/**
 * Nodes on one Redis must sign tokens with the same `JWT_SECRET`: otherwise each refuses the tokens
 * the others sign (a 401 now and then, as the load balancer sends a client here or there) and the
 * changes of access they send (their kicks reach no one here). Nothing else would tell the
 * operator why, so each node keeps a mark of its secret in Redis (an HMAC of a fixed text, which
 * tells nothing of the secret), renewed every `EVERY_MS`, and reads the others': a mark not its own
 * is warned of once; the first round says how many nodes share the secret. Redis away is no one's
 * concern here: the next round tries again.
 */
export function checkSharedSecret(redis: Redis, secret: string, log: FastifyBaseLogger) {
  const node = randomUUID();
  const mark = createHmac('sha256', secret).update('taskflow: one JWT_SECRET on every node').digest('base64url').slice(0, 16);
  const warned = new Set<string>();
  let told = false;
  let timer: NodeJS.Timeout | null = null;

  const round = async () => {
    const now = Date.now();
    await redis
      .multi()
      .hset(KEY, node, `${mark} ${now + KEPT_MS}`)
      .pexpire(KEY, KEPT_MS)
      .exec();
    const marks = new Map<string, string>(); // node → mark, of the nodes whose mark still counts
    for (const [other, value] of Object.entries(await redis.hgetall(KEY))) {
      const [otherMark = '', until] = value.split(' ');
      if (Number(until) >= now) marks.set(other, otherMark);
      else await redis.hdel(KEY, other);
    }
    const unlike = [...marks.values()].filter((other) => other !== mark);
    const unwarned = unlike.filter((other) => !warned.has(other));
    if (unwarned.length > 0) {
      for (const other of unwarned) warned.add(other);
      log.warn(
        { nodes: marks.size, unlike: unlike.length },
        'another node on this Redis signs tokens with a JWT_SECRET not this one: each refuses the tokens the other signs (401) and its changes of access; set the same JWT_SECRET on every node',
      );
    } else if (!told) log.info({ nodes: marks.size }, 'the nodes on this Redis, this one among them, all sign tokens with this JWT_SECRET');
    told = true;
  };
  const run = () =>
    round().catch((error: unknown) =>
      log.debug({ err: error }, 'the check of the nodes’ JWT_SECRET could not reach Redis; tried again later'),
    );

  return {
    start(): void {
      void run();
      timer = setInterval(() => void run(), EVERY_MS).unref();
    },
    /** Takes this node's mark away (a node killed without a stop drops out `KEPT_MS` after its last round). */
    async stop(): Promise<void> {
      if (timer) clearInterval(timer);
      await redis.hdel(KEY, node).catch(() => undefined);
    },
  };
}
