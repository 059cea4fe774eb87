// Proves the leader's membership view: committed() is the joint quorum index over the members'
// match, quorumActive() and hasQuorum() need a majority of each half, votes count once per
// voter, and switchTo() adds and forgets progress entries and keeps the learner flags in step
// with the configuration (a voter being demoted inside a joint config is still a voter). Each
// test builds a tracker from a ConfState, moves `match` or `recentActive` by hand and asks.
import { describe, expect, it } from 'vitest';
import type { LogIndex, NodeId } from '../ids.js';
import type { ConfState } from '../types.js';
import type { Progress } from './progress.js';
import { ProgressTracker } from './tracker.js';

const ids = (...values: number[]): NodeId[] => values as NodeId[];
const at = (value: number): LogIndex => value as LogIndex;

function conf(parts: Partial<ConfState>): ConfState {
  return {
    voters: [],
    votersOutgoing: [],
    learners: [],
    learnersNext: [],
    autoLeave: false,
    ...parts,
  };
}

function trackerOf(parts: Partial<ConfState>): ProgressTracker {
  return new ProgressTracker(conf(parts), 4, 0);
}

function progressOf(tracker: ProgressTracker, id: number): Progress {
  const progress = tracker.progress.get(id as NodeId);
  if (progress === undefined) throw new Error(`no progress for ${id}`);
  return progress;
}

function setMatch(tracker: ProgressTracker, matches: Record<number, number>): void {
  for (const [id, match] of Object.entries(matches)) {
    progressOf(tracker, Number(id)).maybeUpdate(at(match));
  }
}

/** Marks exactly `active` as heard from in this check-quorum round. */
function setActive(tracker: ProgressTracker, ...active: number[]): void {
  for (const [id, progress] of tracker.progress) progress.recentActive = active.includes(id);
}

