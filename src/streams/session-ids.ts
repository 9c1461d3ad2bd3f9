import { DateTime, type Duration } from 'luxon';
import type { WemasyApi } from '../api/wemasy.js';
import type { SessionId } from '../config/settings-types.js';
import { isJsonObject, type JsonValue } from '../json.js';
import type { Logger } from '../log.js';
import { createApiTimeConverter, toApiRange } from '../time/api-time.js';
import { formatInstant } from '../time/iso.js';
import { safeEdgeAtOrAfter, safeEdgeAtOrBefore, type Window } from '../time/windows.js';

/** Where visits and conversions get the session ids to ask for. */
export interface SessionIdSource {
  /** Every session that may have visits or conversions inside `window`. */
  idsFor(window: Window): Promise<readonly SessionId[]>;
}

/** `session_ids` from the config: the same ids for every window. */
export function configuredSessions(ids: readonly SessionId[]): SessionIdSource {
  return { idsFor: () => Promise.resolve(ids) };
}

/** A half-open UTC interval in epoch milliseconds. */
interface Span {
  start: number;
  end: number;
}

/** How far ahead of what a window needs the index may list, and how much it lists at once. */
export interface SessionIndexLimits {
  /** `per_page` asked of list-sessions (the paginator's own answer wins once known). */
  readonly pageSize: number;
  /** A listing chunk never spans more than this (the longest window, `max_window_size`). */
  readonly maxChunkMs: number;
}

const HOUR_MS = 3_600_000;

/**
 * The sessions whose ids visits and conversions ask for: ids with their creation instants, and
 * the spans of creation time whose sessions are all known.
 *
 * The `sessions` stream feeds it window by window as it emits records. When visits or
 * conversions need a window `[a, b)`, they need every session created in `[a - lookback, b)`;
 * whatever part of that is not known yet is listed in bounded chunks that follow the windows: a
 * chunk reaches past what the window needs by about one page of sessions (at the density seen so
 * far, never more than `maxChunkMs`), so that the next windows mostly find their sessions known
 * and a run lists each session about once. The sync releases the sessions older than the current
 * windows' start minus `session_lookback` (release()), so memory stays flat over any range.
 * Sessions learned by listing only lend their ids; they are never emitted as records.
 */
export class SessionIndex implements SessionIdSource {
  private ms: number[] = [];
  private ids: SessionId[] = [];
  private readonly seen = new Set<string>();
  /** Sessions whose creation time the API did not give: asked for in every window. */
  private readonly undated: SessionId[] = [];
  private covered: Span[] = [];
  private sorted = true;
  /** Sessions created before this were released and are not taken back. */
  private releasedBefore = -Infinity;
  /** The last listing: its span and how many sessions it held (the density of the next chunk). */
  private lastListing: { spanMs: number; count: number } | undefined;
  /** Sessions listed so far, and listing requests' chunks, for the summary. */
  private listedCount = 0;
  private chunks = 0;
  private readonly toUtc: (text: string) => string | undefined;

  constructor(
    private readonly api: WemasyApi,
    private readonly zone: string,
    private readonly lookback: Duration,
    /** The run's end: no listing reaches past it. */
    private readonly runEnd: DateTime,
    private readonly log: Logger,
    private readonly limits: SessionIndexLimits = { pageSize: 1000, maxChunkMs: 31 * 24 * HOUR_MS },
  ) {
    this.toUtc = createApiTimeConverter(zone);
  }

  /** Adds one session with its creation instant (epoch ms; undefined when the API gave none). */
  add(id: SessionId, createdAtMs: number | undefined): void {
    const dated = createdAtMs !== undefined && !Number.isNaN(createdAtMs);
    if (dated && createdAtMs < this.releasedBefore) return;
    const key = String(id);
    if (this.seen.has(key)) return;
    this.seen.add(key);
    if (!dated) {
      this.undated.push(id);
      return;
    }
    if (this.ms.length > 0 && createdAtMs < (this.ms[this.ms.length - 1] as number)) this.sorted = false;
    this.ms.push(createdAtMs);
    this.ids.push(id);
  }

