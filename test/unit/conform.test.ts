import { describe, expect, it } from 'vitest';
import { parseJsonExact, sameDecimal } from '../../src/exact-json.js';
import { UNCONFORMABLE, createConformer } from '../../src/sync/conform.js';

const toUtc = (text: string): string | undefined => (/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/.test(text) ? `${text.replace(' ', 'T')}Z` : undefined);
const U = UNCONFORMABLE;

/** The value served as its JSON text (read as the tap reads a body), conformed to `type`. */
const conform = (schema: object, served: string): unknown => createConformer(schema as never, toUtc)((parseJsonExact(`[${served}]`) as unknown[])[0]);

describe('the README conversion table', () => {
  const text = { type: ['null', 'string'] };
  const integer = { type: ['null', 'integer'] };
  const number = { type: ['null', 'number'] };
  const boolean = { type: ['null', 'boolean'] };
  const object = { type: ['null', 'object'] };
  const array = { type: ['null', 'array'] };
  const dateTime = { type: ['null', 'string'], format: 'date-time' };
  it.each([
    // string fields
    [text, '"abc"', 'abc'],
    [text, '"a\\u0000b"', 'ab'],
    [text, '12', '12'],
    [text, '12.5', '12.5'],
    [text, '1.50', '1.5'],
    [text, '1E3', '1000'],
    [text, '-0', '0'],
    [text, '12345678901234567890123', '12345678901234567890123'],
    [text, '0.1000000000000000055511151231257827', '0.1000000000000000055511151231257827'],
    [text, '9007199254740993', '9007199254740993'],
    [text, '1e400', '1e400'],
    [text, 'true', 'true'],
    [text, 'false', 'false'],
    [text, 'null', null],
    [text, '{"a":1,"b":[true,null]}', '{"a":1,"b":[true,null]}'],
    [text, '{"big":12345678901234567890}', '{"big":12345678901234567890}'],
    [text, '[1,"x"]', '[1,"x"]'],
    [dateTime, '"2026-01-31 23:59:59"', '2026-01-31T23:59:59Z'],
    [dateTime, '"soon"', U],
    [dateTime, '1700000000', U],
    // integer fields
    [integer, '42', 42],
    [integer, '"42"', 42],
    [integer, '"042"', U],
    [integer, '2.5', U],
    [integer, '12345678901234567890', U],
    [integer, '"abc"', U],
    [integer, 'true', U],
    [integer, '{}', U],
    [integer, 'null', null],
    [{ type: 'integer' }, 'null', U],
    // number fields
    [number, '4.5', 4.5],
    [number, '"4.5"', 4.5],
    [number, '"1.50"', 1.5],
    [number, '"0.1000000000000000055511151231257827"', U],
    [number, '0.1000000000000000055511151231257827', U],
    [number, '"x"', U],
    // boolean, object, array fields
    [boolean, 'true', true],
    [boolean, '"false"', false],
    [boolean, '1', U],
    [object, '{"a":1}', { a: 1 }],
    [object, '{"a":12345678901234567890}', U],
    [object, '[1]', U],
    [array, '[1]', [1]],
    [array, '"x"', U],
    // unions: the value's own type when declared, else the first conversion, text last
    [{ type: ['null', 'integer', 'string'] }, '7', 7],
    [{ type: ['null', 'integer', 'string'] }, '7.5', '7.5'],
    [{ type: ['null', 'integer', 'string'] }, '"7"', '7'],
    [{ type: ['null', 'string', 'object'] }, '{"a":1}', { a: 1 }],
    // no type: anything, too precise numbers as text
    [{}, '{"a":1}', { a: 1 }],
    [{}, '12345678901234567890', '12345678901234567890'],
  ])('%j given %s -> %j', (schema, served, expected) => {
    expect(conform(schema, served)).toEqual(expected);
  });
});

describe('parseJsonExact', () => {
  it('is JSON.parse except for numbers a double cannot hold', () => {
    const text = '[1, 1.5, 1.50, 1E3, 1e400, 12345678901234567890, {"a": "12345678901234567890"}, 1234567890123456]';
    const parsed = parseJsonExact(text) as unknown[];
    expect(parsed.slice(0, 4)).toEqual([1, 1.5, 1.5, 1000]);
    expect(String(parsed[4])).toBe('1e400');
    expect(String(parsed[5])).toBe('12345678901234567890');
    expect(parsed.slice(6)).toEqual([{ a: '12345678901234567890' }, 1234567890123456]);
  });

  it('sameDecimal compares decimal values, not spellings', () => {
    expect(sameDecimal('1.50', '1.5')).toBe(true);
    expect(sameDecimal('1E3', '1000')).toBe(true);
    expect(sameDecimal('-0.0', '0')).toBe(true);
    expect(sameDecimal('1e21', '1e+21')).toBe(true);
    expect(sameDecimal('9007199254740993', '9007199254740992')).toBe(false);
  });
});
