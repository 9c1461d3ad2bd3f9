/** `check` and `discover`: one message each, from the same config checks, connection test and catalog as the Singer face. */
import { TapError, describeError } from '../errors.js';
import type { TapIo } from '../io.js';
import type { Logger } from '../log.js';
import { discoverStreams, loadSettings, testConnection, type Settings } from './engine.js';
import type { AirbyteMessage, AirbyteStream } from './protocol.js';

/** What a person can do about a failed check, by the kind of failure. */
const CHECK_HINTS: Partial<Record<TapError['kind'], string>> = {
  auth: 'check api_token: it must be the API token of the Wemasy project',
  permission: 'the token is valid but may not read analytics: check the project and its permissions in Wemasy',
  network: 'check base_url and that the host can be reached from where Airbyte runs',
  timeout: 'check base_url and that the host can be reached from where Airbyte runs; request_timeout raises the limit',
  'rate-limited': 'the API is rate limiting this token: try again in a minute',
  'server-fault': 'the Wemasy API failed: try again later',
};

/** A check spends little time on retries: a person is waiting for the answer. */
function checkSettings(settings: Settings): Settings {
  return { ...settings, http: { ...settings.http, maxRetries: Math.min(settings.http.maxRetries, 2), retryMaxDelayMs: Math.min(settings.http.retryMaxDelayMs, 5_000) } };
}

/**
 * `check`: the config is read and validated, then one request tests the token and the host.
 * SUCCEEDED or FAILED with a reason a person can act on; either way the command succeeds.
 */
export async function checkMessage(configPath: string, io: TapIo, log: Logger): Promise<AirbyteMessage> {
  try {
    const settings = await loadSettings(configPath, io, log);
    await testConnection(checkSettings(settings), io, log);
    return { type: 'CONNECTION_STATUS', connectionStatus: { status: 'SUCCEEDED', message: `${settings.baseUrl} accepted the token` } };
  } catch (error) {
    if (!(error instanceof TapError) || io.signal?.aborted) throw error;
    const hint = CHECK_HINTS[error.kind];
    const message = hint === undefined ? describeError(error) : `${describeError(error)}; ${hint}`;
    return { type: 'CONNECTION_STATUS', connectionStatus: { status: 'FAILED', message } };
  }
}

/** `discover`: every stream, both sync modes, the cursor and primary key defined by the source. */
export async function catalogMessage(configPath: string, io: TapIo, log: Logger): Promise<AirbyteMessage> {
  const streams = (await discoverStreams(configPath, io, log)).map(
    (stream): AirbyteStream => ({
      name: stream.name,
      json_schema: stream.schema,
      supported_sync_modes: ['full_refresh', 'incremental'],
      source_defined_cursor: true,
      default_cursor_field: [stream.replicationKey],
      source_defined_primary_key: stream.keyProperties.map((key) => [key]),
      is_resumable: true,
    }),
  );
  return { type: 'CATALOG', catalog: { streams } };
}
