import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Counter, Histogram, Registry } from 'prom-client';
import { CountedSeries, HandCountedHistogram } from '../../src/observability/hand-counted.ts';

const BUCKETS = [0.001, 0.01, 0.1, 1];

/** The exposition text of `registry`, for comparing hand-counted metrics with prom-client's own. */
const exposition = (registry: Registry) => registry.metrics();

describe('hand-counted series', () => {
  it('render exactly as prom-client renders the same observations', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom('a', 'b'), fc.constantFrom(0, 0.001, 0.005, 0.01, 0.5, 1, 7)), { maxLength: 40 }),
        async (observations) => {
          const theirs = new Registry();
          const histogram = new Histogram({ name: 'h', help: 'h', labelNames: ['route'], buckets: BUCKETS, registers: [theirs] });
          const counter = new Counter({ name: 'c_total', help: 'c', labelNames: ['route'], registers: [theirs] });
          const ours = new Registry();
          const hand = new HandCountedHistogram('h', 'h', BUCKETS).register(ours);
          const counted = new CountedSeries();
          new Counter({
            name: 'c_total',
            help: 'c',
            labelNames: ['route'],
            registers: [ours],
            collect() {
              counted.fill(this);
            },
          });
          for (const [route, seconds] of observations) {
            histogram.observe({ route }, seconds);
            counter.inc({ route });
            hand.observe(route, () => ({ route }), seconds);
            counted.add(route, () => ({ route }));
          }
          // prom-client lists a histogram's series in first-observed order, as the hand-counted one does.
          assert.equal(await exposition(ours), await exposition(theirs));
        },
      ),
      { numRuns: 100 },
    );
  });
});
