// Proves the leader's per-follower replication state machine (thesis §10.2.1): the
// probe → replicate → snapshot → probe transitions and where each puts `next`, which states
// pause sending, how rejections move `next` back (and that stale ones change nothing), and
// that acknowledgements never move `match` backwards (RELIABILITY F3: a duplicated or reordered
// ack must not regress matchIndex). Hand-written cases pin each rule; a fast-check property
// feeds random, duplicated and reordered acks and rejections and checks match equals the highest
// ack so far with match < next; its sibling plants a regressing maybeUpdate and must fail.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LogIndex } from '../ids.js';
import { Progress } from './progress.js';

const seed = Number(process.env.CAIRN_SEED ?? 1);

const at = (value: number): LogIndex => value as LogIndex;

function progressAt(next: number, inflightMessagesMax = 4, inflightBytesMax = 0): Progress {
  return new Progress(at(next), inflightMessagesMax, inflightBytesMax, false);
}

/** Planted bug: every acknowledgement overwrites match, stale or not. */
class ProgressTrustsEveryAck extends Progress {
  override maybeUpdate(index: LogIndex): boolean {
    this.match = index;
    if (this.next < index + 1) this.next = (index + 1) as LogIndex;
    return true;
  }
}

const events = fc.array(
  fc.oneof(
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('ack' as const), index: fc.nat(30) }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('reject' as const),
        index: fc.nat(30),
        hint: fc.nat(30),
      }),
    },
  ),
  { maxLength: 40 },
);

function matchNeverRegresses(make: () => Progress) {
  return fc.property(events, fc.boolean(), (sequence, replicate) => {
    const progress = make();
    if (replicate) progress.becomeReplicate();
    let highest = 0;
    for (const event of sequence) {
      if (event.kind === 'ack') {
        const moved = progress.maybeUpdate(at(event.index));
        expect(moved).toBe(event.index > highest);
        highest = Math.max(highest, event.index);
      } else {
        progress.maybeDecreaseTo(at(event.index), at(event.hint + 1));
      }
      expect(progress.match).toBe(highest);
      expect(progress.next).toBeGreaterThan(progress.match);
    }
  });
}

