import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatTokens, parseStatus, statusText } from '../src/status';

describe('status', () => {
  it('shows what background fixes spent of their hourly budget when the server sends it', () => {
    const status = parseStatus({ state: 'done', text: 'verified', tokens: 900, cost: 0, background: { used: 12420, budget: 20000 } });
    assert.deepEqual(status.background, { used: 12420, budget: 20000 });
    assert.equal(statusText(status), '$(check) gauntlet verified · 900 tok · bg 12k/20k/h');
    // Absent (proactive off) or malformed: nothing about it.
    assert.equal(parseStatus({ state: 'done', text: '', tokens: 0, cost: 0 }).background, undefined);
    assert.equal(parseStatus({ state: 'done', background: 'x' }).background, undefined);
  });
  it('formats a job in progress', () => {
    assert.equal(statusText({ state: 'done', text: '3/8', tokens: 1234, cost: 0 }), '$(check) gauntlet 3/8 · 1.2k tok');
    assert.equal(
      statusText({ state: 'grading', text: '5/8', tokens: 60000, cost: 0.0123 }),
      '$(beaker~spin) gauntlet 5/8 · 60k tok · $0.012',
    );
    assert.equal(statusText({ state: 'idle', text: '', tokens: 0, cost: 0 }), '$(circle-large-outline) gauntlet');
  });

  it('formats token counts', () => {
    assert.deepEqual(
      [0, 950, 1000, 1234, 9999, 12_345, 999_499, 999_500, 2_500_000].map(formatTokens),
      ['0', '950', '1k', '1.2k', '10k', '12k', '999k', '1M', '2.5M'],
    );
  });

  it('tolerates malformed notifications', () => {
    assert.deepEqual(parseStatus({ state: 'weird', tokens: 'x', text: 7 }), { state: 'idle', text: '', tokens: 0, cost: 0 });
    assert.deepEqual(parseStatus(undefined), { state: 'idle', text: '', tokens: 0, cost: 0 });
    assert.equal(parseStatus({ state: 'error', text: 'boom', tokens: 5, cost: 1.5 }).state, 'error');
    assert.equal(parseStatus({ state: 'toString' }).state, 'idle');
  });

  it("maps the server's job states", () => {
    // As `gauntlet serve` sends them: {"state", "text", "tokens", "cost", "job"}.
    const job = { text: 'x', tokens: 308, cost: 0, job: 'job-1' };
    assert.deepEqual(
      ['queued', 'generating', 'grading', 'done', 'error', 'failed', 'cancelled'].map((state) => parseStatus({ ...job, state }).state),
      ['generating', 'generating', 'grading', 'done', 'error', 'error', 'idle'],
    );
  });
});
