import { Ajv, type ValidateFunction } from 'ajv';
import type addFormatsModule from 'ajv-formats';
import { TapError } from '../errors.js';
import { isLosslessNumber } from '../exact-json.js';
import { isJsonObject, type JsonObject, type JsonValue } from '../json.js';
import type { Logger } from '../log.js';
import { emittedSchema, schemaMessage, type StreamSelection } from '../singer/catalog.js';
import type { SchemaMessage } from '../singer/messages.js';
import { createApiTimeConverter } from '../time/api-time.js';
import type { ConformanceIssues } from './conformance-issues.js';
import { NEW_FIELD_SCHEMA, UNCONFORMABLE, createConformer, declaredTypes, type Conformer } from './conform.js';

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
 * 2. every value is conformed to its field's declared type (conform.ts: a number in a string
 *    field becomes its exact decimal text, an object its JSON text, a `format: date-time` string
 *    a UTC instant, NUL characters are removed from strings...);
 * 3. a field the schema does not name is added to the stream's schema the first time it appears,
 *    typed `["null", "string"]` whatever its value (the same type on every run), and a new SCHEMA
 *    message goes out before the first record that carries it (takeSchemaChange) — unless the
 *    catalog deselected some field of the stream: then new fields stay out, named in one INFO
 *    line at the end of the stream; deselected fields are always left out;
 * 4. the record is validated against the stream's schema with one compiled ajv validator (a
 *    catalog may declare more than a type: bounds, patterns, nested schemas).
 *
 * A value that cannot be conformed without loss, or that fails the catalog's other constraints,
 * is emitted as null (left out when its field is not nullable); an item whose key cannot be
 * conformed is skipped. Each case is noted in `issues` (a warning, a count, or with
 * `strict_types` a failure of the run, which then writes no bookmark for the window).
 */
export interface RecordPipeline {
  /** The record of one item, or undefined when it is skipped. */
  toRecord(item: JsonValue): JsonObject | undefined;
  /** The stream's SCHEMA message as it stands (the first one a sync writes). */
  schemaMessage(): SchemaMessage;
  /** The SCHEMA message once fields were added since the last call, else undefined. */
  takeSchemaChange(): SchemaMessage | undefined;
  /** Ends the stream: names the new fields that were left out, in one INFO line. */
  finish(): void;
}

export interface PipelineOptions {
  readonly zone: string;
  readonly log: Logger;
  readonly issues: ConformanceIssues;
  readonly addFormats?: AddFormats | undefined;
}

/** A property name that cannot be a field of a plain object without changing the object itself. */
const UNSAFE_FIELD = '__proto__';

export function createRecordPipeline(selection: StreamSelection, options: PipelineOptions): RecordPipeline {
  return new StreamRecords(selection, options);
}

/** The pipeline of one stream: per-field conformers built once, a validator recompiled when fields are added. */
class StreamRecords implements RecordPipeline {
  private readonly stream: string;
  private readonly keys: ReadonlySet<string>;
  /** The first key property: a bare item (not an object) becomes `{[keyField]: item}`. */
  private readonly keyField: string;
  private readonly toUtc: (text: string) => string | undefined;
  /** Every property (declared, then new ones); the emitted ones have a conformer. */
  private readonly properties: JsonObject;
  private readonly emitted: Set<string>;
  private readonly conformers = new Map<string, Conformer>();
  private readonly nullable = new Set<string>();
  /** Fields seen and not emitted: deselected, or new ones left out. */
  private readonly ignored: Set<string>;
  private readonly leftOut: string[] = [];
  /** Fields were added: a SCHEMA message is due (changed) and the validator is out of date (stale). */
  private changed = false;
  private stale = false;
  private readonly ajv: Ajv;
  private validate: ValidateFunction;

  constructor(
    private readonly selection: StreamSelection,
    private readonly options: PipelineOptions,
  ) {
    this.stream = selection.def.name;
    this.keys = new Set(selection.def.keyProperties);
    this.keyField = selection.def.keyProperties[0] ?? 'id';
    const declared = isJsonObject(selection.schema.properties) ? selection.schema.properties : {};
    this.toUtc = createApiTimeConverter(options.zone);
    this.properties = { ...declared };
    this.emitted = new Set(selection.fields);
    for (const field of Object.keys(declared)) if (this.emitted.has(field)) this.addConformer(field, declared[field]);
    this.ignored = new Set(Object.keys(declared).filter((f) => !this.emitted.has(f)));
    this.ajv = new Ajv({ allErrors: false, strictSchema: false, strictTypes: false, strictTuples: false });
    if (options.addFormats !== undefined) options.addFormats(this.ajv, [...OTHER_FORMATS]);
    // date-time fields are checked where they are conformed: the converter accepts only real
    // date-times and writes RFC 3339 itself, so a second regex pass per value would only cost time.
    this.ajv.addFormat('date-time', true);
    this.validate = this.compile();
  }

  toRecord(item: JsonValue): JsonObject | undefined {
    const record = isJsonObject(item) && !isLosslessNumber(item) ? this.conformObject(item) : this.bareRecord(item);
    if (record === undefined) return undefined;
    if (this.stale) {
      this.validate = this.compile();
      this.stale = false;
    }
    return this.check(record) ? record : undefined;
  }

