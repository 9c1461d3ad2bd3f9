/** JSON values as they cross the tap's edges (config, state, catalog, API bodies). */
export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** True for a plain JSON object (not null, not an array). */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A JSON.parse message without the input excerpt V8 puts in some of them
 * (`Unexpected token 'x', ..."api_token": x... is not valid JSON`), with a line and column.
 */
export function safeJsonErrorMessage(error: unknown, text: string): string {
  const message = error instanceof Error ? error.message : String(error);
  const excerpt = /^Unexpected token '.*?', .* is not valid JSON$/s.exec(message);
  if (excerpt !== null) return 'unexpected token';
  if (/ is not valid JSON$/s.test(message) || message.includes('"')) return 'not valid JSON';
  return message.replace(/ in JSON at position (\d+)/, (_match, digits: string) => {
    const position = Number(digits);
    const before = text.slice(0, position);
    const line = before.split('\n').length;
    const column = position - before.lastIndexOf('\n');
    return ` at line ${line} column ${column}`;
  });
}
