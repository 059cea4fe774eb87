import { RaftError } from '../errors.js';
import type { NodeId } from '../ids.js';
import type { ConfChange, ConfChangeSingle, ConfState } from '../types.js';

/**
 * Pure membership arithmetic (Raft §6 joint consensus, thesis §4.1 single-server changes,
 * etcd's confchange.Changer). Every function returns a new, validated `ConfState` or throws a
 * `RaftError('ConfChangeInvalid')`; the caller decides whether that is the caller's mistake
 * (at proposal time) or a no-op every replica agrees on (at apply time).
 */
export function applyConfChange(current: ConfState, change: ConfChange): ConfState {
  if (change.changes.length === 0) {
    if (isJoint(current)) return leaveJoint(current);
    throw invalid('nothing to change: not in a joint configuration');
  }
  if (change.transition === 'auto' && change.changes.length === 1)
    return simple(current, change.changes);
  return enterJoint(current, change.transition !== 'joint-explicit', change.changes);
}

export function isJoint(state: ConfState): boolean {
  return state.votersOutgoing.length > 0;
}

/** Whether `change` is a request to leave a joint configuration. */
export function isLeaveJoint(change: ConfChange): boolean {
  return change.changes.length === 0;
}

/** Applies changes directly; refused when more than one voter would change (not safe). */
export function simple(current: ConfState, changes: readonly ConfChangeSingle[]): ConfState {
  if (isJoint(current)) throw invalid('cannot make a simple change while in a joint configuration');
  const next = applyChanges(current, changes);
  const before = new Set(current.voters);
  const after = new Set(next.voters);
  let changed = 0;
  for (const id of after) if (!before.has(id)) changed++;
  for (const id of before) if (!after.has(id)) changed++;
  if (changed > 1) throw invalid('more than one voter changed without joint consensus');
  return next;
}

/** Enters C(old,new): the old voters stay as the outgoing half until the joint config is left. */
export function enterJoint(
  current: ConfState,
  autoLeave: boolean,
  changes: readonly ConfChangeSingle[],
): ConfState {
  if (isJoint(current)) throw invalid('already in a joint configuration');
  if (current.voters.length === 0)
    throw invalid('cannot enter a joint configuration from no voters');
  const withOutgoing: ConfState = { ...current, votersOutgoing: current.voters, autoLeave };
  return applyChanges(withOutgoing, changes);
}

/** Leaves the joint configuration: the incoming half alone decides; demoted voters become learners. */
export function leaveJoint(current: ConfState): ConfState {
  if (!isJoint(current)) throw invalid('not in a joint configuration');
  const learners = sorted([...current.learners, ...current.learnersNext]);
  return {
    voters: current.voters,
    votersOutgoing: [],
    learners,
    learnersNext: [],
    autoLeave: false,
  };
}

function applyChanges(state: ConfState, changes: readonly ConfChangeSingle[]): ConfState {
  const voters = new Set(state.voters);
  const learners = new Set(state.learners);
  const learnersNext = new Set(state.learnersNext);
  const outgoing = new Set(state.votersOutgoing);
  for (const change of changes) {
    const id = change.nodeId;
    switch (change.type) {
      case 'addVoter':
        learners.delete(id);
        learnersNext.delete(id);
        voters.add(id);
        break;
      case 'addLearner':
        voters.delete(id);
        // A voter of the outgoing half stays a voter there until the joint config is left.
        if (outgoing.has(id)) {
          learners.delete(id);
          learnersNext.add(id);
        } else {
          learners.add(id);
        }
        break;
      case 'removeNode':
        voters.delete(id);
        learners.delete(id);
        learnersNext.delete(id);
        break;
    }
  }
  if (voters.size === 0) throw invalid('removes all voters');
  return {
    voters: sorted(voters),
    votersOutgoing: state.votersOutgoing,
    learners: sorted(learners),
    learnersNext: sorted(learnersNext),
    autoLeave: state.autoLeave,
  };
}

function sorted(ids: Iterable<NodeId>): NodeId[] {
  return [...new Set(ids)].sort((a, b) => a - b);
}

function invalid(message: string): RaftError {
  return new RaftError('ConfChangeInvalid', message);
}
