import type { DateTime } from 'luxon';
import { createBatchSizer } from '../api/batch-size.js';
import type { WemasyApi } from '../api/wemasy.js';
import type { Clock } from '../clock.js';
import type { Settings } from '../config/settings-types.js';
import type { Logger } from '../log.js';
import { SessionIndex, configuredSessions } from './session-ids.js';
import type { RunContext } from './stream.js';

/** The longest listing chunk when `max_window_size` is zero (no limit). */
const DEFAULT_CHUNK_MS = 31 * 86_400_000;

/** What the streams of one run share: one session index (unless ids are configured), one batch sizer. */
export function createRunContext(api: WemasyApi, settings: Settings, log: Logger, clock: Clock, end: DateTime): RunContext {
  const index =
    settings.sessionIds === undefined
      ? new SessionIndex(api, settings.timezone, settings.sessionLookback, end, log, {
          pageSize: settings.sessionsPageSize,
          maxChunkMs: settings.maxWindowSize.toMillis() || DEFAULT_CHUNK_MS,
        })
      : undefined;
  const readingByIds = new Set<string>();
  const batchSizer = createBatchSizer(settings.sessionBatchSize, settings.maxSessionBatchSize);
  return {
    api,
    settings,
    log,
    clock,
    end,
    index,
    sessionIds: index ?? configuredSessions(settings.sessionIds ?? []),
    batchSizer,
    readingByIds,
    summary: () => (readingByIds.size === 0 ? [] : [batchSizer.summary(), ...(index === undefined ? [] : [index.summary()])]),
  };
}
