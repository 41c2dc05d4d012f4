import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';

/** Where `npm run build:web` puts the web board (`scripts/web-build.ts`). */
export const WEB_ROOT = fileURLToPath(new URL('../../client/web/dist', import.meta.url));

/** The route of the board's pages and files: a 404 from it is a path no route has (`countHttpRequests`: `unmatched`). */
export const WEB_CATCH_ALL = '/*';

/**
 * Serves the web board at `/` when it has been built: its files, and `index.html` for any other
 * page a browser asks for (the board routes on the client). The API and socket.io keep their paths.
 * The files found at the start have routes of their own; one written since (a build while the
 * server runs, whose new page names it) is found on disk when asked for.
 */
export function webRoutes(root = WEB_ROOT) {
  return async (app: FastifyInstance) => {
    if (!existsSync(path.join(root, 'index.html'))) {
      app.log.info({ root }, 'no web board built (npm run build:web); serving the API only');
      return;
    }
    await app.register(fastifyStatic, { root, wildcard: false, index: 'index.html', cacheControl: false, setHeaders: cacheFor });
    app.get(WEB_CATCH_ALL, (request, reply) => {
      const wantsPage = (request.headers.accept ?? '').includes('text/html'); // a GET, or the HEAD Fastify makes of it
      const ours = request.url.startsWith('/api/') || request.url.startsWith('/socket.io/');
      const built = ours ? null : builtFile(root, (request.params as { '*': string })['*']);
      if (built) return reply.sendFile(built);
      if (!wantsPage || ours) {
        return reply.status(404).send({ error: { code: 'NOT_FOUND', message: `no route GET ${request.url.split('?')[0]}` } });
      }
      return reply.sendFile('index.html'); // its cache-control from `cacheFor`, as for `/`
    });
  };
}

/** The path of a file under `root` named by a URL's path, if there is one. */
function builtFile(root: string, urlPath: string): string | null {
  const base = path.resolve(root);
  const file = path.resolve(base, `./${urlPath}`);
  if (!file.startsWith(base + path.sep)) return null;
  try {
    return statSync(file).isFile() ? path.relative(base, file) : null;
  } catch {
    return null;
  }
}

/**
 * The page is asked again each time (it names the current build's files), whose names change with
 * their content (`assets/index-<hash>.js`), so they are kept for good.
 */
function cacheFor(reply: FastifyReply, file: string): void {
  const hashed = path.basename(path.dirname(file)) === 'assets';
  reply.header('cache-control', hashed ? 'public, max-age=31536000, immutable' : 'no-cache');
}
