import { describe, expect, it } from 'vitest';
import { discoverCatalog } from '../../src/singer/catalog.js';
import { extendCatalog, inferSchema } from '../../src/singer/sample.js';

const MAX = Number.MAX_SAFE_INTEGER;

describe('inferSchema', () => {
  it.each([
    ['utm_source', ['google', null], { type: ['null', 'string'] }],
    ['ratio', [1, 2, 3], { type: ['null', 'number'] }],
    ['ratio', [1, 1.5], { type: ['null', 'number'] }],
    ['goal_id', [1, 20, null], { type: ['null', 'integer'], minimum: -MAX, maximum: MAX }],
    ['goal_id', [1, 2.5], { type: ['null', 'number'] }],
    ['flag', [true, false], { type: ['null', 'boolean'] }],
    ['meta', [{ a: 1 }], { type: ['null', 'object'] }],
    ['tags', [['a'], []], { type: ['null', 'array'], items: { type: ['null', 'string'] } }],
    ['seen_at', ['2026-01-31 23:59:59', null], { type: ['null', 'string'], format: 'date-time' }],
    ['note', ['2026-01-31 23:59:59', 'later'], { type: ['null', 'string'] }],
    ['mixed', ['a', 1, true], { type: ['null', 'string', 'number', 'boolean'] }],
    ['never', [null, null], { type: ['null', 'string'] }],
    ['never', [], { type: ['null', 'string'] }],
  ])('%s of %j', (field, values, expected) => {
    expect(inferSchema(field, values)).toEqual(expected);
  });
});

describe('extendCatalog', () => {
  it('adds only fields the schema lacks, from object items, with available metadata; other streams unchanged', () => {
    const catalog = discoverCatalog();
    const extended = extendCatalog(catalog, {
      sessions: [{ id: 1, browser: 'x', extra: 'a' }, 7, 'bare', { id: 2, extra: null, more: 3.5 }],
      visits: [],
      conversions: [11, 12],
    });
    const [sessions, visits, conversions] = extended.streams;
    expect(visits).toBe(catalog.streams[1]);
    expect(conversions).toBe(catalog.streams[2]);
    const props = sessions?.schema.properties as Record<string, unknown>;
    expect(Object.keys(props).slice(-2)).toEqual(['extra', 'more']);
    expect(props.browser).toEqual((catalog.streams[0]?.schema.properties as Record<string, unknown>).browser);
    expect(props.extra).toMatchObject({ type: ['null', 'string'] });
    expect(props.more).toMatchObject({ type: ['null', 'number'] });
    expect(sessions?.metadata.slice(-2)).toEqual([
      { breadcrumb: ['properties', 'extra'], metadata: { inclusion: 'available', 'selected-by-default': true } },
      { breadcrumb: ['properties', 'more'], metadata: { inclusion: 'available', 'selected-by-default': true } },
    ]);
    // The input is not changed.
    expect(Object.keys(catalog.streams[0]?.schema.properties as object)).not.toContain('extra');
  });
});
