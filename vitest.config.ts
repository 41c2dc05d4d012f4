import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Checks, per test file, that nothing the helpers received carries a hidden field (DESIGN §3).
    setupFiles: ['test/support/no-secrets.setup.ts'],
    // The web board, built before any file runs when its sources changed (the browser tests serve it).
    globalSetup: ['test/support/web-build.global.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    typecheck: { enabled: true, include: ['test/**/*.test-d.ts'] },
  },
});
