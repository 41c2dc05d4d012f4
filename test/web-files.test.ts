import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webRoutes } from '../server/http/web.routes.js';

// The web board's files, served from a build folder of the test's own that it rebuilds while the server runs.
let root: string;
let app: FastifyInstance;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'taskflow-web-'));
  await mkdir(path.join(root, 'assets'));
  await writeFile(path.join(root, 'index.html'), '<script src="/assets/index-1.js"></script>');
  await writeFile(path.join(root, 'assets', 'index-1.js'), 'first build');
  app = Fastify();
  await app.register(webRoutes(root));
  await app.ready();
});

afterAll(async () => {
  await app.close();
  await rm(root, { recursive: true, force: true });
});

const get = (url: string, accept = '*/*') => app.inject({ method: 'GET', url, headers: { accept } });

describe('the web board after a build while the server runs', () => {
  it('serves the files the new page names, kept for good, and the page itself afresh', async () => {
    await writeFile(path.join(root, 'assets', 'index-2.js'), 'second build');
    await writeFile(path.join(root, 'index.html'), '<script src="/assets/index-2.js"></script>');

    const page = await get('/', 'text/html');
    expect(page.body).toContain('/assets/index-2.js');
    const script = await get('/assets/index-2.js');
    expect({ status: script.statusCode, body: script.body }).toEqual({ status: 200, body: 'second build' });
    expect(script.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const deepLink = await get('/acme/projects/x', 'text/html');
    expect(deepLink.body).toContain('/assets/index-2.js');
  });

  it('answers a file that is not there, or outside the build, as not found', async () => {
    await writeFile(path.join(path.dirname(root), `${path.basename(root)}-secret.txt`), 'not served');
    for (const url of ['/assets/index-3.js', `/../${path.basename(root)}-secret.txt`, '/%2e%2e/package.json', '/assets']) {
      const answer = await get(url);
      expect({ url, status: answer.statusCode }).toEqual({ url, status: 404 });
      expect(answer.body).not.toContain('not served');
    }
    await rm(path.join(path.dirname(root), `${path.basename(root)}-secret.txt`));
  });
});
