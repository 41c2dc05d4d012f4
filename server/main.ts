import { setTimeout as sleep } from 'node:timers/promises';
import { buildServer } from './app.js';
import { ConfigError, loadConfig } from './config.js';

/**
 * Runs a step of start-up; a configuration problem (a bad variable, a database that cannot be
 * opened or is open in another process, a port taken) ends it with one line.
 */
async function orExit<T>(step: () => T | Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}

/** Why a port cannot be listened on, by the error's code. */
const LISTEN_ERRORS: Record<string, string> = {
  EADDRINUSE: 'another process is listening there',
  EACCES: 'this user may not listen on that port',
  EADDRNOTAVAIL: 'no interface of this machine has that address',
  ENOTFOUND: 'no address is known by that name',
  EAI_AGAIN: 'the name could not be looked up (the DNS did not answer)',
};

const config = await orExit(loadConfig);
const server = await orExit(() => buildServer(config));
await orExit(server.migrate);
await orExit(async () => {
  try {
    await server.listen();
  } catch (error) {
    const why = LISTEN_ERRORS[(error as NodeJS.ErrnoException).code ?? ''];
    if (!why) throw error;
    await server.close().catch(() => {});
    const where = (error as { listening?: string }).listening ?? `${config.host}:${config.port} (PORT, HOST)`;
    throw new ConfigError(`cannot listen on ${where}: ${why}`);
  }
});

/** The longest a stop may take before the process exits regardless. */
const STOP_WITHIN_MS = 30_000;
/**
 * How long the log's last lines get to be written, or to fail, before the process exits. The log
 * goes to stdout a line at a time, each write finishing a moment later (pino's sonic-boom, async);
 * lines still queued at exit are written then, synchronously, and where whoever read stdout has
 * gone (a log shipper that died, `| head`) that write fails EPIPE and is tried again every 100 ms
 * for ever (sonic-boom's `flushSync`): the process never ended (the operator review). Once a write
 * has failed EPIPE, pino drops every line after it. The logger tells of no write under way (its
 * `flush` answers at once), so this is a margin of time, not a signal: a quarter of a second of
 * the event loop, in which the answer to the write under way (its I/O long done, the answer
 * waiting for the loop, which the stop kept busy) comes back first.
 */
const LOG_SETTLE_MS = 250;

async function exitAfterLog(code: number): Promise<never> {
  await sleep(LOG_SETTLE_MS);
  process.exit(code);
}

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, async () => {
    if (stopping) return;
    stopping = true;
    server.app.log.info({ signal }, 'shutting down');
    // A stop answers the work under way first (`close`); whatever still holds it up after this
    // long (a peer that never answers, a statement stuck on a lock) does not keep the process.
    setTimeout(() => {
      server.app.log.error('shutdown timed out; exiting');
      void exitAfterLog(1);
    }, STOP_WITHIN_MS).unref();
    try {
      await server.close();
    } catch (error) {
      server.app.log.error({ err: error }, 'the stop failed');
      await exitAfterLog(1);
    }
    server.app.log.info('stopped');
    await exitAfterLog(0);
  });
}
