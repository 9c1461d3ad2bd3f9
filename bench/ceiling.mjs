#!/usr/bin/env node
/**
 * The ceiling of the throughput benchmark: the least a program must do to turn one get-visits
 * response into Singer output. It sends the request the tap sent (same URL, headers and body,
 * read from the JSON file named by argv[2]: {"url", "headers", "body", "stream"}), reads the
 * whole body with fetch (the tap's HTTP stack), JSON.parse-s it, and writes one line per item
 * of `data`, `{"type":"RECORD","stream":…,"record":item,"time_extracted":…}`, to stdout in
 * 64 KiB chunks with back-pressure. No validation, no date conversion, no field selection.
 *
 * Plain JavaScript run with `node`, so that no loader or transpiler is part of the measurement.
 * Prints `ceiling: N records, B bytes` (of the body) on stderr; exits 1 when the answer is not a 200 with a `data` list.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';

const spec = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const response = await fetch(spec.url, { method: 'POST', headers: spec.headers, body: spec.body });
const text = await response.text();
if (response.status !== 200) {
  process.stderr.write(`ceiling: HTTP ${response.status}: ${text.slice(0, 200)}\n`);
  process.exit(1);
}
const parsed = JSON.parse(text);
const items = parsed?.data;
if (!Array.isArray(items)) {
  process.stderr.write('ceiling: the body has no data list\n');
  process.exit(1);
}

const head = `{"type":"RECORD","stream":${JSON.stringify(spec.stream)},"record":`;
const tailText = `,"time_extracted":${JSON.stringify(new Date().toISOString())}}\n`;
let chunk = '';
for (const item of items) {
  chunk += head + JSON.stringify(item) + tailText;
  if (chunk.length >= 65_536) {
    if (!process.stdout.write(chunk)) await once(process.stdout, 'drain');
    chunk = '';
  }
}
if (chunk.length > 0 && !process.stdout.write(chunk)) await once(process.stdout, 'drain');
process.stderr.write(`ceiling: ${items.length} records, ${Buffer.byteLength(text)} bytes\n`);
