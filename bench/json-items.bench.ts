/**
 * Micro-benchmark of src/api/json-items.ts against fetch + JSON.parse, on get-visits-like bodies.
 *
 *   npx tsx bench/json-items.bench.ts [counts...] [--runs N]     # default: 10000 100000 500000, 3 runs
 *
 * The parent process builds each body and serves it over local HTTP; every measurement runs in a
 * child process of its own, so that the peak RSS (getrusage maxRSS) is that case's alone. A run
 * is timed from fetch() to the last item handed out; each item is touched (one field read) so
 * that nothing is optimized away. The best of the runs is reported; peak RSS and peak heap are
 * the highest seen. RSS includes ~90 MB of Node + tsx; V8 lets RSS run ahead of the heap in use
 * when allocation is fast, so "peak heap used" is the figure that shows what the parser holds.
 */
import { fork } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseItemsStream } from '../src/api/json-items.js';
import { makeBody } from './lib/bodies.js';

type CaseName = 'JSON.parse' | 'parseItemsStream';
const CASES: readonly CaseName[] = ['JSON.parse', 'parseItemsStream'];

interface Result {
  readonly count: number;
  readonly ms: number;
  readonly maxRssMb: number;
  /** Highest V8 heapUsed seen (sampled between chunks, and once all items are parsed). */
  readonly maxHeapMb: number;
}

async function measure(name: CaseName, url: string): Promise<Result> {
  let count = 0;
  let sum = 0;
  const touch = (item: unknown): void => {
    count += 1;
    sum += (item as { time_spend: number }).time_spend;
  };
  let maxHeap = 0;
  const sample = (): void => {
    maxHeap = Math.max(maxHeap, process.memoryUsage().heapUsed);
  };
  const sampler = setInterval(sample, 5);
  const started = performance.now();
  const response = await fetch(url);
  if (response.body === null) throw new Error('no body');
  if (name === 'JSON.parse') {
    const body = JSON.parse(await response.text()) as { data: unknown[] };
    sample();
    for (const item of body.data) touch(item);
  } else {
    const stream = parseItemsStream(response.body);
    for await (const batch of stream.items) for (const item of batch) touch(item);
  }
  const ms = performance.now() - started;
  clearInterval(sampler);
  sample();
  if (Number.isNaN(sum)) throw new Error('bad items');
  return { count, ms, maxRssMb: process.resourceUsage().maxRSS / 1024, maxHeapMb: maxHeap / 2 ** 20 };
}

function runChild(name: CaseName, url: string): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), ['--child', name, url], { execArgv: process.execArgv });
    child.once('message', (message) => resolve(message as Result));
    child.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`${name} exited with ${code}`))));
  });
}

async function serve(body: Buffer): Promise<{ server: Server; url: string }> {
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    Readable.from(
      (function* () {
        for (let i = 0; i < body.length; i += 1 << 16) yield body.subarray(i, i + (1 << 16));
      })(),
    ).pipe(response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
}

async function main(args: string[]): Promise<void> {
  const runsAt = args.indexOf('--runs');
  const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 3;
  const counts = args.filter((arg, k) => /^\d+$/.test(arg) && k !== runsAt + 1).map(Number);
  console.log(`node ${process.version}, best of ${runs} runs, each in a child process`);
  console.log('| items | body | case | items/s | vs JSON.parse | peak RSS | peak heap used |');
  console.log('|---:|---:|---|---:|---:|---:|---:|');
  for (const count of counts.length > 0 ? counts : [10_000, 100_000, 500_000]) {
    const body = makeBody(count);
    const { server, url } = await serve(body);
    const best = new Map<CaseName, Result>();
    const peak = new Map<CaseName, number>();
    const heap = new Map<CaseName, number>();
    for (let run = 0; run < runs; run += 1) {
      for (const name of CASES) {
        const result = await runChild(name, url);
        if (result.count !== count) throw new Error(`${name}: ${result.count} items, expected ${count}`);
        if (result.ms < (best.get(name)?.ms ?? Infinity)) best.set(name, result);
        peak.set(name, Math.max(peak.get(name) ?? 0, result.maxRssMb));
        heap.set(name, Math.max(heap.get(name) ?? 0, result.maxHeapMb));
      }
    }
    server.close();
    const baseline = count / best.get('JSON.parse')!.ms;
    for (const name of CASES) {
      const rate = (count / best.get(name)!.ms) * 1000;
      console.log(
        `| ${count.toLocaleString('en')} | ${(body.length / 1e6).toFixed(1)} MB | ${name} | ${Math.round(rate).toLocaleString('en')} | ` +
          `${(rate / 1000 / baseline).toFixed(2)}× | ${peak.get(name)!.toFixed(0)} MB | ${heap.get(name)!.toFixed(0)} MB |`,
      );
    }
  }
}

if (process.argv[2] === '--child') {
  measure(process.argv[3] as CaseName, process.argv[4]!).then(
    (result) => process.send!(result, () => process.exit(0)),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
} else {
  await main(process.argv.slice(2));
}
