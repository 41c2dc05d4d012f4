import { randomBytes, randomUUID } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { z } from 'zod';

/** The longest duration any setting takes: ten years, in seconds. */
const LONGEST_DURATION = 3650 * 86400;

/** Durations like `1h`, `15m`, `30s`, `7d`, or plain seconds: at least a second (none means "never"), at most `longest` seconds. */
const durationUpTo = (longest: number, said: string) =>
  z
    .string()
    .regex(/^\d+\s*[smhd]?$/, 'a duration such as 3600, 30s, 15m, 1h or 7d')
    .transform((text) => {
      const unit = text.at(-1)!;
      const factor = { s: 1, m: 60, h: 3600, d: 86400 }[unit] ?? 1;
      return Number.parseInt(text, 10) * factor;
    })
    .pipe(z.number().min(1, 'at least 1 second').max(longest, `at most ${said}`));

/** A duration reckoned as a date (a token's or an invitation's end): at most ten years. */
const duration = durationUpTo(LONGEST_DURATION, '3650d');

/**
 * A duration the node waits out with a timer: at most 24 days. Node's timers wait at most
 * 2^31 - 1 ms (24.8 days) and fire a longer one at once, so an `ANSWER_DEADLINE` of 30d answered
 * every request 503 at once, and a `PRESENCE_REFRESH` of 30d refreshed every millisecond.
 */
const timerDuration = durationUpTo(24 * 86400, '24d');

/** PostgreSQL's largest `integer` (a board's `seq`, and what is counted against it), and the most any whole-number setting takes. */
const INT4_MAX = 2_147_483_647;

/** A URL whose scheme is one of `schemes`. */
const urlOf = (...schemes: string[]) =>
  z.url({
    protocol: new RegExp(`^(${schemes.join('|')})$`),
    error: `a URL starting ${schemes.map((scheme) => `${scheme}://`).join(' or ')}`,
  });

/** A whole number written in digits, from `min` to `max`. */
const wholeNumber = (min: number, max = INT4_MAX) =>
  z
    .string()
    .regex(/^\d+$/, `a whole number from ${min} to ${max}`)
    .transform(Number)
    .pipe(z.number().min(min, `at least ${min}`).max(max, `at most ${max}`));

/**
 * Origins, as a browser sends them (`https://app.example.com`): CORS compares them as text, so
 * each is written as its origin (a trailing slash dropped); one with a path, or not on http(s), is refused.
 */
const originList = z.string().transform((text, ctx): string[] => {
  const origins: string[] = [];
  for (const entry of text.split(',').map((s) => s.trim())) {
    if (!entry) continue;
    const url = URL.canParse(entry) ? new URL(entry) : null;
    if (!url || !['http:', 'https:'].includes(url.protocol) || url.pathname !== '/' || url.search || url.hash || url.username) {
      ctx.addIssue({
        code: 'custom',
        message: `${JSON.stringify(entry)} is not an origin: give scheme://host[:port], e.g. https://app.example.com`,
      });
      return z.NEVER;
    }
    origins.push(url.origin);
  }
  return origins;
});

/**
 * A Redis URL; the number of its database, if any, at the end of its path (`redis://host:6379/2`).
 * ioredis would take any other path as database `NaN` and stop the start with a stack trace.
 */
const redisUrl = urlOf('redis', 'rediss').refine(
  (url) => {
    if (!URL.canParse(url)) return true; // refused as no URL already
    const { pathname, searchParams } = new URL(url);
    return /^\/?\d*$/.test(pathname) && /^\d*$/.test(searchParams.get('db') ?? '');
  },
  { error: 'a database number, if any, at the end: redis://host:6379/2' },
);

/**
 * A mail's sender, as an address (`board@example.com`) or a name and one (`TaskFlow
 * <board@example.com>`): something@somewhere, as loosely as mail servers take it (`noreply@localhost`).
 */
const mailbox = z
  .string()
  .refine((text) => /^[^\s@<>]+@[^\s@<>]+$/.test(/^[^<>]*<([^<>]+)>$/.exec(text.trim())?.[1]?.trim() ?? text.trim()), {
    error: 'an address, such as board@example.com or TaskFlow <board@example.com>',
  });

const PROXY_EXAMPLE = 'give true, or the proxy addresses and CIDR ranges (e.g. 10.0.0.5,10.1.0.0/16)';

/**
 * Whose `X-Forwarded-For` to believe (Fastify's `trustProxy`): `true` (any peer), or the proxies'
 * addresses and CIDR ranges (and proxy-addr's names `loopback`, `linklocal`, `uniquelocal`). Not a
 * hop count: it cannot tell the proxy from a client that connects directly and forges the header,
 * which is why Fastify 5 ignores one (it would silently trust nobody).
 */
