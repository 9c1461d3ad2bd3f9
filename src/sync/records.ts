import { Ajv, type ValidateFunction } from 'ajv';
import type addFormatsModule from 'ajv-formats';
import { TapError } from '../errors.js';
import { isJsonObject, type JsonObject, type JsonValue } from '../json.js';
import type { Logger } from '../log.js';
import type { StreamSelection } from '../singer/catalog.js';
import { createApiTimeConverter } from '../time/api-time.js';

type AddFormats = typeof addFormatsModule.default;

/** Formats a record schema may use besides date-time (which the pipeline checks itself). */
const OTHER_FORMATS = ['date', 'time', 'uri', 'email', 'uuid'] as const;

function usesOtherFormats(schema: JsonValue | undefined): boolean {
  if (Array.isArray(schema)) return schema.some(usesOtherFormats);
  if (!isJsonObject(schema)) return false;
  if (typeof schema.format === 'string' && schema.format !== 'date-time') return true;
  return Object.values(schema).some(usesOtherFormats);
}

/**
 * ajv-formats for the schemas that use a format other than date-time, else undefined: it is
 * loaded only then (about 60 ms of start-up that the shipped schemas do not need).
 */
export async function formatsFor(selections: readonly StreamSelection[]): Promise<AddFormats | undefined> {
  if (!selections.some((s) => usesOtherFormats(s.schema))) return undefined;
  // ajv-formats is CommonJS: under NodeNext its default export arrives as the module object.
  const module = (await import('ajv-formats')).default as unknown as AddFormats;
  return module;
}

/**
 * Turns the API's items into records of one stream, in one pass per item:
 *
 * 1. an object item keeps its fields; a bare string or number is a record with only its `id`
 *    (the API layer has already refused, and retried, a body with any other item);
 * 2. fields the schema does not name are dropped, with one warning per field and stream (run
 *    discovery with `discover_sample` to add them); deselected fields are dropped silently;
 * 3. `format: date-time` fields, zone-less in the API, become UTC RFC 3339 instants;
 * 4. NUL characters are removed from strings (PostgreSQL cannot store them);
 * 5. the record is validated against the stream's schema with one compiled ajv validator.
 *    Values of the wrong JSON type are converted where ajv can do so without loss (a numeric
 *    string into a number, a number into a string); a record that still does not match fails
 *    the run with a message naming the stream, the record id and the field. Nothing is skipped
 *    silently, and no bookmark moves past the window that held it.
 */
export interface RecordPipeline {
  toRecord(item: JsonValue): JsonObject;
}

function isDateTimeProperty(schema: JsonValue | undefined): boolean {
  return isJsonObject(schema) && schema.format === 'date-time';
}

export function createRecordPipeline(selection: StreamSelection, zone: string, log: Logger, addFormats?: AddFormats): RecordPipeline {
  const stream = selection.def.name;
  const properties = isJsonObject(selection.schema.properties) ? selection.schema.properties : {};
  const known = new Set(Object.keys(properties));
  const emitted = selection.fields;
  const dateTimeFields = Object.keys(properties).filter((f) => emitted.has(f) && isDateTimeProperty(properties[f]));
  const toUtc = createApiTimeConverter(zone);
  const warned = new Set<string>();

  const ajv = new Ajv({ coerceTypes: true, allErrors: false, strictSchema: false, strictTypes: false, strictTuples: false });
  if (addFormats !== undefined) addFormats(ajv, [...OTHER_FORMATS]);
  // date-time fields are checked where they are converted (below): the converter accepts only
  // real date-times and writes RFC 3339 itself, so a second regex pass per value would only cost
  // time (it was a sixth of the per-record CPU).
  ajv.addFormat('date-time', true);
  let validate: ValidateFunction;
  try {
    validate = ajv.compile({ ...selection.schema, properties: Object.fromEntries(Object.entries(properties).filter(([f]) => emitted.has(f))) });
  } catch (error) {
    throw new TapError('catalog', `stream ${stream}: its schema is not a valid JSON Schema (${(error as Error).message})`, { cause: error });
  }

  return {
    toRecord(item) {
      let record: JsonObject;
      if (isJsonObject(item)) {
        // The item is ours (fresh from JSON.parse): when it holds only emitted fields it becomes
        // the record itself, with no copy; otherwise the emitted fields are copied out.
        let foreign = false;
        for (const key in item) {
          if (emitted.has(key)) {
            const value = item[key];
            if (typeof value === 'string' && value.includes('\u0000')) item[key] = value.replaceAll('\u0000', '');
            continue;
          }
          foreign = true;
          if (!known.has(key) && !warned.has(key)) {
            warned.add(key);
            log.warn(`${stream}: the API returned field "${key}", which the schema does not name; it is left out of the records (add it to the catalog schema to keep it)`);
          }
        }
        if (foreign) {
          record = {};
          for (const key in item) if (emitted.has(key)) record[key] = item[key] as JsonValue;
        } else {
          record = item;
        }
      } else {
        record = { id: item };
      }
      for (const field of dateTimeFields) {
        const value = record[field];
        if (typeof value !== 'string') continue;
        const converted = toUtc(value);
        if (converted === undefined) {
          const id = record.id === undefined ? '' : ` id=${JSON.stringify(record.id)}`;
          throw new TapError('record-invalid', `${stream} record${id} does not match the schema: ${field} ${JSON.stringify(value.slice(0, 40))} is not a date-time`);
        }
        record[field] = converted;
      }
      const valid: boolean = validate(record); // not as a type guard: `record` stays a JsonObject below
      if (!valid) {
        const error = validate.errors?.[0];
        const where = error?.instancePath ? error.instancePath.slice(1).replaceAll('/', '.') : 'record';
        const id = record.id === undefined ? '' : ` id=${JSON.stringify(record.id)}`;
        throw new TapError('record-invalid', `${stream} record${id} does not match the schema: ${where} ${error?.message ?? 'is invalid'}`);
      }
      return record;
    },
  };
}
