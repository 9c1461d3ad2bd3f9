import type { DateTime, Duration } from 'luxon';
import type { JsonObject, JsonValue } from '../json.js';
import type { StreamSelection } from '../singer/catalog.js';
import type { Window } from '../time/windows.js';

/**
 * What the sync engine asks of a stream for one run: how to read a window, and a few optional
 * hooks for streams that depend on each other (a parent whose records tell its children what to
 * ask for). The engine knows no stream by name: everything it does differently for a stream, it
 * does because the stream says so here.
 */
export interface StreamReader {
  /**
   * The API items of `window` (`[start, end)`, UTC), a batch at a time, in any order; the engine
   * conforms them to the schema, writes them, and moves the bookmark once the iteration ends.
   * `signal` is the window's: it aborts when the run is interrupted or when the window has failed,
   * so requests still in flight stop at once.
   */
  read(window: Window, signal: AbortSignal): AsyncIterable<readonly JsonValue[]>;
  /**
   * The stream whose progress this one's windows never pass: a child window ends at the parent's
   * cursor at the latest, since the parent's records give the child what to ask for. The parent
   * wins a tie (the engine runs the stream whose next window starts first).
   */
  readonly parent?: string | undefined;
  /** Called once before the first window: where the stream starts, and whether its parent syncs in this run. */
  begin?(from: DateTime, parentSyncing: boolean): void;
  /**
   * With adaptive windows: where a window that starts at `start` may end, at or after `nominal`
   * and at most `limit` (e.g. where its requests' batches fill up).
   */
  adjustEnd?(start: DateTime, nominal: DateTime, limit: DateTime): Promise<DateTime>;
  /**
   * Each record as it is written, with the value of its first key property as the API served it
   * (before conforming, which may change a numeric string to a number).
   */
  onRecord?(record: JsonObject, servedKey: JsonValue | undefined): void;
  /** Called when every record of `window` is written, before its STATE. */
  windowDone?(window: Window): void;
  /** Called once when the stream has reached the run's end (not after a failure). */
  finish?(end: DateTime): void;
}

/** A selected stream, with its reader for this run. */
export interface SyncStream {
  readonly selection: StreamSelection;
  readonly reader: StreamReader;
}

/** What the engine needs of the tap's settings (a tap's settings type extends it). */
export interface EngineSettings {
  readonly startDate: DateTime;
  readonly endDate: DateTime | undefined;
  /** How long before the moment the run began it ends (records show up late in an API). */
  readonly endLag: Duration;
  /** IANA zone whose wall clock windows follow. */
  readonly timezone: string;
  readonly windowSize: Duration;
  /** How far before its bookmark a stream starts again (late records). */
  readonly lookbackWindow: Duration;
  /** Widen or narrow windows by their record counts, and let streams adjust their ends. */
  readonly adaptiveWindows: boolean;
  readonly windowTargetRecords: number;
  readonly maxWindowSize: Duration;
  /** Fail the run at the first value that cannot be conformed to its type without loss (sync/conform.ts). */
  readonly strictTypes: boolean;
}