const trustProxy = z.string().transform((text, ctx): boolean | string[] => {
  const value = text.trim();
  if (value === 'true') return true;
  if (value === 'false') return false;
  if (/^\d+$/.test(value)) {
    ctx.addIssue({ code: 'custom', message: `a hop count cannot tell the proxy from a client that connects directly; ${PROXY_EXAMPLE}` });
    return z.NEVER;
  }
  const entries = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = entries.find((entry) => !isProxyAddress(entry));
  if (bad !== undefined) {
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(bad)} is not an IP address or CIDR range; ${PROXY_EXAMPLE}` });
    return z.NEVER;
  }
  return entries;
});

function isProxyAddress(entry: string): boolean {
  if (['loopback', 'linklocal', 'uniquelocal'].includes(entry)) return true;
  const [address = '', prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  // proxy-addr refuses a /0 too: a range that holds every address is `true`.
  return /^\d{1,3}$/.test(prefix) && Number(prefix) >= 1 && Number(prefix) <= (family === 4 ? 32 : 128);
}

const envSchema = z.object({
  PORT: wholeNumber(0, 65535).default(3000),
  HOST: z.string().default('127.0.0.1'),
  DATABASE_URL: urlOf('postgres', 'postgresql').optional(),
  DATA_DIR: z.string().default('./data'),
  REDIS_URL: redisUrl.optional(),
  JWT_SECRET: z
    .string()
    .refine((secret) => secret.trim().length >= 32, { error: 'at least 32 characters, not counting spaces at either end' })
    .optional(),
  TOKEN_TTL: duration.default(3600),
  CORS_ORIGINS: originList.optional(),
  SUPER_ADMIN_EMAILS: z
    .string()
    .transform((text) =>
      text
        .split(',')
        .map((s) => s.trim().toLowerCase())
        .filter(Boolean),
    )
    .pipe(z.array(z.email({ error: (issue) => `${JSON.stringify(issue.input)} is not an email address` })))
    .default([]),
  SOCKET_RATE_LIMIT: wholeNumber(0).default(100),
  // A message of 1 MiB, the most one may hold, is then paid for in under 16 s, within a ping's timeout (20 s):
  // one connection that sends one is not dropped for it (several at once may be, README).
  SOCKET_READ_LIMIT: wholeNumber(0)
    .refine((kib) => kib === 0 || kib >= 64, '0 (off), or at least 64')
    .default(1024),
  SOCKET_BACKLOG_LIMIT: wholeNumber(1).default(16),
  NODE_BACKLOG_LIMIT: wholeNumber(1).default(256),
  ANSWER_DEADLINE: timerDuration.default(20),
  BOARD_EVENT_RETENTION: wholeNumber(10).default(10_000),
  PRESENCE_REFRESH: timerDuration.default(10),
  PUBLIC_URL: urlOf('http', 'https').optional(),
  REGISTRATION: z.enum(['open', 'invited']).default('open'),
  SMTP_URL: urlOf('smtp', 'smtps').optional(),
  MAIL_FROM: mailbox.optional(),
  INVITE_TTL: duration.default(7 * 86400),
  TRUST_PROXY: trustProxy.default(false),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  METRICS_PORT: wholeNumber(0, 65535).optional(),
  METRICS_HOST: z.string().default('127.0.0.1'),
  WEBHOOK_ALLOW_PRIVATE: z.enum(['true', 'false']).default('false'),
  WEBHOOK_ATTEMPTS: wholeNumber(1, 20).default(6),
  WEBHOOK_RETRY_DELAY: duration.default(10),
});

export interface Config {
  port: number;
  host: string;
  /** A PostgreSQL connection string, or null for the embedded PGlite in `dataDir`. */
  databaseUrl: string | null;
  dataDir: string;
  /** Null runs a single node on the in-memory adapter. */
  redisUrl: string | null;
  jwtSecret: string;
  /** Access token lifetime, in seconds. */
  tokenTtl: number;
  /** Null means same origin only. */
  corsOrigins: string[] | null;
  superAdminEmails: string[];
  /** Who may create an account: anyone (`open`), or (`invited`) only with an invitation's token, or as the first account, by an address of `superAdminEmails`. */
  registration: 'open' | 'invited';
  /** Events per second per socket; 0 turns the limit off. */
  socketRateLimit: number;
  /** KiB a second an account's connections may send the node, in bursts of twice that; 0 turns the limit off. */
  socketReadLimit: number;
  /** How many megabytes may wait for one connection whose client does not read before it is dropped. */
  socketBacklogLimit: number;
  /** How many megabytes the node may hold for all its connections' clients before it drops those holding the most. */
  nodeBacklogLimit: number;
  /** How long, in seconds, a socket event, an HTTP request or a handshake may wait for its answer before it is answered UNAVAILABLE. */
  answerDeadline: number;
  /** How many of its latest events each board keeps, for replay, retries and merges. */
  eventRetention: number;
  /** How often, in seconds, each node re-reads who is on its boards (to notice a node that died). */
  presenceRefresh: number;
  /** Where people reach the server, for links in mail; defaults to http://HOST:PORT. */
  publicUrl: string;
  /** How long an invitation stays valid, in seconds. */
  inviteTtl: number;
  /** Where mail (invitations, password-reset links) is sent (`smtp://user:pass@host:587`, `smtps://…`), and as whom; null logs each mail instead. */
  smtp: { url: string; from: string } | null;
  /**
   * Whose `X-Forwarded-For` gives the client's address (`request.ip`: the login throttle, the audit
   * log): false for nobody (the TCP peer is the client), true for any peer, or the proxies' addresses.
   */
  trustProxy: boolean | string[];
  logLevel: string;
  /** Where `GET /metrics` is served for Prometheus, apart from the public port; null serves none. */
  metricsPort: number | null;
  /** The address the metrics port listens on: this host only unless set. */
  metricsHost: string;
  /** Whether webhooks may reach loopback, private and link-local addresses (a receiver inside the deployment). */
  webhookAllowPrivate: boolean;
  /** Tries a webhook delivery gets in all. */
  webhookAttempts: number;
  /** The wait, in seconds, after a delivery's first failed try; each later wait is four times the one before. */
  webhookRetryDelay: number;
}

/** A configuration problem, with one line naming the variable. */
export class ConfigError extends Error {}

/** Parses the environment once. An empty variable counts as unset. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`invalid configuration: ${String(issue.path[0])}: ${issue.message}`);
  }
  const e = parsed.data;
  const dataDir = path.resolve(e.DATA_DIR);
  let jwtSecret = e.JWT_SECRET;
  if (!jwtSecret) {
    if (e.DATABASE_URL) throw new ConfigError('invalid configuration: JWT_SECRET: required when DATABASE_URL is set');
    jwtSecret = embeddedSecret(dataDir);
  }
  if (e.SMTP_URL && !e.MAIL_FROM) throw new ConfigError('invalid configuration: MAIL_FROM: required when SMTP_URL is set');
  if (e.METRICS_PORT && e.METRICS_PORT === e.PORT) throw new ConfigError('invalid configuration: METRICS_PORT: must differ from PORT');
  return {
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL ?? null,
    dataDir,
    redisUrl: e.REDIS_URL ?? null,
    jwtSecret,
    tokenTtl: e.TOKEN_TTL,
    corsOrigins: e.CORS_ORIGINS ?? null,
    superAdminEmails: e.SUPER_ADMIN_EMAILS,
    registration: e.REGISTRATION,
    socketRateLimit: e.SOCKET_RATE_LIMIT,
    socketReadLimit: e.SOCKET_READ_LIMIT,
    socketBacklogLimit: e.SOCKET_BACKLOG_LIMIT,
    nodeBacklogLimit: e.NODE_BACKLOG_LIMIT,
    answerDeadline: e.ANSWER_DEADLINE,
    eventRetention: e.BOARD_EVENT_RETENTION,
    presenceRefresh: e.PRESENCE_REFRESH,
    publicUrl: (e.PUBLIC_URL ?? `http://${isIP(e.HOST) === 6 ? `[${e.HOST}]` : e.HOST}:${e.PORT}`).replace(/\/+$/, ''),
    inviteTtl: e.INVITE_TTL,
    smtp: e.SMTP_URL ? { url: e.SMTP_URL, from: e.MAIL_FROM! } : null,
    trustProxy: e.TRUST_PROXY,
    logLevel: e.LOG_LEVEL,
    metricsPort: e.METRICS_PORT ?? null,
    metricsHost: e.METRICS_HOST,
    webhookAllowPrivate: e.WEBHOOK_ALLOW_PRIVATE === 'true',
    webhookAttempts: e.WEBHOOK_ATTEMPTS,
    webhookRetryDelay: e.WEBHOOK_RETRY_DELAY,
  };
}

/**
 * The embedded mode's secret: generated once and kept in the data folder. Written aside and
 * linked into place, so that a write that failed part-way (a full disk) leaves no empty secret
 * that every later start would stop on; a folder it cannot write, or a secret file too short to
 * be one (written by hand), stops the start with one line naming it.
 */
function embeddedSecret(dataDir: string): string {
  const file = path.join(dataDir, 'jwt-secret');
  let kept: string | null = null;
  try {
    kept = readFileSync(file, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw dataDirFileError('read', file, error);
  }
  if (kept !== null) {
    if (kept.length < 32)
      throw new ConfigError(`${file} (DATA_DIR) holds no secret of 32 characters or more: delete it, and a new one is made`);
    return kept;
  }
  const secret = randomBytes(48).toString('base64url');
  const draft = `${file}.${randomUUID()}`;
  try {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(draft, secret, { mode: 0o600, flag: 'wx' });
    linkSync(draft, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return embeddedSecret(dataDir); // another start made it meanwhile
    throw dataDirFileError('write', file, error);
  } finally {
    rmSync(draft, { force: true });
  }
  return secret;
}

/** The one line for a file of DATA_DIR that cannot be read or written (the secret, the lock), with the system's code. */
export function dataDirFileError(action: 'read' | 'write', file: string, error: unknown): ConfigError {
  return new ConfigError(`cannot ${action} ${file} (DATA_DIR): ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
}
