// Builds the web board before `npm start` when it has never been built or its sources changed
// since. A missing build is not fatal: the server then serves the API alone.
import { execSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const web = path.resolve('client/web');
const built = path.join(web, 'dist', 'index.html');
if (!existsSync(path.join(web, 'vite.config.ts'))) process.exit(0);

function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'dist' || entry.name === 'node_modules') continue;
    const full = path.join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(full) : statSync(full).mtimeMs);
  }
  return latest;
}

const sources = Math.max(newest(web), newest(path.resolve('client')), newest(path.resolve('shared')));
if (existsSync(built) && statSync(built).mtimeMs >= sources) process.exit(0);
try {
  execSync('npm run build:web', { stdio: 'inherit' });
} catch {
  console.error('the web board did not build; starting with the API only');
}
