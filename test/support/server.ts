import { type BuildOptions, buildServer, type TaskFlow } from '../../server/app.js';
import { type Config, loadConfig } from '../../server/config.js';

export const TEST_JWT_SECRET = 'test-secret-that-is-long-enough-for-hs256-0123456789';

export interface RunningServer {
  url: string;
  server: TaskFlow;
  close(): Promise<void>;
}

/**
 * Builds, migrates and starts a server on a free port of 127.0.0.1, in this process; `options` go to
 * `buildServer` (a mailer that keeps what it is given, for example).
 */
export async function startServer(env: Record<string, string | undefined>, options?: BuildOptions): Promise<RunningServer> {
  const config: Config = loadConfig({ PORT: '0', HOST: '127.0.0.1', JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'silent', ...env });
  const server = await buildServer(config, options);
  await server.migrate();
  const url = await server.listen();
  return { url, server, close: () => server.close() };
}
