/**
 * The split-vote fault schedule (issue 8): elections again and again, each with a voter that
 * dies right after a vote and comes back within the same term. Built to reach what the general
 * schedule almost never does (docs/sim.md, `forgetVote`): a voter that voted in term T,
 * restarts still in T, and is then asked for a vote by another candidate of T. Raft's vote
 * rule (one vote per term, across crashes) is what keeps that voter from granting it; the
 * `forgetVote` plant breaks exactly that, and the Raft checker's vote rule reports it.
 *
 * One round, every 2-4 election timeouts:
 * - every running voter but the leader is armed at `afterPersistVote` (dies once the answer to
 *   its next new vote, for itself or for another candidate, has left) and restarts at once or
 *   within half an election timeout, inside the term it voted in;
 * - links between those voters get losses (up to a one-way cut) and delays, so a candidate's
 *   request misses a voter (who then campaigns in the same term) or reaches it after the
 *   restart, after a racing candidate's;
 * - the leader is deposed, crashed or cut off alone, so the others race for its place; it
 *   comes back, healed, within 1-3 election timeouts.
 *
 * Only faults the design claims to survive (crashes with synced writes kept, loss, delay,
 * partitions); the unplanted runtime must pass every checker under it.
 */
import type { SimCluster } from './cluster.js';
import type { Rng } from './rng.js';

/** One direction's faults, as `MemoryNetwork.setLink` takes them. */
type LinkFaults = Parameters<SimCluster['network']['setLink']>[2];

/** Runs the split-vote rounds for `durationMs` of virtual time, counting what it did. */
export async function splitVotePhase(
  sim: SimCluster,
  rng: Rng,
  durationMs: number,
  count: (name: string, line: string) => void,
): Promise<void> {
  const timeoutMs = sim.electionTimeoutMs;
  const voters = sim.founders;
  const start = sim.time.now();
  const restarts = new Map<number, number>();
  let healAt: number | null = null;
  while (sim.time.now() - start < durationMs) {
    await restartDue(sim, restarts);
    const leader = sim.leader()?.status().id ?? null;
    const now = sim.time.now();
    sim.network.heal();
    sim.partitioned = false;
    const links: [number, number, LinkFaults][] = [];
    const racers = voters.filter((id) => id !== leader && sim.member(id).node !== null);
    for (const id of racers)
      sim.armCrashPoint(id, {
        point: 'afterPersistVote',
        untilMs: now + timeoutMs * 4,
        restartAfterMs: rng.chance(0.5) ? 0 : rng.between(1, Math.floor(timeoutMs / 2)),
      });
    for (const from of racers)
      for (const to of racers) {
        if (from === to || !rng.chance(0.5)) continue;
        const faults = {
          dropProbability: rng.pick([0, 0.3, 0.6, 1]),
          delayRounds: rng.between(0, 10),
          reorder: rng.chance(0.5),
        };
        sim.network.setLink(from, to, faults);
        links.push([from, to, faults]);
        count('linkFaults', `link ${from}->${to} ${JSON.stringify(faults)}`);
      }
    if (leader !== null) {
      const backAt = now + rng.between(timeoutMs, timeoutMs * 3);
      if (rng.chance(0.5)) {
        count('leadersCrashed', `split-vote: crash leader ${leader}`);
        await sim.crash(leader);
        restarts.set(leader, backAt);
      } else {
        sim.network.partition(
          [leader],
          voters.filter((id) => id !== leader),
        );
        sim.partitioned = true;
        healAt = backAt;
        count('partitionsLone', `split-vote: leader ${leader} alone until @${backAt}`);
      }
    }
    sim.faulty = true;
    const roundEnd = now + rng.between(timeoutMs * 2, timeoutMs * 4);
    while (sim.time.now() < roundEnd) {
      await sim.run(10);
      await restartDue(sim, restarts);
      if (healAt !== null && sim.time.now() >= healAt) {
        healAt = null;
        // The network heals partitions and link faults together: put the link faults back.
        sim.network.heal();
        sim.partitioned = false;
        for (const [from, to, faults] of links) sim.network.setLink(from, to, faults);
      }
    }
  }
  for (const id of restarts.keys()) await sim.startMember(id);
  sim.disarmCrashPoints();
  sim.network.heal();
  sim.partitioned = false;
  sim.faulty = false;
}

async function restartDue(sim: SimCluster, restarts: Map<number, number>): Promise<void> {
  for (const [id, at] of [...restarts]) {
    if (sim.time.now() < at) continue;
    restarts.delete(id);
    await sim.startMember(id);
  }
}
