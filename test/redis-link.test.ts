import { fastify } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { connectRedis, type RedisLink } from '../server/realtime/redis.js';
import { type RedisProcess, startRedis } from './support/processes.js';
import { eventually } from './support/sockets.js';

// A node's link to Redis: two clients, a publisher and a subscriber. When Redis comes back, each
// reconnects on its own; the node's catch-up (access sweep, the boards' latest events) must run
// once for the outage, not once per client, or every socket gets each board's latest event again.
let redis: RedisProcess | undefined;
let link: RedisLink | undefined;

afterAll(async () => {
  await link?.close();
  await redis?.stop();
});

describe("a node's link to Redis", () => {
  it('recovers once per outage, when both its clients are back', async () => {
    redis = await startRedis();
    const port = redis.port;
    link = connectRedis(redis.url, fastify().log); // a logger that writes nothing
    let recoveries = 0;
    link.onRecovered(() => (recoveries += 1));
    await eventually(() => link!.ping());

    await redis.stop();
    await expect(link.ping()).rejects.toThrow();
    redis = await startRedis(port);
    await eventually(() => link!.ping(), 15_000); // publisher and subscriber both back
    expect(recoveries).toBe(1);
  }, 30_000);

  it("recovers when only its subscriber's link broke", async () => {
    // On the link and the Redis of the test before.
    const admin = new Redis(redis!.url);
    try {
      let recoveries = 0;
      link!.onRecovered(() => (recoveries += 1));
      const clients = String(await admin.client('LIST'));
      const subscriber = /id=(\d+) .*name=taskflow-sub/.exec(clients)?.[1];
      expect(subscriber, clients).toBeDefined();
      await admin.client('KILL', 'ID', subscriber!);
      await eventually(() => expect(recoveries).toBe(1), 15_000);
      await link!.ping();
    } finally {
      admin.disconnect();
    }
  });
});
