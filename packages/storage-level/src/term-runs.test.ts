// TermRuns against a plain array of terms as the oracle: a seeded random sequence of appends
// (terms rising now and then, as leadership changes), truncations and compactions, after each
// of which every index's term must agree, including just outside the covered range. A sibling
// plants a bug (a truncation that forgets to drop the runs past it) and shows the check fails.
import { seededRandom } from '@cairn/raft';
import { describe, expect, it } from 'vitest';
import { TermRuns } from './term-runs.js';

const seed = Number(process.env.CAIRN_SEED ?? 1);
const STEPS = 2000;

/** Plays a random history; `truncate` is how truncations reach the runs (plantable). */
function play(truncate: (runs: TermRuns, index: number) => void): void {
  const random = seededRandom(seed);
  const runs = new TermRuns();
  runs.reset(1);
  // model[i] is the term of index first + i.
  let first = 1;
  let model: number[] = [];
  let term = 1;
  for (let step = 0; step < STEPS; step++) {
    const roll = random.nextInt(10);
    const last = first + model.length - 1;
    if (roll < 6) {
      if (random.nextInt(5) === 0) term++;
      for (let n = 1 + random.nextInt(5); n > 0; n--) {
        runs.append(first + model.length, term);
        model.push(term);
      }
    } else if (roll < 8 && model.length > 0) {
      const from = first + random.nextInt(model.length);
      truncate(runs, from);
      model = model.slice(0, from - first);
    } else if (model.length > 0) {
      const through = first - 1 + random.nextInt(model.length + 1);
      runs.dropThrough(through);
      model = model.slice(through - first + 1);
      first = through + 1;
    }
    for (let i = first - 2; i <= last + 2; i++) {
      const expected = i >= first && i < first + model.length ? model[i - first] : null;
      expect(runs.term(i), `seed ${seed}, step ${step}, index ${i}`).toBe(expected);
    }
  }
}

describe(`TermRuns against an array of terms (seed ${seed})`, () => {
  it('answers every term after appends, truncations and compactions', () => {
    play((runs, index) => runs.truncateFrom(index));
  });

  it('catches a planted bug: a truncation that keeps the runs past it', () => {
    expect(() =>
      play((runs, index) => {
        // Forgets the truncation unless it lands on the last run's start.
        if (runs.term(index) !== runs.term(index - 1)) runs.truncateFrom(index);
        else (runs as unknown as { last: number }).last = index - 1;
      }),
    ).toThrow(/step/);
  });
});
