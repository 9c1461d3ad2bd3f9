import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RecordedRequest } from '../../test/fake-api/server.js';

/** Repository root, dist/main.js and the shipped catalog. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const TAP_BIN = join(ROOT, 'dist/main.js');
export const CEILING_BIN = join(ROOT, 'bench/ceiling.mjs');
export const TOKEN = 'test-token';

export function writeJson(dir: string, name: string, value: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(value));
  return path;
}

interface CatalogFile {
  streams: { stream: string; metadata: { breadcrumb: string[]; metadata: Record<string, unknown> }[] }[];
}

/** The shipped catalog with exactly `streams` selected (stream-level `selected`). */
export function catalogSelecting(streams: readonly string[]): CatalogFile {
  const catalog = JSON.parse(readFileSync(join(ROOT, 'catalog.json'), 'utf8')) as CatalogFile;
  for (const entry of catalog.streams) {
    const top = entry.metadata.find((m) => m.breadcrumb.length === 0);
    if (top === undefined) throw new Error(`catalog.json: stream ${entry.stream} has no [] metadata`);
    top.metadata.selected = streams.includes(entry.stream);
  }
  return catalog;
}

export type Endpoint = 'sessions' | 'visits' | 'conversions';
export const ENDPOINTS: readonly Endpoint[] = ['sessions', 'visits', 'conversions'];

export interface RequestTally {
  readonly byEndpoint: Record<Endpoint, number>;
  readonly total: number;
  readonly status429: number;
  /** Answers other than 200 and 429 (or dropped). */
  readonly otherErrors: number;
}

export function tally(requests: readonly RecordedRequest[]): RequestTally {
  const byEndpoint: Record<Endpoint, number> = { sessions: 0, visits: 0, conversions: 0 };
  let status429 = 0;
  let otherErrors = 0;
  for (const r of requests) {
    if (r.endpoint !== 'unknown') byEndpoint[r.endpoint] += 1;
    if (r.status === 429) status429 += 1;
    else if (r.status !== 200) otherErrors += 1;
  }
  return { byEndpoint, total: requests.length, status429, otherErrors };
}

/**
 * The RECORD messages of a Singer stdout, per stream, each record as JSON with sorted keys,
 * sorted: two runs emitted the same records (as multisets) exactly when these lists are equal.
 */
export function recordSets(stdout: string): Map<string, string[]> {
  const sets = new Map<string, string[]>();
  for (const line of stdout.split('\n')) {
    if (line.length === 0) continue;
    const message = JSON.parse(line) as { type?: string; stream?: string; record?: unknown };
    if (message.type !== 'RECORD' || typeof message.stream !== 'string') continue;
    let list = sets.get(message.stream);
    if (list === undefined) sets.set(message.stream, (list = []));
    list.push(canonical(message.record));
  }
  for (const list of sets.values()) list.sort();
  return sets;
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function sameRecordSets(a: Map<string, string[]>, b: Map<string, string[]>): boolean {
  const streams = new Set([...a.keys(), ...b.keys()]);
  for (const stream of streams) {
    const x = a.get(stream) ?? [];
    const y = b.get(stream) ?? [];
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i += 1) if (x[i] !== y[i]) return false;
  }
  return true;
}

/** Records per stream that are emitted more than once (the same id twice). */
export function duplicateIds(set: readonly string[]): number {
  const ids = new Set<string>();
  let dups = 0;
  for (const json of set) {
    const id = String((JSON.parse(json) as { id?: unknown }).id);
    if (ids.has(id)) dups += 1;
    ids.add(id);
  }
  return dups;
}
