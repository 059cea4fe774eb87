/**
 * The simulator finds planted bugs (issue 8): each test switches on one deliberate fault in the
 * environment the simulator controls (no hook in @cairn/node) and requires the checkers to
 * report the specific rule it breaks within a bounded number of seeds, printing the seed that
 * found it. A simulator whose checkers or fault injection stopped working would let these pass
 * silently in every other test; here it fails.
 *
 * - apply before persist: the disk acknowledges `sync` writes without making them durable; a
 *   crash then loses entries a member had acknowledged, which the leader's commit index exposes
 *   ("commit N beyond last index: log lost or corrupted").
 * - commit without quorum: the network forges successful AppendResponses for Appends it lost;
 *   a leader cut off from the others commits alone, and a different entry is applied at the
 *   same index elsewhere (state machine safety).
 * - deliver a watch after the read: watch callbacks arrive 40 virtual ms late, after calls of
 *   the session that already reflect the change (the watch ordering rule).
 * - vote twice in a term: the disk forgets the vote of the hard state it replays; in the
 *   split-vote shape (leaders deposed, voters dying right after a vote and back in the same
 *   term) another candidate of that term gets a second vote (the vote rule, across
 *   incarnations). The general shapes almost never reach it (docs/sim.md).
 */
import { describe, expect, it } from 'vitest';
import { SPLIT_VOTE_SHAPE } from '../src/batch.js';
import type { Plant } from '../src/plant.js';
import type { Violation } from '../src/raft-checker.js';
import { type SimulationOptions, simulate } from '../src/simulate.js';

type Shape = Omit<SimulationOptions, 'seed' | 'plant'>;

const THREE_VOTERS: Shape = { voters: 3, safetyMs: 2000 };

/** Runs seeds 1..maxSeeds with `plant` until a violation matches `rule`; returns that seed. */
async function findPlant(
  plant: Plant,
  rule: (violation: Violation) => boolean,
  maxSeeds: number,
  shape: Shape = THREE_VOTERS,
): Promise<{ seed: number | null; seen: string[] }> {
  const seen: string[] = [];
  for (let seed = 1; seed <= maxSeeds; seed++) {
    const report = await simulate({ ...shape, seed, plant });
    const found = report.violations.find(rule);
    for (const v of report.violations.slice(0, 2))
      seen.push(`seed ${seed} [${v.checker}] ${v.message.slice(0, 120)}`);
    if (found !== undefined) {
      console.log(
        `planted ${JSON.stringify(plant)} found at seed ${seed}: [${found.checker}] ${found.message.slice(0, 200)}`,
      );
      return { seed, seen };
    }
  }
  return { seed: null, seen };
}

describe('planted bugs are found', () => {
  it('apply before persist (sync acknowledged, not durable) within 20 seeds', async () => {
    const { seed, seen } = await findPlant(
      { ackUnsynced: true },
      (v) => v.checker === 'runtime' && /beyond last index .*log lost or corrupted/.test(v.message),
      20,
    );
    expect(seed, `not found; seen:\n${seen.join('\n')}`).not.toBeNull();
  }, 300_000);

  it('commit without quorum (forged append acks) within 20 seeds', async () => {
    const { seed, seen } = await findPlant(
      { forgeAppendAcks: true },
      // Either a checker sees two replicas apply different entries at one index, or the
      // follower named in the forged ack hears a commit index past its own log and stops (the
      // core's check, as etcd-io/raft panics "tocommit is out of range"): both are the lie found.
      (v) =>
        (v.checker === 'raft' && v.message.startsWith('state machine safety')) ||
        (v.checker === 'runtime' && /beyond last index .*log lost or corrupted/.test(v.message)),
      20,
    );
    expect(seed, `not found; seen:\n${seen.join('\n')}`).not.toBeNull();
  }, 300_000);

  it('a watch delivered after the read within 5 seeds', async () => {
    const { seed, seen } = await findPlant(
      { lateWatchMs: 40 },
      (v) => v.checker === 'watch' && v.message.includes('before the watch fired'),
      5,
    );
    expect(seed, `not found; seen:\n${seen.join('\n')}`).not.toBeNull();
  }, 300_000);

  it('a vote forgotten on restart (two votes in one term) within 8 seeds of split votes', async () => {
    const { seed, seen } = await findPlant(
      { forgetVote: true },
      (v) => v.checker === 'raft' && v.message.startsWith('one vote per term'),
      8,
      SPLIT_VOTE_SHAPE.options,
    );
    expect(seed, `not found; seen:\n${seen.join('\n')}`).not.toBeNull();
  }, 300_000);

  it('the same seeds pass without the plants', async () => {
    for (const shape of [THREE_VOTERS, SPLIT_VOTE_SHAPE.options])
      for (const seed of [1, 2, 3]) {
        const report = await simulate({ ...shape, seed });
        expect(report.violations, `seed ${seed} ${JSON.stringify(shape)}`).toEqual([]);
      }
  }, 300_000);
});
