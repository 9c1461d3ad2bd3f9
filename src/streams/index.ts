import { conversions } from './conversions.js';
import { sessions } from './sessions.js';
import type { WemasyStream } from './stream.js';
import { visits } from './visits.js';

/**
 * Every stream, in catalog and sync order. A new stream is a file in this folder, its schema in
 * `schemas/`, and a line here. Sessions come first: their records give the others their ids.
 */
export const STREAMS: readonly WemasyStream[] = [sessions, visits, conversions];
