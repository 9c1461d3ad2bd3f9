import { CONVERSIONS_PATH } from '../api/endpoints.js';
import { sessionChildStream } from './session-batches.js';

/** Conversions inside the sessions, by conversion time: get-conversions for the sessions of each window. */
export const conversions = sessionChildStream({
  name: 'conversions',
  description: `Conversions inside the sessions, by conversion time (get-conversions ${CONVERSIONS_PATH}, key: list).`,
  fetch: (api) => api.streamConversions.bind(api),
});
