/**
 * `npx tsx scripts/slow-body.ts [MB/s]`: one get-visits body of about 100 MB (10,000 sessions of
 * up to 99 visits, three days) arriving steadily at MB/s (default 1) from the test server, read by
 * the tap in-process under the default request_timeout (60 s). Prints the body size, the
 * requests, the records written and the exit code. Takes about 100 s at 1 MB/s: a manual check,
 * not a test.
 */
import { Writable } from 'node:stream';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../src/clock.js';
import { runTap } from '../src/tap.js';
import { startFakeApi } from '../test/fake-api/server.js';

const rate = Number(process.argv[2] ?? 1);
const api = await startFakeApi({
  dataset: { zone: 'UTC', sessionIntervalSeconds: 26, visitsPerSession: 99, extraFields: true, conversionEvery: 1_000_000 },
  rateLimit: { limit: 100_000, windowMs: 60_000 },
  bodyRate: { bytesPerChunk: 64 * 1024, intervalMs: Math.round((64 * 1024) / (rate * 1e6) * 1000), endpoints: ['visits'] },
});
const dir = mkdtempSync(join(tmpdir(), 'tap-wemasy-slow-body-'));
const config = join(dir, 'config.json');
writeFileSync(
  config,
  JSON.stringify({
    api_token: 'test-token',
    base_url: api.url,
    start_date: '2026-01-02',
    end_date: '2026-01-05',
    window_size: 'P3D',
    session_lookback: 'PT1S',
    session_batch_size: 10_000,
    adaptive_windows: false,
    requests_per_minute: 60_000,
  }),
);
let records = 0;
let bytes = 0;
const stdout = new Writable({
  write(chunk: Buffer, _encoding, callback) {
    bytes += chunk.length;
    records += chunk.toString('utf8').split('"type":"RECORD","stream":"visits"').length - 1;
    callback();
  },
});
let stderr = '';
const started = Date.now();
const code = await runTap(['--config', config, '--catalog', await visitsOnly()], {
  stdout,
  writeStderr: (line) => void (stderr += line),
  env: {},
  clock: systemClock,
});
const seconds = (Date.now() - started) / 1000;
const visits = api.requests.filter((r) => r.endpoint === 'visits');
// The body's size: the same request again, at full speed.
api.setBodyRate(undefined);
const again = await fetch(`${api.url}/services/analytics/v1/sessions/get-visits`, {
  method: 'POST',
  headers: { Authorization: 'Bearer test-token', 'Content-Type': 'application/json' },
  body: visits[0]?.rawBody ?? '{}',
});
const bodyBytes = (await again.arrayBuffer()).byteLength;
await api.close();
process.stdout.write(
  `exit ${code}; get-visits body ${(bodyBytes / 1e6).toFixed(1)} MB in ${seconds.toFixed(0)} s; visits requests ${visits.length} ` +
    `(statuses ${visits.map((r) => r.status).join(',')}); visit records ${records}; stdout ${(bytes / 1e6).toFixed(1)} MB\n`,
);
if (code !== 0) process.stdout.write(stderr.split('\n').filter((l) => /WARN|CRITICAL/.test(l)).join('\n') + '\n');

/** A catalog that selects only visits (sessions and conversions would add nothing here). */
async function visitsOnly(): Promise<string> {
  const catalog = JSON.parse(await import('node:fs/promises').then((fs) => fs.readFile(new URL('../catalog.json', import.meta.url), 'utf8'))) as {
    streams: { tap_stream_id: string; metadata: { breadcrumb: string[]; metadata: Record<string, unknown> }[] }[];
  };
  for (const stream of catalog.streams) {
    const root = stream.metadata.find((m) => m.breadcrumb.length === 0);
    if (root !== undefined) root.metadata.selected = stream.tap_stream_id === 'visits';
  }
  const path = join(dir, 'catalog.json');
  writeFileSync(path, JSON.stringify(catalog));
  return path;
}
