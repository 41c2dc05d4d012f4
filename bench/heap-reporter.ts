// Preloaded into the bench's server processes (`node --expose-gc --import tsx --import bench/heap-reporter.ts`):
// on SIGUSR2, collects garbage twice and writes process.memoryUsage() to BENCH_HEAP_FILE, numbered,
// so the bench reads a server's heap without an endpoint in the server itself.
import { renameSync, writeFileSync } from 'node:fs';

const file = process.env.BENCH_HEAP_FILE;
const gc = (globalThis as { gc?: () => void }).gc;
if (file) {
  let seq = 0;
  process.on('SIGUSR2', () => {
    seq += 1;
    gc?.();
    gc?.();
    writeFileSync(`${file}.tmp`, JSON.stringify({ ...process.memoryUsage(), seq }));
    renameSync(`${file}.tmp`, file);
  });
}