  /** Records that every session created in `[start, end)` has been added. */
  markCovered(start: DateTime, end: DateTime): void {
    const spans = [...this.covered, { start: start.toMillis(), end: end.toMillis() }].sort((a, b) => a.start - b.start);
    const merged: Span[] = [];
    for (const span of spans) {
      const last = merged[merged.length - 1];
      if (last !== undefined && span.start <= last.end) last.end = Math.max(last.end, span.end);
      else merged.push({ ...span });
    }
    this.covered = merged;
  }

  /** Where each stream that asks for session ids has got to (follow/advance). */
  private readonly followers = new Map<string, number>();

  /** A stream that will ask for session ids from `from` on. */
  follow(stream: string, from: DateTime): void {
    this.followers.set(stream, from.toMillis());
  }

  /**
   * `stream` has read up to `to`: the sessions created before every follower's position minus
   * the lookback are done with and released, so memory stays flat over any range.
   */
  advance(stream: string, to: DateTime): void {
    this.followers.set(stream, to.toMillis());
    const oldest = Math.min(...this.followers.values());
    this.release(DateTime.fromMillis(oldest, { zone: 'utc' }).minus(this.lookback));
  }

  /** Forgets the sessions created before `before`: no window will ask for them again. */
  release(before: DateTime): void {
    const cut = before.toMillis();
    if (cut <= this.releasedBefore) return;
    this.sort();
    const n = lowerBound(this.ms, cut);
    for (let i = 0; i < n; i += 1) this.seen.delete(String(this.ids[i]));
    if (n > 0) {
      this.ms = this.ms.slice(n);
      this.ids = this.ids.slice(n);
    }
    this.covered = this.covered.filter((span) => span.end > cut);
    this.releasedBefore = cut;
  }

  /** Sessions held now (undated ones included): what memory the index takes. */
  get size(): number {
    return this.ids.length + this.undated.length;
  }

  /** One line for the end of the run. */
  summary(): string {
    return `session ids: listed ${this.listedCount} sessions in ${this.chunks} chunks for visits and conversions`;
  }

  async idsFor(window: Window): Promise<readonly SessionId[]> {
    const from = window.start.minus(this.lookback);
    await this.ensureCovered(from.toMillis(), window.end.toMillis());
    this.sort();
    const lo = lowerBound(this.ms, from.toMillis());
    const hi = lowerBound(this.ms, window.end.toMillis());
    return [...this.undated, ...this.ids.slice(lo, hi)];
  }

  /**
   * The end of a visits or conversions window that starts at `start`: `nominal`, or later (up to
   * `limit`) so that the sessions to ask for, those created in `[start - lookback, end)`, fill
   * whole batches of `batchSize`. The end becomes the creation instant of the first session that
   * would open another batch, or `limit` when none would before it. Only ever later: the window
   * then costs the same number of requests and covers more time. Lists ahead only until that
   * session is known.
   */
  async batchEnd(start: DateTime, nominal: DateTime, limit: DateTime, batchSize: number): Promise<DateTime> {
    const fromMs = start.minus(this.lookback).toMillis();
    const limitMs = limit.toMillis();
    await this.ensureCovered(fromMs, nominal.toMillis());
    this.sort();
    const lo = lowerBound(this.ms, fromMs);
    const hi = lowerBound(this.ms, nominal.toMillis());
    const count = this.undated.length + hi - lo;
    const full = Math.max(batchSize, Math.ceil(count / batchSize) * batchSize);
    const at = lo + full - this.undated.length;
    // One listing ahead at most (about a page, or the nominal window's length again): the window
    // then ends where the batches fill up or where the known sessions end, whichever is first,
    // so that a window's records and its STATE never wait for more than one extra listing.
    let known = this.coveredUntil(fromMs);
    if (!(this.ms[at] !== undefined && this.ms[at] < known) && known < limitMs) {
      const step = Math.max(this.aheadMs(), nominal.toMillis() - start.toMillis(), HOUR_MS);
      await this.ensureCovered(fromMs, Math.min(limitMs, known + step));
      this.sort();
      known = this.coveredUntil(fromMs);
    }
    const overflow = this.ms[at];
    const stopMs = Math.min(limitMs, known);
    if (overflow === undefined || overflow >= stopMs) {
      return stopMs >= limitMs ? limit : DateTime.fromMillis(stopMs, { zone: 'utc' });
    }
    const end = safeEdgeAtOrBefore(DateTime.fromMillis(overflow, { zone: 'utc' }), this.zone);
    return end > nominal ? end : nominal;
  }

