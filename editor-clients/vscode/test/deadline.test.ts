import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SAVE_PARTICIPANT_LIMIT_MS, saveBudgetMs, withDeadline } from '../src/deadline';

const after = <T>(ms: number, value: T): Promise<T> => new Promise((resolve) => setTimeout(() => resolve(value), ms));

describe('withDeadline', () => {
  it('returns the value when it arrives in time', async () => {
    assert.deepEqual(await withDeadline(after(5, ['edit']), 500, []), ['edit']);
  });

  it('returns the fallback and reports the timeout when it is late', async () => {
    let timedOut = false;
    const started = Date.now();
    const result = await withDeadline(after(300, ['late']), 30, [] as string[], () => {
      timedOut = true;
    });
    assert.deepEqual(result, []);
    assert.equal(timedOut, true);
    assert.ok(Date.now() - started < 250);
  });

  it('returns the fallback when the work fails', async () => {
    assert.deepEqual(await withDeadline(Promise.reject(new Error('x')), 500, ['fallback']), ['fallback']);
  });
});

describe('saveBudgetMs', () => {
  it('caps automaticTimeout at what VS Code allows a save participant', () => {
    assert.equal(saveBudgetMs(20), SAVE_PARTICIPANT_LIMIT_MS);
    assert.equal(saveBudgetMs(0.5), 500);
    assert.equal(saveBudgetMs(0), 0);
    assert.equal(saveBudgetMs(Number.NaN), 0);
  });
});
