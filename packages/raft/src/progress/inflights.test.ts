// Proves the inflight window of one follower: it fills by message count and by bytes, frees
// acknowledged messages from the oldest end (freeLE), keeps working when the ring wraps around,
// empties on reset, and treats an add to a full window as a broken invariant (an assertion).
// Hand-written cases pin each rule; a fast-check property drives random add/freeLE/reset
// sequences against a plain array model, and a sibling plants an off-by-one in freeLE to show
// the property notices.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RaftAssertionError } from '../assert.js';
import type { LogIndex } from '../ids.js';
import { Inflights } from './inflights.js';

const seed = Number(process.env.CAIRN_SEED ?? 1);

const at = (value: number): LogIndex => value as LogIndex;

function caught(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error('expected the action to throw');
}

/** Planted bug: frees only messages strictly below the acknowledged index. */
class InflightsFreeLT extends Inflights {
  override freeLE(index: LogIndex): void {
    super.freeLE((index - 1) as LogIndex);
  }
}

const operations = fc.array(
  fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record({
        kind: fc.constant('add' as const),
        step: fc.integer({ min: 1, max: 3 }),
        bytes: fc.nat(40),
      }),
    },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('free' as const), back: fc.nat(6) }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'reset' as const }) },
  ),
  { maxLength: 60 },
);

function matchesModel(make: (countMax: number, bytesMax: number) => Inflights) {
  return fc.property(
    fc.integer({ min: 1, max: 6 }),
    fc.nat(100),
    operations,
    (countMax, bytesMax, sequence) => {
      const inflights = make(countMax, bytesMax);
      let model: { index: number; bytes: number }[] = [];
      let lastIndex = 0;
      for (const operation of sequence) {
        if (operation.kind === 'add') {
          if (model.length === countMax) continue;
          lastIndex += operation.step;
          inflights.add(at(lastIndex), operation.bytes);
          model.push({ index: lastIndex, bytes: operation.bytes });
        } else if (operation.kind === 'free') {
          const index = Math.max(0, lastIndex - operation.back);
          inflights.freeLE(at(index));
          model = model.filter((message) => message.index > index);
        } else {
          inflights.reset();
          model = [];
        }
        const bytes = model.reduce((sum, message) => sum + message.bytes, 0);
        expect(inflights.size()).toBe(model.length);
        expect(inflights.full()).toBe(
          model.length === countMax || (bytesMax > 0 && bytes >= bytesMax),
        );
      }
    },
  );
}

describe(`Inflights (seed ${seed})`, () => {
  it('starts empty and not full', () => {
    const inflights = new Inflights(3, 0);
    expect(inflights.size()).toBe(0);
    expect(inflights.full()).toBe(false);
  });

  it('is full once it holds countMax messages', () => {
    const inflights = new Inflights(3, 0);
    inflights.add(at(1), 10);
    inflights.add(at(2), 10);
    expect(inflights.full()).toBe(false);
    inflights.add(at(3), 10);
    expect(inflights.full()).toBe(true);
    expect(inflights.size()).toBe(3);
  });

  it('is full once it holds bytesMax bytes, before the count is reached', () => {
    const inflights = new Inflights(10, 100);
    inflights.add(at(1), 60);
    expect(inflights.full()).toBe(false);
    inflights.add(at(2), 40);
    expect(inflights.full()).toBe(true);
    expect(inflights.size()).toBe(2);
  });

  it('has no byte limit when bytesMax is 0', () => {
    const inflights = new Inflights(2, 0);
    inflights.add(at(1), 1_000_000);
    expect(inflights.full()).toBe(false);
  });

  it('frees every message at or below the acknowledged index, oldest first', () => {
    const inflights = new Inflights(5, 0);
    for (const index of [2, 4, 6, 8]) inflights.add(at(index), 1);
    inflights.freeLE(at(5));
    expect(inflights.size()).toBe(2);
    inflights.freeLE(at(6));
    expect(inflights.size()).toBe(1);
  });

  it('frees nothing for an index below the oldest message', () => {
    const inflights = new Inflights(5, 0);
    inflights.add(at(10), 1);
    inflights.freeLE(at(9));
    expect(inflights.size()).toBe(1);
  });

  it('gives back the bytes of freed messages', () => {
    const inflights = new Inflights(10, 100);
    inflights.add(at(1), 70);
    inflights.add(at(2), 30);
    expect(inflights.full()).toBe(true);
    inflights.freeLE(at(1));
    expect(inflights.full()).toBe(false);
  });

  it('keeps its order when the ring wraps around', () => {
    const inflights = new Inflights(4, 0);
    for (const index of [1, 2, 3, 4]) inflights.add(at(index), 1);
    inflights.freeLE(at(2));
    inflights.add(at(5), 1);
    inflights.add(at(6), 1);
    expect(inflights.full()).toBe(true);
    inflights.freeLE(at(4));
    expect(inflights.size()).toBe(2);
    inflights.freeLE(at(5));
    expect(inflights.size()).toBe(1);
    inflights.add(at(7), 1);
    inflights.add(at(8), 1);
    inflights.add(at(9), 1);
    expect(inflights.full()).toBe(true);
    inflights.freeLE(at(8));
    expect(inflights.size()).toBe(1);
  });

  it('empties on reset, count and bytes alike', () => {
    const inflights = new Inflights(2, 50);
    inflights.add(at(1), 25);
    inflights.add(at(2), 25);
    inflights.reset();
    expect(inflights.size()).toBe(0);
    expect(inflights.full()).toBe(false);
    inflights.add(at(3), 49);
    expect(inflights.full()).toBe(false);
  });

  it('asserts when a message is added to a full window', () => {
    const inflights = new Inflights(1, 0);
    inflights.add(at(1), 1);
    const error = caught(() => inflights.add(at(2), 1));
    expect(error).toBeInstanceOf(RaftAssertionError);
    expect(error).toMatchObject({ code: 'AssertionFailed' });
  });

  it('matches an array model over random add, freeLE and reset', () => {
    fc.assert(
      matchesModel((countMax, bytesMax) => new Inflights(countMax, bytesMax)),
      { seed, numRuns: 200 },
    );
  });

  it('the model property catches freeLE freeing only below the index', () => {
    const result = fc.check(
      matchesModel((countMax, bytesMax) => new InflightsFreeLT(countMax, bytesMax)),
      { seed, numRuns: 200 },
    );
    expect(result.failed).toBe(true);
  });
});
