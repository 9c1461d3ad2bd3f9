import { describe, expect, it } from 'vitest';
import { batchRefusal, createBatchSizer, limitIn } from '../../src/api/batch-size.js';
import { ApiError } from '../../src/errors.js';

const laravel = (n: number) =>
  new ApiError('request-rejected', 'rejected', {
    endpoint: '/x',
    status: 422,
    fieldErrors: { session_ids: [`The session ids field must not have more than ${n} items.`] },
  });

describe('batch sizer', () => {
  it('doubles after full, quick, moderate batches up to the maximum, not after partial ones', () => {
    const sizer = createBatchSizer(100, 500);
    sizer.accepted(60, 1000, 10);
    expect(sizer.size).toBe(100);
    sizer.accepted(100, 1000, 10);
    expect(sizer.size).toBe(200);
    sizer.accepted(100, 1000, 10); // a batch of the old size, answered late: no second doubling
    expect(sizer.size).toBe(200);
    sizer.accepted(200, 1000, 10);
    sizer.accepted(400, 1000, 10);
    expect(sizer.size).toBe(500);
    expect(sizer.summary()).toBe('session batch size: 500 ids per request (started at 100), max_session_batch_size 500');
  });

  it('does not grow on a large or slow body, and halves and caps on a too large or too slow one', () => {
    const sizer = createBatchSizer(100, 10_000);
    sizer.accepted(100, 20 * 2 ** 20, 10);
    sizer.accepted(100, 1000, 15_000);
    expect(sizer.size).toBe(100);
    sizer.accepted(100, 1000, 31_000);
    expect(sizer.size).toBe(50);
    sizer.accepted(50, 1000, 10);
    expect(sizer.size).toBe(50);
    const big = createBatchSizer(400, 10_000);
    big.accepted(400, 65 * 2 ** 20, 10);
    expect(big.size).toBe(200);
  });

  it('jumps to the N of a Laravel 422, halves on a 413 or 414, and never grows past a refused size', () => {
    const sizer = createBatchSizer(1000, 10_000);
    expect(sizer.refused(1000, laravel(300))).toBe(true);
    expect(sizer.size).toBe(300);
    sizer.accepted(300, 1000, 10);
    expect(sizer.size).toBe(300);
    const proxy = createBatchSizer(800, 10_000);
    expect(proxy.refused(800, new ApiError('request-rejected', 'x', { endpoint: '/x', status: 413 }))).toBe(true);
    expect(proxy.size).toBe(400);
    expect(proxy.refused(800, new ApiError('request-rejected', 'x', { endpoint: '/x', status: 414 }))).toBe(true); // stale: sent before
    expect(proxy.size).toBe(400);
    expect(proxy.refused(1, new ApiError('request-rejected', 'x', { endpoint: '/x', status: 413 }))).toBe(false);
  });

  it('takes only a 413, a 414 or a 422 about session_ids alone as a refusal of the size', () => {
    expect(batchRefusal(laravel(5))?.limit).toBe(5);
    const other = new ApiError('request-rejected', 'x', { endpoint: '/x', status: 422, fieldErrors: { start_date: ['bad'] } });
    const both = new ApiError('request-rejected', 'x', { endpoint: '/x', status: 422, fieldErrors: { session_ids: ['too many'], start_date: ['bad'] } });
    const item = new ApiError('request-rejected', 'x', { endpoint: '/x', status: 422, fieldErrors: { 'session_ids.3': ['must be an integer'] } });
    expect(batchRefusal(other)).toBeUndefined();
    expect(batchRefusal(both)).toBeUndefined();
    expect(batchRefusal(item)).toBeUndefined();
    expect(batchRefusal(new ApiError('server-fault', 'x', { endpoint: '/x', status: 500 }))).toBeUndefined();
    expect(createBatchSizer(100, 1000).refused(100, other)).toBe(false);
    expect(limitIn(['The per page field must not be greater than 250.'])).toBe(250);
    expect(limitIn(['too many'])).toBeUndefined();
  });
});
