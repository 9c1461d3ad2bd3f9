// Loaded into the tap with `node --import` by bench/memory-trace.ts: appends process.memoryUsage()
// as one JSON line every TRACE_EVERY_MS (default 250) to TRACE_FILE, and writes a heap snapshot
// into TRACE_DIR at each of TRACE_SNAPSHOT_AT (seconds after start, comma-separated). Nothing of
// the tap is changed; the timers are unref'd so that they never keep it alive.
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';

const file = process.env.TRACE_FILE;
const started = performance.now();
if (file !== undefined) {
  const sample = () => {
    const m = process.memoryUsage();
    appendFileSync(file, `${JSON.stringify({ t: Math.round(performance.now() - started), ...m })}\n`);
  };
  setInterval(sample, Number(process.env.TRACE_EVERY_MS ?? 250)).unref();
  process.once('exit', sample);
}
for (const at of (process.env.TRACE_SNAPSHOT_AT ?? '').split(',').filter((s) => s.trim() !== '')) {
  setTimeout(() => {
    const path = writeHeapSnapshot(join(process.env.TRACE_DIR ?? '.', `at-${at}s.heapsnapshot`));
    process.stderr.write(`trace: heap snapshot ${path}\n`);
  }, Number(at) * 1000).unref();
}
