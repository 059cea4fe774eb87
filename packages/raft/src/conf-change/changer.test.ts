// Proves the membership arithmetic (Raft §6, thesis §4.1): single-server changes apply directly
// and refuse to change more than one voter; joint changes keep the old voters as the outgoing
// half; a voter demoted inside a joint config waits in learnersNext and becomes a learner when
// the config is left; and the impossible requests (no voters left, leaving a config that is not
// joint, entering a joint config twice) fail with a RaftError of code 'ConfChangeInvalid'.
// A fast-check property applies random change sequences from a three-voter cluster, accepting
// only 'ConfChangeInvalid' refusals, and checks the ConfState invariants plus each change's own
// effect after every accepted step; its sibling plants a changer that makes demoted voters
// learners too early and must be caught.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RaftError } from '../errors.js';
import type { NodeId } from '../ids.js';
import type { ConfChange, ConfChangeSingle, ConfState } from '../types.js';
import {
  applyConfChange,
  enterJoint,
  isJoint,
  isLeaveJoint,
  leaveJoint,
  simple,
} from './changer.js';

const seed = Number(process.env.CAIRN_SEED ?? 1);

const ids = (...values: number[]): NodeId[] => values as NodeId[];

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

const addVoter = (id: number): ConfChangeSingle => ({ type: 'addVoter', nodeId: id as NodeId });
const addLearner = (id: number): ConfChangeSingle => ({ type: 'addLearner', nodeId: id as NodeId });
const removeNode = (id: number): ConfChangeSingle => ({ type: 'removeNode', nodeId: id as NodeId });
const LEAVE: ConfChange = { changes: [], transition: 'auto' };

function caught(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error('expected the action to throw');
}

function expectInvalid(action: () => unknown): void {
  const error = caught(action);
  expect(error).toBeInstanceOf(RaftError);
  expect(error).toMatchObject({ code: 'ConfChangeInvalid' });
}

function isSortedUnique(list: readonly NodeId[]): boolean {
  return list.every((id, i) => i === 0 || (list[i - 1] as NodeId) < id);
}

/** Every broken ConfState invariant, by name; empty when the state is valid. */
function violations(state: ConfState): string[] {
  const found: string[] = [];
  const lists = {
    voters: state.voters,
    votersOutgoing: state.votersOutgoing,
    learners: state.learners,
    learnersNext: state.learnersNext,
  };
  for (const [name, list] of Object.entries(lists)) {
    if (!isSortedUnique(list)) found.push(`${name} not sorted and unique`);
  }
  if (state.voters.length === 0) found.push('no voters');
  const voters = new Set([...state.voters, ...state.votersOutgoing]);
  if (state.learners.some((id) => voters.has(id))) found.push('a learner is a voter');
  if (state.learnersNext.some((id) => !state.votersOutgoing.includes(id)))
    found.push('learnersNext not within votersOutgoing');
  if (state.learnersNext.some((id) => state.voters.includes(id)))
    found.push('learnersNext in the incoming voters');
  if (state.learnersNext.some((id) => state.learners.includes(id)))
    found.push('learnersNext also learners');
  if (!isJoint(state) && state.learnersNext.length > 0) found.push('learnersNext outside joint');
  if (!isJoint(state) && state.autoLeave) found.push('autoLeave outside joint');
  return found;
}

/** What each change of `change` says about its node, the last mention winning. */
function effectViolations(change: ConfChange, state: ConfState): string[] {
  const last = new Map<NodeId, ConfChangeSingle['type']>();
  for (const single of change.changes) last.set(single.nodeId, single.type);
  const found: string[] = [];
  for (const [id, type] of last) {
    const voter = state.voters.includes(id);
    const learner = state.learners.includes(id) || state.learnersNext.includes(id);
    if (type === 'addVoter' && !voter) found.push(`${id} added as voter but is not one`);
    if (type === 'addLearner' && (voter || !learner))
      found.push(`${id} added as learner but is not one`);
    if (type === 'removeNode' && (voter || learner)) found.push(`${id} removed but still there`);
  }
  return found;
}

type Changer = (current: ConfState, change: ConfChange) => ConfState;

/** Planted bug: demoted outgoing voters become learners at once instead of after leaving. */
const changerEagerLearners: Changer = (current, change) => {
  const next = applyConfChange(current, change);
  return {
    ...next,
    learners: [...next.learners, ...next.learnersNext].sort((a, b) => a - b),
    learnersNext: [],
  };
};

