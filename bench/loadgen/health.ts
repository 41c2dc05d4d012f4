import { monitorEventLoopDelay } from 'node:perf_hooks';
import { round, type Summary } from '../lib/stats.js';
import type { GeneratorHealth } from './protocol.js';

const LIMIT_MS = 10;

/** Watches this process's event loop for the length of a job. */
export function watchHealth(): { stop(sendLag?: Summary): GeneratorHealth } {
  const histogram = monitorEventLoopDelay({ resolution: 5 });
  histogram.enable();
  return {
    stop(sendLag) {
      histogram.disable();
      // The histogram counts the sampling interval itself in each delay: take it out.
      const p99 = Math.max(0, histogram.percentile(99) / 1e6 - 5);
      const max = Math.max(0, histogram.max / 1e6 - 5);
      return {
        loopDelayP99Ms: round(p99),
        loopDelayMaxMs: round(max),
        ...(sendLag ? { sendLag } : {}),
        bound: p99 > LIMIT_MS || (sendLag !== undefined && sendLag.p99 > LIMIT_MS),
      };
    },
  };
}