  schemaMessage(): SchemaMessage {
    return schemaMessage(this.current());
  }

  takeSchemaChange(): SchemaMessage | undefined {
    if (!this.changed) return undefined;
    this.changed = false;
    return schemaMessage(this.current());
  }

  finish(): void {
    if (this.leftOut.length === 0) return;
    this.options.log.info(
      `${this.stream}: new fields left out, because the catalog deselects some fields of this stream: ${this.leftOut.join(', ')} (select them in the catalog to keep them)`,
    );
    this.leftOut.length = 0;
  }

  /**
   * The item is ours (fresh from JSON.parse): when it holds only emitted fields it becomes the
   * record itself, with no copy; otherwise the emitted fields are copied out.
   */
  private conformObject(item: JsonObject): JsonObject | undefined {
    const { issues } = this.options;
    let foreign = false;
    for (const key in item) {
      const conform = this.conformers.get(key) ?? (this.ignored.has(key) ? undefined : this.newField(key));
      if (conform === undefined) {
        foreign = true;
        continue;
      }
      const value = item[key];
      const conformed = conform(value);
      if (conformed === value) continue;
      if (conformed !== UNCONFORMABLE) {
        item[key] = conformed;
      } else if (this.keys.has(key)) {
        issues.note(this.stream, key, value, value, 'record skipped');
        return undefined;
      } else if (this.nullable.has(key)) {
        issues.note(this.stream, key, value, item[this.keyField], 'null');
        item[key] = null;
      } else {
        issues.note(this.stream, key, value, item[this.keyField], 'left out');
        delete item[key];
      }
    }
    if (!foreign) return item;
    const record: JsonObject = {};
    for (const key in item) if (this.conformers.has(key)) record[key] = item[key] as JsonValue;
    return record;
  }

  /** A bare value (the API's example lists ids): the record of its key alone. */
  private bareRecord(item: JsonValue): JsonObject | undefined {
    const key = this.conformers.get(this.keyField)?.(item) ?? item;
    if (key === UNCONFORMABLE) {
      this.options.issues.note(this.stream, this.keyField, item, undefined, 'record skipped');
      return undefined;
    }
    return { [this.keyField]: key };
  }

  private addConformer(field: string, schema: JsonValue | undefined): Conformer {
    const conform = createConformer(schema, this.toUtc);
    this.conformers.set(field, conform);
    if (declaredTypes(schema)?.has('null') ?? true) this.nullable.add(field);
    return conform;
  }

  private current(): StreamSelection {
    return { ...this.selection, schema: { ...this.selection.schema, properties: this.properties }, fields: this.emitted };
  }

  private compile(): ValidateFunction {
    try {
      return this.ajv.compile(emittedSchema(this.current()));
    } catch (error) {
      throw new TapError('catalog', `stream ${this.stream}: its schema is not a valid JSON Schema (${(error as Error).message})`, { cause: error });
    }
  }

  /** A field seen for the first time: delivered (and its schema changed), or left out. */
  private newField(field: string): Conformer | undefined {
    const { log } = this.options;
    this.ignored.add(field);
    if (field === UNSAFE_FIELD) {
      log.warn(`${this.stream}: the API returned a field named "${UNSAFE_FIELD}", which cannot be a record field; it is left out`);
      return undefined;
    }
    if (!this.selection.deliverNewFields) {
      this.leftOut.push(field);
      return undefined;
    }
    this.ignored.delete(field);
    this.properties[field] = NEW_FIELD_SCHEMA;
    this.emitted.add(field);
    this.changed = true;
    this.stale = true;
    log.info(
      `${this.stream}: new field "${field}" (not in the schema) is delivered as ${JSON.stringify(NEW_FIELD_SCHEMA.type)}; a SCHEMA message with it precedes its first record`,
    );
    return this.addConformer(field, NEW_FIELD_SCHEMA);
  }

  /** Validates `record`, replacing what the schema refuses; false when the record must be skipped. */
  private check(record: JsonObject): boolean {
    const { issues } = this.options;
    // Read as a boolean, not as ajv's type guard, which would narrow `record` to never below.
    const valid = (r: JsonObject): boolean => this.validate(r);
    for (let tries = 0; !valid(record); tries += 1) {
      const error = this.validate.errors?.[0];
      const missing = error?.keyword === 'required' ? (error.params as { missingProperty?: string }).missingProperty : undefined;
      const field = missing ?? error?.instancePath.split('/')[1];
      if (field === undefined || field === '' || this.keys.has(field) || missing !== undefined || tries > this.conformers.size) {
        issues.note(this.stream, field || 'record', field ? record[field] : record, record[this.keyField], 'record skipped');
        return false;
      }
      const value = record[field];
      if (this.nullable.has(field) && value !== null) {
        issues.note(this.stream, field, value, record[this.keyField], 'null');
        record[field] = null;
      } else {
        issues.note(this.stream, field, value, record[this.keyField], 'left out');
        delete record[field];
      }
    }
    return true;
  }
}
