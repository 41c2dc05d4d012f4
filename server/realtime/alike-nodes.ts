import { createHmac, randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';

/** The hash of the nodes' marks: node id → `<secret's mark> <build> <until>` (ms since the epoch). */
const KEY = 'taskflow:node-marks';
/** How often a node renews its mark and reads the others'. */
const EVERY_MS = 20_000;
/** How long a node's mark counts after it last renewed it: a node killed without its stop drops out then. */
const KEPT_MS = 60_000;
/**
 * How long after that a mark is taken out of the hash by another node: well past, so that a mark
 * renewed meanwhile (or by a node whose clock is some seconds apart) is not taken.
 */
const DROPPED_MS = 10 * 60_000;

interface Mark {
  secret: string;
  build: string;
}

/**
 * Nodes on one Redis must be alike in two ways nothing else would tell the operator of:
 * - the same `JWT_SECRET`: otherwise each refuses the tokens the others sign (a 401 now and then, as
 *   the load balancer sends a client here or there) and the changes of access they send;
 * - the same build: builds are not made to run beside each other (what nodes tell each other may
 *   differ between them), so an upgrade stops the old nodes before the new start.
 * Each node keeps its mark in Redis (its build, and an HMAC of a fixed text with its secret, from
 * which the secret cannot be read back: it could only test guesses of a weak one, as any token it
 * signs can), renewed every `EVERY_MS`, and reads the others': each secret or build not its own is
 * warned of once; the first round says how many nodes are alike. Redis away is no one's concern
 * here: the next round tries again.
 */
export function checkNodesAlike(redis: Redis, own: { jwtSecret: string; build: string }, log: FastifyBaseLogger) {
  const node = randomUUID();
  const mark: Mark = {
    secret: createHmac('sha256', own.jwtSecret).update('taskflow: one JWT_SECRET on every node').digest('base64url').slice(0, 16),
    build: own.build,
  };
  const warned = new Set<string>();
  let told = false;
  let timer: NodeJS.Timeout | null = null;

  const round = async () => {
    const now = Date.now();
    await redis
      .multi()
      .hset(KEY, node, `${mark.secret} ${mark.build} ${now + KEPT_MS}`)
      .pexpire(KEY, KEPT_MS + DROPPED_MS)
      .exec();
    const marks: Mark[] = []; // of the nodes whose mark still counts, this one's among them
    for (const [other, value] of Object.entries(await redis.hgetall(KEY))) {
      const [secret = '', build = '', until] = value.split(' ');
      if (Number(until) >= now) marks.push({ secret, build });
      else if (Number(until) < now - DROPPED_MS) await redis.hdel(KEY, other);
    }
    const unlike = (of: keyof Mark) => marks.filter((other) => other[of] !== mark[of]).map((other) => other[of]);
    const secrets = unlike('secret');
    const builds = unlike('build');
    const unwarned = (values: string[], of: keyof Mark) => values.filter((value) => !warned.has(`${of} ${value}`));
    if (unwarned(secrets, 'secret').length > 0)
      log.warn(
        { nodes: marks.length, unlike: secrets.length },
        'another node on this Redis signs tokens with a JWT_SECRET not this one: each refuses the tokens the other signs (401) and its changes of access; set the same JWT_SECRET on every node',
      );
    if (unwarned(builds, 'build').length > 0)
      log.warn(
        { nodes: marks.length, build: mark.build, others: [...new Set(builds)] },
        'another node on this Redis runs another build: builds are not made to serve together; stop the nodes of the old build before the new one starts',
      );
    for (const secret of secrets) warned.add(`secret ${secret}`);
    for (const build of builds) warned.add(`build ${build}`);
    if (!told && secrets.length === 0 && builds.length === 0)
      log.info(
        { nodes: marks.length, build: mark.build },
        'the nodes on this Redis, this one among them, run this build and sign tokens with this JWT_SECRET',
      );
    told = true;
  };
  const run = () =>
    round().catch((error: unknown) =>
      log.debug({ err: error }, 'the check that the nodes are alike could not reach Redis; tried again later'),
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
