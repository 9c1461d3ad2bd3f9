import { VISITS_PATH } from '../api/endpoints.js';
import { sessionChildStream } from './session-batches.js';

/** Page visits inside the sessions, by visit time: get-visits for the sessions of each window. */
export const visits = sessionChildStream({
  name: 'visits',
  description: `Page visits inside the sessions, by visit time (get-visits ${VISITS_PATH}, key: list).`,
  fetch: (api) => api.streamVisits.bind(api),
});
