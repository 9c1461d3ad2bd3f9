/** `spec`: loads nothing of the engine (Airbyte runs it often, and it must start fast). */
import { configSchema, secretSettings } from '../config/spec.js';
import type { JsonObject } from '../json.js';
import { PROTOCOL_VERSION, type AirbyteMessage } from './protocol.js';

/**
 * connectionSpecification is the settings schema (schemas/config.json) itself; the secret
 * settings (the API token) are marked `airbyte_secret`, so Airbyte's UI masks them and its
 * config store keeps them as secrets.
 */
export function specMessage(): AirbyteMessage {
  const properties: JsonObject = { ...(configSchema().properties as unknown as JsonObject) };
  for (const name of secretSettings()) properties[name] = { ...(properties[name] as JsonObject), airbyte_secret: true };
  const connectionSpecification = { ...(configSchema() as unknown as JsonObject), properties };
  return { type: 'SPEC', spec: { connectionSpecification, supportsIncremental: true, protocol_version: PROTOCOL_VERSION } };
}