const changeLists = fc.oneof(
  { weight: 1, arbitrary: fc.constant(LEAVE) },
  {
    weight: 4,
    arbitrary: fc.record({
      changes: fc.array(
        fc.record({
          type: fc.constantFrom('addVoter' as const, 'addLearner' as const, 'removeNode' as const),
          nodeId: fc.integer({ min: 1, max: 5 }).map((id) => id as NodeId),
        }),
        { minLength: 1, maxLength: 3 },
      ),
      transition: fc.constantFrom(
        'auto' as const,
        'joint-implicit' as const,
        'joint-explicit' as const,
      ),
    }),
  },
);

function keepsInvariants(changer: Changer) {
  return fc.property(fc.array(changeLists, { maxLength: 15 }), (sequence) => {
    let state = conf({ voters: ids(1, 2, 3), learners: ids(4) });
    for (const change of sequence) {
      let next: ConfState;
      try {
        next = changer(state, change);
      } catch (error) {
        expect(error).toBeInstanceOf(RaftError);
        expect(error).toMatchObject({ code: 'ConfChangeInvalid' });
        continue;
      }
      expect(violations(next)).toEqual([]);
      expect(effectViolations(change, next)).toEqual([]);
      if (!isJoint(state) && !isJoint(next)) {
        const before = new Set(state.voters);
        const after = new Set(next.voters);
        const changed =
          next.voters.filter((id) => !before.has(id)).length +
          state.voters.filter((id) => !after.has(id)).length;
        expect(changed).toBeLessThanOrEqual(1);
      }
      state = next;
    }
  });
}