  /** The end of the covered span that holds `from` (`from` itself when none does). */
  private coveredUntil(from: number): number {
    const span = this.covered.find((s) => s.start <= from && from < s.end);
    return span === undefined ? from : span.end;
  }

  /** The parts of `[from, to)` not covered yet. */
  private gaps(from: number, to: number): Span[] {
    const gaps: Span[] = [];
    let cursor = from;
    for (const span of this.covered) {
      if (span.end <= cursor) continue;
      if (span.start >= to) break;
      if (span.start > cursor) gaps.push({ start: cursor, end: span.start });
      cursor = Math.max(cursor, span.end);
    }
    if (cursor < to) gaps.push({ start: cursor, end: to });
    return gaps;
  }

  /** How far past what is needed a chunk may reach: about one page at the density last seen. */
  private aheadMs(): number {
    const last = this.lastListing ?? this.heldDensity();
    if (last === undefined) return 0;
    const pageSize = this.api.pageSize ?? this.limits.pageSize;
    const ahead = last.count === 0 ? 2 * last.spanMs : (0.9 * pageSize * last.spanMs) / last.count;
    return Math.min(this.limits.maxChunkMs, Math.max(HOUR_MS, ahead));
  }

  /** What the held sessions say about density when nothing was listed yet (the sessions stream fed them). */
  private heldDensity(): { spanMs: number; count: number } | undefined {
    const spanMs = this.covered.reduce((sum, span) => sum + (span.end - Math.max(span.start, this.releasedBefore)), 0);
    return spanMs > 0 ? { spanMs, count: this.ids.length } : undefined;
  }

  private async ensureCovered(from: number, to: number): Promise<void> {
    const runEndMs = this.runEnd.toMillis();
    for (let gaps = this.gaps(from, to); gaps.length > 0; gaps = this.gaps(from, to)) {
      const gap = gaps[0] as Span;
      const next = this.covered.find((span) => span.start >= gap.end);
      const stop = Math.max(gap.end, next === undefined ? runEndMs : next.start);
      const endMs = Math.min(stop, Math.max(gap.end, gap.start + this.aheadMs()));
      const start = safeEdgeAtOrBefore(DateTime.fromMillis(Math.floor(gap.start / 1000) * 1000, { zone: 'utc' }), this.zone);
      const end = safeEdgeAtOrAfter(DateTime.fromMillis(Math.ceil(endMs / 1000) * 1000, { zone: 'utc' }), this.zone);
      let count = 0;
      for await (const items of this.api.listSessions(toApiRange({ start, end }, this.zone))) {
        for (const item of items) {
          const id = sessionIdOf(item);
          if (id === undefined) continue;
          const created = isJsonObject(item) && typeof item.created_at === 'string' ? this.toUtc(item.created_at) : undefined;
          this.add(id, created === undefined ? undefined : Date.parse(created));
          count += 1;
        }
      }
      this.markCovered(start, end);
      this.lastListing = { spanMs: end.toMillis() - start.toMillis(), count };
      this.listedCount += count;
      this.chunks += 1;
      this.log.debug(`session ids: listed ${count} sessions created ${formatInstant(start)} .. ${formatInstant(end)}`);
    }
  }

  private sort(): void {
    if (this.sorted) return;
    const order = this.ms.map((_, i) => i).sort((a, b) => (this.ms[a] as number) - (this.ms[b] as number));
    this.ms = order.map((i) => this.ms[i] as number);
    this.ids = order.map((i) => this.ids[i] as SessionId);
    this.sorted = true;
  }
}

/** The id of a session item (an object with `id`, or a bare id). */
export function sessionIdOf(item: JsonValue): SessionId | undefined {
  const id = isJsonObject(item) ? item.id : item;
  return typeof id === 'number' || typeof id === 'string' ? id : undefined;
}

function lowerBound(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
