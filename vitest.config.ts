import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Checks, per test file, that nothing the helpers received carries a hidden field (DESIGN §3).
    setupFiles: ['test/support/no-secrets.setup.ts'],
    // The web board, built before any file runs when its sources changed (the browser tests serve it).
    globalSetup: ['test/support/web-build.global.ts'],
    testTimeout: 30_000,
    // A poll waits for what a user would see: after a sign-up (an argon2 hash), a reconnect or a
    // broadcast on a loaded two-core machine that is seconds, not the default second. It ends as
    // soon as the condition holds, so this costs a passing test nothing.
    expect: { poll: { timeout: 10_000 } },
    hookTimeout: 60_000,
    pool: 'forks',
    // Two files at a time. vitest's default on two cores is one (a core less than the machine has),
    // while most of a file's time is spent waiting on sockets, PostgreSQL, child processes and
    // browsers: one at a time the suite took 25 minutes here, two at a time 16.
    maxWorkers: 2,
    typecheck: { enabled: true, include: ['test/**/*.test-d.ts'] },
  },
});