describe(`conf-change changer (seed ${seed})`, () => {
  describe('simple changes', () => {
    it('adds a voter', () => {
      const next = applyConfChange(conf({ voters: ids(1) }), {
        changes: [addVoter(2)],
        transition: 'auto',
      });
      expect(next).toEqual(conf({ voters: ids(1, 2) }));
    });

    it('removes a voter', () => {
      const next = applyConfChange(conf({ voters: ids(1, 2, 3) }), {
        changes: [removeNode(2)],
        transition: 'auto',
      });
      expect(next).toEqual(conf({ voters: ids(1, 3) }));
    });

    it('adds a learner', () => {
      const next = simple(conf({ voters: ids(1) }), [addLearner(3)]);
      expect(next).toEqual(conf({ voters: ids(1), learners: ids(3) }));
    });

    it('promotes a learner to voter', () => {
      const next = simple(conf({ voters: ids(1), learners: ids(2) }), [addVoter(2)]);
      expect(next).toEqual(conf({ voters: ids(1, 2) }));
    });

    it('demotes a voter to learner directly outside a joint config', () => {
      const next = simple(conf({ voters: ids(1, 2) }), [addLearner(2)]);
      expect(next).toEqual(conf({ voters: ids(1), learners: ids(2) }));
    });

    it('removes a learner', () => {
      const next = simple(conf({ voters: ids(1), learners: ids(2) }), [removeNode(2)]);
      expect(next).toEqual(conf({ voters: ids(1) }));
    });

    it('accepts adding a voter that already is one', () => {
      expect(simple(conf({ voters: ids(1, 2) }), [addVoter(2)])).toEqual(
        conf({ voters: ids(1, 2) }),
      );
    });

    it('accepts several learner changes with one voter change', () => {
      const next = simple(conf({ voters: ids(1), learners: ids(4) }), [
        addLearner(2),
        addLearner(3),
        removeNode(4),
        addVoter(5),
      ]);
      expect(next).toEqual(conf({ voters: ids(1, 5), learners: ids(2, 3) }));
    });

    it('refuses to add two voters at once', () => {
      expectInvalid(() => simple(conf({ voters: ids(1) }), [addVoter(2), addVoter(3)]));
    });

    it('refuses to replace a voter in one simple step', () => {
      expectInvalid(() => simple(conf({ voters: ids(1, 2, 3) }), [removeNode(3), addVoter(4)]));
    });

    it('refuses to remove the last voter', () => {
      expectInvalid(() =>
        applyConfChange(conf({ voters: ids(1) }), { changes: [removeNode(1)], transition: 'auto' }),
      );
    });

    it('refuses to demote the last voter', () => {
      expectInvalid(() => simple(conf({ voters: ids(1) }), [addLearner(1)]));
    });

    it('refuses a simple change inside a joint config', () => {
      expectInvalid(() =>
        simple(conf({ voters: ids(1, 2), votersOutgoing: ids(1) }), [addVoter(3)]),
      );
    });

    it('leaves the current config untouched', () => {
      const current = Object.freeze(conf({ voters: Object.freeze(ids(1, 2)) as NodeId[] }));
      simple(current, [addVoter(3)]);
      expect(current).toEqual(conf({ voters: ids(1, 2) }));
    });
  });

  describe('joint changes', () => {
    it('keeps the old voters as the outgoing half and is left only explicitly', () => {
      const next = applyConfChange(conf({ voters: ids(1, 2, 3) }), {
        changes: [addVoter(4), removeNode(3)],
        transition: 'joint-explicit',
      });
      expect(next).toEqual(conf({ voters: ids(1, 2, 4), votersOutgoing: ids(1, 2, 3) }));
    });

    it('asks to be left automatically for implicit transitions', () => {
      const next = applyConfChange(conf({ voters: ids(1) }), {
        changes: [addVoter(2)],
        transition: 'joint-implicit',
      });
      expect(next).toEqual(conf({ voters: ids(1, 2), votersOutgoing: ids(1), autoLeave: true }));
    });

    it('goes through a joint config when an auto change has several parts', () => {
      const next = applyConfChange(conf({ voters: ids(1) }), {
        changes: [addVoter(2), addVoter(3)],
        transition: 'auto',
      });
      expect(next).toEqual(conf({ voters: ids(1, 2, 3), votersOutgoing: ids(1), autoLeave: true }));
    });

    it('puts a voter demoted during a joint config in learnersNext', () => {
      const next = enterJoint(conf({ voters: ids(1, 2, 3) }), false, [addLearner(3)]);
      expect(next).toEqual(
        conf({ voters: ids(1, 2), votersOutgoing: ids(1, 2, 3), learnersNext: ids(3) }),
      );
    });

    it('makes a learnersNext node a learner when the joint config is left', () => {
      const joint = enterJoint(conf({ voters: ids(1, 2, 3), learners: ids(5) }), false, [
        addLearner(3),
      ]);
      expect(applyConfChange(joint, LEAVE)).toEqual(
        conf({ voters: ids(1, 2), learners: ids(3, 5) }),
      );
    });

    it('adds a brand-new learner straight to learners during a joint config', () => {
      const next = enterJoint(conf({ voters: ids(1, 2) }), true, [addVoter(3), addLearner(4)]);
      expect(next).toEqual(
        conf({
          voters: ids(1, 2, 3),
          votersOutgoing: ids(1, 2),
          learners: ids(4),
          autoLeave: true,
        }),
      );
    });

    it('promotes a learner to voter through a joint config', () => {
      const joint = enterJoint(conf({ voters: ids(1), learners: ids(2) }), false, [addVoter(2)]);
      expect(joint).toEqual(conf({ voters: ids(1, 2), votersOutgoing: ids(1) }));
      expect(leaveJoint(joint)).toEqual(conf({ voters: ids(1, 2) }));
    });

    it('forgets a pending demotion when the node is made a voter again', () => {
      const next = enterJoint(conf({ voters: ids(1, 2) }), false, [addLearner(2), addVoter(2)]);
      expect(next).toEqual(conf({ voters: ids(1, 2), votersOutgoing: ids(1, 2) }));
    });

    it('drops the outgoing half and autoLeave when left', () => {
      const joint = conf({ voters: ids(2, 3), votersOutgoing: ids(1, 2), autoLeave: true });
      expect(leaveJoint(joint)).toEqual(conf({ voters: ids(2, 3) }));
    });

    it('refuses to enter a joint config twice', () => {
      const joint = enterJoint(conf({ voters: ids(1) }), false, [addVoter(2)]);
      expectInvalid(() => enterJoint(joint, false, [addVoter(3)]));
      expectInvalid(() =>
        applyConfChange(joint, { changes: [addVoter(3)], transition: 'joint-explicit' }),
      );
    });

    it('refuses to leave a config that is not joint', () => {
      expectInvalid(() => applyConfChange(conf({ voters: ids(1) }), LEAVE));
      expectInvalid(() => leaveJoint(conf({ voters: ids(1) })));
    });

    it('refuses a joint config whose incoming half has no voters', () => {
      expectInvalid(() =>
        enterJoint(conf({ voters: ids(1, 2) }), false, [removeNode(1), removeNode(2)]),
      );
    });

    it('refuses to enter a joint config from no voters', () => {
      expectInvalid(() => enterJoint(conf({}), false, [addVoter(1)]));
    });

    it('recognises a leave request by its empty change list', () => {
      expect(isLeaveJoint(LEAVE)).toBe(true);
      expect(isLeaveJoint({ changes: [addVoter(1)], transition: 'auto' })).toBe(false);
    });
  });

  describe('random change sequences', () => {
    it('keep voters and learners disjoint, learnersNext within the outgoing half, ids sorted', () => {
      fc.assert(keepsInvariants(applyConfChange), { seed, numRuns: 200 });
    });

    it('the invariant property catches demoted voters becoming learners too early', () => {
      const result = fc.check(keepsInvariants(changerEagerLearners), { seed, numRuns: 200 });
      expect(result.failed).toBe(true);
    });
  });
});
