import { assertNever } from './assert.js';
import type { Ready } from './core.js';
import type { Message } from './messages.js';
import type { ConfState, Entry, HardState, Snapshot } from './types.js';

/**
 * Short, stable text for entries, messages and Ready (etcd's Describe*). Fixtures, logs and
 * failure reports all use it, so a test diff reads like a protocol trace.
 */
export function describeEntry(entry: Entry): string {
  const kind = entry.type === 'confChange' ? ' conf' : '';
  return `${entry.term}/${entry.index}${kind}${entry.data.length > 0 ? ` ${describeData(entry.data)}` : ''}`;
}

export function describeEntries(entries: readonly Entry[]): string {
  return `[${entries.map(describeEntry).join(', ')}]`;
}

function describeData(data: Uint8Array): string {
  let printable = true;
  for (const byte of data) if (byte < 0x20 || byte > 0x7e) printable = false;
  if (printable && data.length <= 32) return JSON.stringify(String.fromCharCode(...data));
  return `${data.length}B`;
}

export function describeMessage(m: Message): string {
  const head = `${m.from}->${m.to} ${m.type} term=${m.term}`;
  switch (m.type) {
    case 'Vote':
    case 'PreVote':
      return `${head} last=${m.lastTerm}/${m.lastIndex}${m.transfer ? ' transfer' : ''}`;
    case 'VoteResponse':
    case 'PreVoteResponse':
      return `${head}${m.reject ? ' rejected' : ' granted'}`;
    case 'Append':
      return `${head} prev=${m.prevTerm}/${m.prevIndex} commit=${m.commit} entries=${describeEntries(m.entries)}`;
    case 'AppendResponse':
      return m.reject
        ? `${head} rejected index=${m.index} hint=${m.hintTerm}/${m.hintIndex}`
        : `${head} index=${m.index}`;
    case 'Heartbeat':
      return `${head} commit=${m.commit}${m.context === null ? '' : ` context=${m.context}`}`;
    case 'HeartbeatResponse':
      return `${head}${m.context === null ? '' : ` context=${m.context}`}`;
    case 'Snapshot':
      return `${head} ${describeSnapshot(m.snapshot)}`;
    case 'TimeoutNow':
      return head;
    case 'Propose':
      return `${head} entries=${m.entries.length}`;
    case 'ReadIndex':
      return `${head} context=${m.context}`;
    case 'ReadIndexResponse':
      return `${head} index=${m.index} context=${m.context}`;
    case 'TransferLeader':
      return `${head} transferee=${m.transferee}`;
    case 'Runtime':
      return `${head} payload=${m.payload.length}B`;
    default:
      return assertNever(m, 'message');
  }
}

export function describeConfState(state: ConfState): string {
  let text = `voters=(${state.voters.join(' ')})`;
  if (state.votersOutgoing.length > 0) text += `&&(${state.votersOutgoing.join(' ')})`;
  if (state.learners.length > 0) text += ` learners=(${state.learners.join(' ')})`;
  if (state.learnersNext.length > 0) text += ` learners_next=(${state.learnersNext.join(' ')})`;
  if (state.autoLeave) text += ' autoleave';
  return text;
}

export function describeSnapshot(snapshot: Snapshot): string {
  const { index, term, confState } = snapshot.metadata;
  return `snapshot=${term}/${index} ${describeConfState(confState)}`;
}

export function describeHardState(state: HardState): string {
  return `term=${state.term} vote=${state.vote ?? '-'} commit=${state.commit}`;
}

/** One line per item of the Ready, in the order the runtime handles them. */
export function describeReady(ready: Ready): string {
  const lines: string[] = [];
  if (ready.softState !== null)
    lines.push(`role=${ready.softState.role} leader=${ready.softState.leader ?? '-'}`);
  if (ready.hardState !== null) lines.push(`hardState ${describeHardState(ready.hardState)}`);
  if (ready.entries.length > 0) lines.push(`entries ${describeEntries(ready.entries)}`);
  if (ready.snapshot !== null) lines.push(describeSnapshot(ready.snapshot));
  if (ready.compaction !== null)
    lines.push(
      `compaction ${describeSnapshot(ready.compaction.snapshot)} compactTo=${ready.compaction.compactTo}`,
    );
  for (const message of ready.messages) lines.push(`send ${describeMessage(message)}`);
  for (const message of ready.messagesAfterPersist)
    lines.push(`send after persist ${describeMessage(message)}`);
  if (ready.committedEntries.length > 0)
    lines.push(`apply ${describeEntries(ready.committedEntries)}`);
  for (const read of ready.readStates)
    lines.push(`read index=${read.index} context=${read.context}`);
  return lines.join('\n');
}
