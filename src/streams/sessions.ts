import { SESSIONS_PATH } from '../api/endpoints.js';
import type { JsonObject } from '../json.js';
import { toApiRange } from '../time/api-time.js';
import { sessionIdOf } from './session-ids.js';
import { shippedSchema, type WemasyStream } from './stream.js';

/**
 * Sessions of the project by creation time: every list-sessions page of each window. Its
 * records also feed the session index (unless `session_ids` are configured), so that visits and
 * conversions, its children, ask for the sessions it has already listed.
 */
export const sessions: WemasyStream = {
  name: 'sessions',
  keyProperties: ['id'],
  replicationKey: 'created_at',
  description: `Sessions of the project, by creation time (list-sessions ${SESSIONS_PATH}, every page).`,
  schema: () => shippedSchema('sessions'),
  open({ api, index, settings }) {
    return {
      read: (window, signal) => api.listSessions(toApiRange(window, settings.timezone), signal),
      ...(index === undefined
        ? {}
        : {
            // get-visits is sent the ids as this stream was served them (a numeric string stays a string).
            onRecord: (record: JsonObject, servedKey) => {
              const id = (servedKey === undefined ? undefined : sessionIdOf(servedKey)) ?? sessionIdOf(record);
              if (id !== undefined) index.add(id, typeof record.created_at === 'string' ? Date.parse(record.created_at) : undefined);
            },
            windowDone: (window) => index.markCovered(window.start, window.end),
          }),
    };
  },
};