describe('ProgressTracker', () => {
  describe('committed', () => {
    it('is the majority match of a simple config', () => {
      const tracker = trackerOf({ voters: ids(1, 2, 3) });
      setMatch(tracker, { 1: 8, 2: 5, 3: 2 });
      expect(tracker.committed()).toBe(5);
    });

    it('ignores learners however far they are', () => {
      const tracker = trackerOf({ voters: ids(1, 2, 3), learners: ids(4, 5) });
      setMatch(tracker, { 1: 3, 4: 9, 5: 9 });
      expect(tracker.committed()).toBe(0);
    });

    it('in a joint config, is held back by the outgoing half', () => {
      const tracker = trackerOf({ voters: ids(1, 2, 3), votersOutgoing: ids(1, 4, 5) });
      setMatch(tracker, { 1: 9, 2: 9, 3: 9, 4: 2, 5: 1 });
      expect(tracker.committed()).toBe(2);
    });

    it('in a joint config, is held back by the incoming half', () => {
      const tracker = trackerOf({ voters: ids(1, 2, 3), votersOutgoing: ids(1, 4, 5) });
      setMatch(tracker, { 1: 9, 2: 4, 3: 3, 4: 9, 5: 9 });
      expect(tracker.committed()).toBe(4);
    });
  });

  describe('quorumActive', () => {
    it('counts the leader itself as active', () => {
      const tracker = trackerOf({ voters: ids(1, 2, 3) });
      setActive(tracker, 2);
      expect(tracker.quorumActive(1 as NodeId)).toBe(true);
    });

    it('fails when a majority has gone quiet', () => {
      const tracker = trackerOf({ voters: ids(1, 2, 3) });
      setActive(tracker);
      expect(tracker.quorumActive(1 as NodeId)).toBe(false);
    });

    it('in a joint config, needs an active majority of the outgoing half too', () => {
      const tracker = trackerOf({ voters: ids(1, 2, 3), votersOutgoing: ids(1, 4, 5) });
      setActive(tracker, 2);
      expect(tracker.quorumActive(1 as NodeId)).toBe(false);
      setActive(tracker, 2, 4);
      expect(tracker.quorumActive(1 as NodeId)).toBe(true);
    });

    it('does not let active learners make up a quorum', () => {
      const tracker = trackerOf({ voters: ids(1, 2, 3), learners: ids(4, 5) });
      setActive(tracker, 4, 5);
      expect(tracker.quorumActive(1 as NodeId)).toBe(false);
    });
  });

  describe('hasQuorum', () => {
    it('needs a majority of the voters', () => {
      const tracker = trackerOf({ voters: ids(1, 2, 3, 4, 5) });
      expect(tracker.hasQuorum(new Set(ids(1, 2)))).toBe(false);
      expect(tracker.hasQuorum(new Set(ids(1, 2, 5)))).toBe(true);
    });

    it('ignores acknowledgements from learners and strangers', () => {
      const tracker = trackerOf({ voters: ids(1, 2, 3), learners: ids(4) });
      expect(tracker.hasQuorum(new Set(ids(1, 4, 9)))).toBe(false);
    });

    it('in a joint config, needs both halves', () => {
      const tracker = trackerOf({ voters: ids(1, 2, 3), votersOutgoing: ids(4, 5, 6) });
      expect(tracker.hasQuorum(new Set(ids(1, 2)))).toBe(false);
      expect(tracker.hasQuorum(new Set(ids(1, 2, 4, 5)))).toBe(true);
    });
  });

  describe('votes', () => {
    it('counts only the first vote of each voter', () => {
      const tracker = trackerOf({ voters: ids(1, 2, 3) });
      tracker.recordVote(1 as NodeId, true);
      tracker.recordVote(2 as NodeId, false);
      tracker.recordVote(2 as NodeId, true);
      expect(tracker.tallyVotes()).toBe('pending');
      tracker.recordVote(3 as NodeId, true);
      expect(tracker.tallyVotes()).toBe('won');
    });

    it('starts a new election with no votes after resetVotes', () => {
      const tracker = trackerOf({ voters: ids(1, 2, 3) });
      tracker.recordVote(1 as NodeId, false);
      tracker.recordVote(2 as NodeId, false);
      expect(tracker.tallyVotes()).toBe('lost');
      tracker.resetVotes();
      expect(tracker.tallyVotes()).toBe('pending');
    });
  });

  describe('switchTo', () => {
    it('tracks every voter and learner, sorted', () => {
      const tracker = trackerOf({ voters: ids(3, 1), learners: ids(2) });
      expect(tracker.memberIds).toEqual(ids(1, 2, 3));
      expect(tracker.voterIds).toEqual(ids(1, 3));
      expect(tracker.isVoter(2 as NodeId)).toBe(false);
      expect(tracker.isMember(2 as NodeId)).toBe(true);
      expect(progressOf(tracker, 2).isLearner).toBe(true);
      expect(progressOf(tracker, 1).isLearner).toBe(false);
    });

    it('starts added members at the given next index and keeps existing ones', () => {
      const tracker = trackerOf({ voters: ids(1, 2) });
      setMatch(tracker, { 2: 6 });
      tracker.switchTo(conf({ voters: ids(1, 2, 3) }), at(11));
      expect(progressOf(tracker, 3).next).toBe(11);
      expect(progressOf(tracker, 2).match).toBe(6);
    });

    it('forgets removed members', () => {
      const tracker = trackerOf({ voters: ids(1, 2, 3), learners: ids(4) });
      tracker.switchTo(conf({ voters: ids(1, 2) }), at(5));
      expect(tracker.isMember(3 as NodeId)).toBe(false);
      expect(tracker.isMember(4 as NodeId)).toBe(false);
      expect(tracker.memberIds).toEqual(ids(1, 2));
    });

    it('flips the learner flag when a learner is promoted', () => {
      const tracker = trackerOf({ voters: ids(1), learners: ids(2) });
      tracker.switchTo(conf({ voters: ids(1, 2) }), at(5));
      expect(progressOf(tracker, 2).isLearner).toBe(false);
      expect(tracker.isVoter(2 as NodeId)).toBe(true);
    });

    it('keeps a voter being demoted in a joint config a voter until the config is left', () => {
      const tracker = trackerOf({ voters: ids(1, 2, 3) });
      tracker.switchTo(
        conf({ voters: ids(1, 2), votersOutgoing: ids(1, 2, 3), learnersNext: ids(3) }),
        at(5),
      );
      expect(progressOf(tracker, 3).isLearner).toBe(false);
      expect(tracker.isVoter(3 as NodeId)).toBe(true);
      tracker.switchTo(conf({ voters: ids(1, 2), learners: ids(3) }), at(5));
      expect(progressOf(tracker, 3).isLearner).toBe(true);
      expect(tracker.isVoter(3 as NodeId)).toBe(false);
    });

    it('counts a voter of the outgoing half only as a voter', () => {
      const tracker = trackerOf({ voters: ids(1, 2), votersOutgoing: ids(1, 2, 3) });
      expect(tracker.voterIds).toEqual(ids(1, 2, 3));
      expect(tracker.isSingleton()).toBe(false);
    });

    it('reports a singleton only for one voter outside a joint config', () => {
      expect(trackerOf({ voters: ids(1), learners: ids(2) }).isSingleton()).toBe(true);
      expect(trackerOf({ voters: ids(1), votersOutgoing: ids(1, 2) }).isSingleton()).toBe(false);
    });
  });
});