describe(`Progress (seed ${seed})`, () => {
  it('starts probing at the given next with nothing matched', () => {
    const progress = progressAt(5);
    expect(progress.state).toBe('probe');
    expect(progress.match).toBe(0);
    expect(progress.next).toBe(5);
    expect(progress.isPaused()).toBe(false);
  });

  describe('transitions', () => {
    it('moves from probe to replicate, streaming from just past match', () => {
      const progress = progressAt(10);
      progress.maybeUpdate(at(6));
      progress.becomeReplicate();
      expect(progress.state).toBe('replicate');
      expect(progress.next).toBe(7);
    });

    it('moves from replicate to snapshot, remembering the snapshot index', () => {
      const progress = progressAt(10);
      progress.becomeReplicate();
      progress.sentEntries(2, at(2), 10);
      progress.becomeSnapshot(at(20));
      expect(progress.state).toBe('snapshot');
      expect(progress.pendingSnapshot).toBe(20);
      expect(progress.inflights.size()).toBe(0);
    });

    it('resumes probing past the pending snapshot when leaving snapshot state', () => {
      const progress = progressAt(3);
      progress.maybeUpdate(at(2));
      progress.becomeSnapshot(at(20));
      progress.becomeProbe();
      expect(progress.state).toBe('probe');
      expect(progress.next).toBe(21);
      expect(progress.pendingSnapshot).toBe(0);
    });

    it('resumes probing past match when match already passed the snapshot', () => {
      const progress = progressAt(3);
      progress.becomeSnapshot(at(20));
      progress.maybeUpdate(at(25));
      progress.becomeProbe();
      expect(progress.next).toBe(26);
    });

    it('drops back from replicate to probe at match + 1, emptying the window', () => {
      const progress = progressAt(1);
      progress.maybeUpdate(at(4));
      progress.becomeReplicate();
      progress.sentEntries(3, at(7), 30);
      expect(progress.next).toBe(8);
      progress.becomeProbe();
      expect(progress.state).toBe('probe');
      expect(progress.next).toBe(5);
      expect(progress.inflights.size()).toBe(0);
    });

    it('forgets recent activity but keeps next on a fresh probe for a new term', () => {
      const progress = progressAt(9);
      progress.becomeProbeFresh();
      expect(progress.state).toBe('probe');
      expect(progress.recentActive).toBe(false);
      expect(progress.next).toBe(9);
    });
  });

  describe('maybeUpdate', () => {
    it('moves match and next on a newer acknowledgement', () => {
      const progress = progressAt(5);
      expect(progress.maybeUpdate(at(7))).toBe(true);
      expect(progress.match).toBe(7);
      expect(progress.next).toBe(8);
    });

    it('keeps next when it is already past the acknowledged index', () => {
      const progress = progressAt(1);
      progress.becomeReplicate();
      progress.sentEntries(10, at(10), 100);
      expect(progress.maybeUpdate(at(4))).toBe(true);
      expect(progress.match).toBe(4);
      expect(progress.next).toBe(11);
    });

    it('ignores a duplicate acknowledgement', () => {
      const progress = progressAt(1);
      progress.maybeUpdate(at(6));
      expect(progress.maybeUpdate(at(6))).toBe(false);
      expect(progress.match).toBe(6);
      expect(progress.next).toBe(7);
    });

    it('ignores a stale acknowledgement without regressing match or next', () => {
      const progress = progressAt(1);
      progress.maybeUpdate(at(9));
      expect(progress.maybeUpdate(at(3))).toBe(false);
      expect(progress.match).toBe(9);
      expect(progress.next).toBe(10);
    });

    it('lets a probe be sent again after a newer acknowledgement', () => {
      const progress = progressAt(5);
      progress.sentEntries(1, at(5), 10);
      expect(progress.isPaused()).toBe(true);
      progress.maybeUpdate(at(5));
      expect(progress.isPaused()).toBe(false);
    });

    it('never regresses match over random duplicated and reordered acks', () => {
      fc.assert(
        matchNeverRegresses(() => progressAt(1)),
        { seed, numRuns: 200 },
      );
    });

    it('the property catches a maybeUpdate that trusts stale acks', () => {
      const result = fc.check(
        matchNeverRegresses(() => new ProgressTrustsEveryAck(at(1), 4, 0, false)),
        { seed, numRuns: 200 },
      );
      expect(result.failed).toBe(true);
    });
  });

  describe('maybeDecreaseTo', () => {
    it('in replicate, rewinds next to match + 1 on a rejection above match', () => {
      const progress = progressAt(1);
      progress.maybeUpdate(at(5));
      progress.becomeReplicate();
      progress.sentEntries(5, at(10), 50);
      expect(progress.maybeDecreaseTo(at(8), at(3))).toBe(true);
      expect(progress.next).toBe(6);
    });

    it('in replicate, ignores a stale rejection at or below match', () => {
      const progress = progressAt(1);
      progress.maybeUpdate(at(5));
      progress.becomeReplicate();
      progress.sentEntries(5, at(10), 50);
      expect(progress.maybeDecreaseTo(at(5), at(1))).toBe(false);
      expect(progress.next).toBe(11);
    });

    it('in probe, moves next to the hint when the rejection is for next - 1', () => {
      const progress = progressAt(10);
      progress.sentEntries(0, at(9), 0);
      expect(progress.maybeDecreaseTo(at(9), at(4))).toBe(true);
      expect(progress.next).toBe(4);
      expect(progress.isPaused()).toBe(false);
    });

    it('in probe, never moves next below match + 1', () => {
      const progress = progressAt(10);
      progress.maybeUpdate(at(6));
      expect(progress.maybeDecreaseTo(at(9), at(2))).toBe(true);
      expect(progress.next).toBe(7);
    });

    it('in probe, never moves next forward past the rejected index', () => {
      const progress = progressAt(10);
      expect(progress.maybeDecreaseTo(at(9), at(50))).toBe(true);
      expect(progress.next).toBe(9);
    });

    it('in probe, ignores a stale rejection for another index', () => {
      const progress = progressAt(10);
      progress.sentEntries(0, at(9), 0);
      expect(progress.maybeDecreaseTo(at(7), at(2))).toBe(false);
      expect(progress.next).toBe(10);
      expect(progress.isPaused()).toBe(true);
    });
  });

  describe('isPaused', () => {
    it('in probe, pauses after sending until a response arrives', () => {
      const progress = progressAt(3);
      expect(progress.isPaused()).toBe(false);
      progress.sentEntries(0, at(2), 0);
      expect(progress.isPaused()).toBe(true);
    });

    it('in replicate, pauses only when the inflight window is full', () => {
      const progress = progressAt(1, 2);
      progress.becomeReplicate();
      progress.sentEntries(1, at(1), 10);
      expect(progress.isPaused()).toBe(false);
      progress.sentEntries(1, at(2), 10);
      expect(progress.isPaused()).toBe(true);
      progress.inflights.freeLE(at(1));
      expect(progress.isPaused()).toBe(false);
    });

    it('in replicate, pauses when the inflight bytes are used up', () => {
      const progress = progressAt(1, 10, 100);
      progress.becomeReplicate();
      progress.sentEntries(4, at(4), 100);
      expect(progress.isPaused()).toBe(true);
    });

    it('in replicate, does not record a bare commit as inflight', () => {
      const progress = progressAt(1, 1);
      progress.becomeReplicate();
      progress.sentEntries(0, at(0), 0);
      expect(progress.inflights.size()).toBe(0);
      expect(progress.next).toBe(1);
    });

    it('in snapshot, always pauses', () => {
      const progress = progressAt(3);
      progress.becomeSnapshot(at(10));
      expect(progress.isPaused()).toBe(true);
    });
  });
});
