/**
 * `read --config FILE --catalog FILE [--state FILE]`: the configured streams through the same
 * sync engine as the Singer face, each in its sync mode: `incremental` starts from the stream's
 * bookmark in the incoming state, `full_refresh` ignores it and starts from start_date. The
 * cursor is the source's (created_at, the window edge the bookmark records); another cursor_field
 * is ignored with a warning.
 */
import type { TapIo } from '../io.js';
import type { Logger } from '../log.js';
import { loadSettings, selectStreams, sync, syncEndMs, validateState, withoutBookmarks, type TapState } from './engine.js';
import { loadConfiguredCatalog, loadIncomingState } from './inputs.js';
import type { AirbyteOutput } from './output.js';
import { createAirbytePort } from './port.js';

export interface ReadArgs {
  readonly config: string;
  readonly catalog: string;
  readonly state: string | undefined;
}

export async function read(args: ReadArgs, io: TapIo, output: AirbyteOutput, log: Logger): Promise<void> {
  const settings = await loadSettings(args.config, io, log);
  const configured = await loadConfiguredCatalog(args.catalog);
  const selection = selectStreams(configured, args.catalog);
  const modes = new Map(configured.map((stream) => [stream.name, stream]));
  const incoming: TapState = args.state === undefined ? { bookmarks: {} } : validateState(await loadIncomingState(args.state, log), args.state, io);

  const fullRefresh: string[] = [];
  for (const stream of selection.streams) {
    const wanted = modes.get(stream.name);
    if (wanted?.syncMode === 'full_refresh') fullRefresh.push(stream.name);
    else if (wanted?.cursorField !== undefined && wanted.cursorField.join('.') !== stream.replicationKey) {
      log.warn(`${stream.name}: cursor_field ${wanted.cursorField.join('.')} ignored; the source defines the cursor (${stream.replicationKey})`);
    }
  }
  const state = withoutBookmarks(incoming, fullRefresh);
  log.info(
    `source-wemasy: reading ${selection.streams.map((s) => `${s.name} (${fullRefresh.includes(s.name) ? 'full_refresh' : 'incremental'})`).join(', ') || 'no streams'}`,
  );
  const startedAt = io.clock.now();
  const port = createAirbytePort(output, selection.streams.map((s) => s.name), state, { clock: io.clock, endMs: syncEndMs(settings, startedAt) });
  await port.statusAll('STARTED');
  try {
    await sync(selection, state, { settings, startedAt, port }, io, log);
  } catch (error) {
    await port.statusAll('INCOMPLETE').catch(() => undefined);
    throw error;
  }
  await port.statusAll('COMPLETE');
}
