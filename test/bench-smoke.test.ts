import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ADMIN_URL } from './support/database.js';

// `npm run bench -- --quick` end to end, so the harness cannot rot: every scenario must come back
// with numbers. Whether the budgets are met is the full run's business, not this test's.
const QUICK_RUN_MS = 240_000;
const out = mkdtempSync(path.join(tmpdir(), 'taskflow-bench-smoke-'));

afterAll(() => rmSync(out, { recursive: true, force: true }));

const isNumber = (value: unknown) => typeof value === 'number' && Number.isFinite(value);

describe('npm run bench -- --quick', () => {
  it(
    'measures every scenario and writes JSON and Markdown',
    async () => {
      const child = spawn('npx', ['tsx', 'bench/run.ts', '--quick', '--out', out], {
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
        env: { ...process.env, BENCH_DATABASE_URL: ADMIN_URL }, // the PostgreSQL the tests were given
      });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
      const timer = setTimeout(() => process.kill(-child.pid!, 'SIGTERM'), QUICK_RUN_MS - 10_000);
      const [code] = await once(child, 'exit');
      clearTimeout(timer);
      expect(code, output.slice(-4000)).toBe(0);

      const results = JSON.parse(readFileSync(path.join(out, 'latest-quick.json'), 'utf8'));
      const { throughput, fanout, connections, snapshot } = results.scenarios;
      expect(results.meta.mode).toBe('quick');
      const { budgetLoad } = throughput;
      for (const value of [throughput.pgbenchTps, throughput.pgbenchP99Ms, throughput.ratio, throughput.rounds[0].steps[0].ack.p99])
        expect(isNumber(value), JSON.stringify(throughput)).toBe(true);
      expect(budgetLoad.pairs).toHaveLength(1);
      const [pair] = budgetLoad.pairs;
      for (const value of [pair.ackP99, pair.pgbenchP99]) expect(isNumber(value), JSON.stringify(budgetLoad)).toBe(true);
      expect(budgetLoad.p99OverPgbenchMs).toBeCloseTo(pair.ackP99 - pair.pgbenchP99, 1);
      expect(typeof budgetLoad.clean).toBe('boolean');
      expect(typeof pair.baselineStalled).toBe('boolean');
      expect(budgetLoad.judged).toBe(1);
      // The generators read the events themselves (loadgen/wire-socket.ts): every one must be seen, once.
      const [first] = throughput.rounds[0].steps;
      expect(first.delivered, JSON.stringify(first)).toBe(first.expectedDeliveries);
      expect(first.ok, JSON.stringify(first)).toBe(first.sent);
      for (const run of [fanout.rounds[0].taskflow, fanout.rounds[0].relay]) {
        expect(isNumber(run.lastViewer.p99), JSON.stringify(run)).toBe(true);
        expect([run.losses, run.duplicates], JSON.stringify(run)).toEqual([0, 0]);
      }
      for (const run of [connections.taskflow, connections.relay]) {
        expect(run.opened, JSON.stringify(run)).toBe(1000);
        for (const value of [run.rate, run.heapPerSocket, run.rssPerSocket, run.idleCpu])
          expect(isNumber(value), JSON.stringify(run)).toBe(true);
      }
      expect(isNumber(snapshot.latency.p99) && snapshot.tasks > 0, JSON.stringify(snapshot)).toBe(true);
      expect(isNumber(snapshot.rejoin.latency.p99) && snapshot.rejoin.events === 5, JSON.stringify(snapshot.rejoin)).toBe(true);
      expect(results.budgets.map((budget: { path: string }) => budget.path)).toHaveLength(8);
      const [, senderAck, reference] = results.budgets;
      expect(senderAck).toMatchObject({ budget: '≤ +10 ms', met: expect.any(Boolean) });
      expect(reference).toMatchObject({ budget: '—', met: null });
      const markdown = readFileSync(path.join(out, 'latest-quick.md'), 'utf8');
      expect(markdown).toContain('| path | TaskFlow |');
      expect(markdown).toContain('| round | rate | TaskFlow ack p99 |');
    },
    QUICK_RUN_MS,
  );
});
