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
  return { idsFor: async () => ids };
}

/** A half-open UTC interval in epoch milliseconds. */
interface Span {
  start: number;
  end: number;
}

/**
 * The sessions of the project, learned once and kept for the whole run: ids with their creation
 * instants, and the spans of creation time whose sessions are all known.
 *
 * The `sessions` stream feeds it window by window as it emits records. When visits or
 * conversions need a window `[a, b)`, they need every session created in `[a - lookback, b)`;
 * whatever part of that is not known yet is listed once, together with everything up to the end
 * of the run, in one paginated pass: a run lists each session once, however many windows it has.
 * Sessions learned this way only lend their ids; they are never emitted as records.
 */
export class SessionIndex implements SessionIdSource {
  private readonly ms: number[] = [];
  private readonly ids: SessionId[] = [];
  private readonly seen = new Set<string>();
  /** Sessions whose creation time the API did not give: asked for in every window. */
  private readonly undated: SessionId[] = [];
  private covered: Span[] = [];
  private sorted = true;
  private readonly toUtc: (text: string) => string | undefined;

  constructor(
    private readonly api: WemasyApi,
    private readonly zone: string,
    private readonly lookback: Duration,
    /** The run's end: listings for lookback reach this far, so they happen once. */
    private readonly runEnd: DateTime,
    private readonly log: Logger,
  ) {
    this.toUtc = createApiTimeConverter(zone);
  }

  /** Adds one session with its creation instant (epoch ms; undefined when the API gave none). */
  add(id: SessionId, createdAtMs: number | undefined): void {
    const key = String(id);
    if (this.seen.has(key)) return;
    this.seen.add(key);
    if (createdAtMs === undefined || Number.isNaN(createdAtMs)) {
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

  async idsFor(window: Window): Promise<readonly SessionId[]> {
    const from = window.start.minus(this.lookback);
    await this.ensureCovered(from, window.end);
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
   * then costs the same number of requests and covers more time.
   */
  async batchEnd(start: DateTime, nominal: DateTime, limit: DateTime, batchSize: number): Promise<DateTime> {
    const from = start.minus(this.lookback);
    await this.ensureCovered(from, limit);
    this.sort();
    const lo = lowerBound(this.ms, from.toMillis());
    const hi = lowerBound(this.ms, nominal.toMillis());
    const count = this.undated.length + hi - lo;
    const full = Math.max(batchSize, Math.ceil(count / batchSize) * batchSize);
    const overflow = this.ms[lo + full - this.undated.length];
    if (overflow === undefined || overflow >= limit.toMillis()) return limit;
    const end = safeEdgeAtOrBefore(DateTime.fromMillis(overflow, { zone: 'utc' }), this.zone);
    return end > nominal ? end : nominal;
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

  private async ensureCovered(from: DateTime, to: DateTime): Promise<void> {
    const gaps = this.gaps(from.toMillis(), to.toMillis());
    if (gaps.length === 0) return;
    // One listing from the first gap to the end of the run (or the first covered span after
    // it): later windows then find their sessions already known.
    const first = gaps[0] as Span;
    const next = this.covered.find((span) => span.start >= first.end);
    const endMs = next === undefined ? Math.max(first.end, this.runEnd.toMillis()) : next.start;
    const start = safeEdgeAtOrBefore(DateTime.fromMillis(first.start, { zone: 'utc' }), this.zone);
    const end = safeEdgeAtOrAfter(DateTime.fromMillis(endMs, { zone: 'utc' }), this.zone);
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
    this.log.info(`session ids: listed ${count} sessions created ${formatInstant(start)} .. ${formatInstant(end)}`);
    if (this.gaps(from.toMillis(), to.toMillis()).length > 0) await this.ensureCovered(from, to);
  }

  private sort(): void {
    if (this.sorted) return;
    const order = this.ms.map((_, i) => i).sort((a, b) => (this.ms[a] as number) - (this.ms[b] as number));
    const ms = order.map((i) => this.ms[i] as number);
    const ids = order.map((i) => this.ids[i] as SessionId);
    this.ms.splice(0, ms.length, ...ms);
    this.ids.splice(0, ids.length, ...ids);
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
