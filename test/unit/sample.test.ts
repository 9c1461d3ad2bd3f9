import { describe, expect, it } from 'vitest';
import { discoverCatalog } from '../../src/singer/catalog.js';
import { extendCatalog } from '../../src/discover.js';
import { STREAMS } from '../../src/streams/index.js';

describe('extendCatalog', () => {
  it('adds only fields the schema lacks, from object items, with available metadata; other streams unchanged', () => {
    const catalog = discoverCatalog(STREAMS);
    const extended = extendCatalog(catalog, {
      sessions: [{ id: 1, browser: 'x', extra: 'a' }, 7, 'bare', { id: 2, extra: null, more: 3.5 }, { id: 3, more: { a: 1 } }],
      visits: [],
      conversions: [11, 12],
    });
    const [sessions, visits, conversions] = extended.streams;
    expect(visits).toBe(catalog.streams[1]);
    expect(conversions).toBe(catalog.streams[2]);
    const props = sessions?.schema.properties as Record<string, unknown>;
    expect(Object.keys(props).slice(-2)).toEqual(['extra', 'more']);
    expect(props.browser).toEqual((catalog.streams[0]?.schema.properties as Record<string, unknown>).browser);
    // The type a sync gives a new field, whatever the values sampled (one rule for both).
    expect(props.extra).toEqual({ type: ['null', 'string'] });
    expect(props.more).toEqual({ type: ['null', 'string'] });
    expect(sessions?.metadata.slice(-2)).toEqual([
      { breadcrumb: ['properties', 'extra'], metadata: { inclusion: 'available', 'selected-by-default': true } },
      { breadcrumb: ['properties', 'more'], metadata: { inclusion: 'available', 'selected-by-default': true } },
    ]);
    // The input is not changed.
    expect(Object.keys(catalog.streams[0]?.schema.properties as object)).not.toContain('extra');
  });
});
