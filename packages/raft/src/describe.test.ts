// Pins the text describe.ts prints for messages, entries, membership, hard state and Ready.
// Fixtures and failure reports diff this text, so it is meant to stay stable: each case builds
// one value by hand and compares the exact string with toBe. A change here changes every
// fixture; update them together on purpose.
import { describe, expect, it } from 'vitest';
import type { Ready } from './core.js';
import {
  describeConfState,
  describeEntries,
  describeEntry,
  describeHardState,
  describeMessage,
  describeReady,
  describeSnapshot,
} from './describe.js';
import type { LogIndex, NodeId, Term } from './ids.js';
import type { Message } from './messages.js';
import type { ConfState, Entry, Snapshot } from './types.js';

const text = (value: string): Uint8Array => new TextEncoder().encode(value);

function entry(term: number, index: number, data: Uint8Array = new Uint8Array()): Entry {
  return { term: term as Term, index: index as LogIndex, type: 'normal', data };
}

const envelope = { from: 1 as NodeId, to: 2 as NodeId, term: 3 as Term };

const joint: ConfState = {
  voters: [1, 2, 4] as NodeId[],
  votersOutgoing: [1, 2, 3] as NodeId[],
  learners: [5] as NodeId[],
  learnersNext: [3] as NodeId[],
  autoLeave: true,
};

const snapshot: Snapshot = {
  metadata: {
    index: 20 as LogIndex,
    term: 2 as Term,
    confState: {
      voters: [1, 2, 3] as NodeId[],
      votersOutgoing: [],
      learners: [],
      learnersNext: [],
      autoLeave: false,
    },
  },
  data: new Uint8Array(64),
};

/** A test name per case; accepted and rejected responses get one each. */
function label(message: Message): string {
  if ('reject' in message)
    return `${message.reject ? 'a rejected' : 'an accepted'} ${message.type}`;
  return `${/^[AEIOU]/.test(message.type) ? 'an' : 'a'} ${message.type}`;
}

function ready(parts: Partial<Ready>): Ready {
  return {
    softState: null,
    hardState: null,
    entries: [],
    snapshot: null,
    compaction: null,
    messages: [],
    messagesAfterPersist: [],
    committedEntries: [],
    readStates: [],
    mustSync: false,
    ...parts,
  };
}

describe('describe', () => {
  describe('entries', () => {
    it('prints term/index and nothing else for an empty entry', () => {
      expect(describeEntry(entry(2, 7))).toBe('2/7');
    });

    it('quotes short printable data and marks conf changes', () => {
      expect(describeEntry({ ...entry(2, 8, text('set x')), type: 'confChange' })).toBe(
        '2/8 conf "set x"',
      );
    });

    it('prints the size of binary or long data', () => {
      expect(describeEntry(entry(1, 1, new Uint8Array([0, 1, 2])))).toBe('1/1 3B');
      expect(describeEntry(entry(1, 2, text('x'.repeat(33))))).toBe('1/2 33B');
    });

    it('lists entries in brackets', () => {
      expect(describeEntries([entry(1, 1), entry(1, 2, text('a'))])).toBe('[1/1, 1/2 "a"]');
      expect(describeEntries([])).toBe('[]');
    });
  });

  describe('messages', () => {
    const cases: [Message, string][] = [
      [
        {
          ...envelope,
          type: 'Vote',
          lastIndex: 9 as LogIndex,
          lastTerm: 2 as Term,
          transfer: false,
        },
        '1->2 Vote term=3 last=2/9',
      ],
      [
        {
          ...envelope,
          type: 'PreVote',
          lastIndex: 9 as LogIndex,
          lastTerm: 2 as Term,
          transfer: true,
        },
        '1->2 PreVote term=3 last=2/9 transfer',
      ],
      [{ ...envelope, type: 'VoteResponse', reject: false }, '1->2 VoteResponse term=3 granted'],
      [
        { ...envelope, type: 'PreVoteResponse', reject: true },
        '1->2 PreVoteResponse term=3 rejected',
      ],
      [
        {
          ...envelope,
          type: 'Append',
          prevIndex: 4 as LogIndex,
          prevTerm: 2 as Term,
          entries: [entry(3, 5), entry(3, 6, text('v1'))],
          commit: 4 as LogIndex,
        },
        '1->2 Append term=3 prev=2/4 commit=4 entries=[3/5, 3/6 "v1"]',
      ],
      [
        {
          ...envelope,
          type: 'AppendResponse',
          index: 6 as LogIndex,
          reject: false,
          hintIndex: 0 as LogIndex,
          hintTerm: 0 as Term,
        },
        '1->2 AppendResponse term=3 index=6',
      ],
      [
        {
          ...envelope,
          type: 'AppendResponse',
          index: 6 as LogIndex,
          reject: true,
          hintIndex: 4 as LogIndex,
          hintTerm: 2 as Term,
        },
        '1->2 AppendResponse term=3 rejected index=6 hint=2/4',
      ],
      [
        { ...envelope, type: 'Heartbeat', commit: 4 as LogIndex, context: null },
        '1->2 Heartbeat term=3 commit=4',
      ],
      [
        { ...envelope, type: 'HeartbeatResponse', context: 'r7' },
        '1->2 HeartbeatResponse term=3 context=r7',
      ],
      [
        { ...envelope, type: 'Snapshot', snapshot },
        '1->2 Snapshot term=3 snapshot=2/20 voters=(1 2 3)',
      ],
      [{ ...envelope, type: 'TimeoutNow' }, '1->2 TimeoutNow term=3'],
      [
        {
          ...envelope,
          term: 0 as Term,
          type: 'Propose',
          entries: [{ type: 'normal', data: text('a') }],
        },
        '1->2 Propose term=0 entries=1',
      ],
      [
        { ...envelope, term: 0 as Term, type: 'ReadIndex', context: 'r8' },
        '1->2 ReadIndex term=0 context=r8',
      ],
      [
        { ...envelope, type: 'ReadIndexResponse', index: 12 as LogIndex, context: 'r8' },
        '1->2 ReadIndexResponse term=3 index=12 context=r8',
      ],
      [
        { ...envelope, term: 0 as Term, type: 'TransferLeader', transferee: 3 as NodeId },
        '1->2 TransferLeader term=0 transferee=3',
      ],
    ];

    it.each(cases.map(([message, expected]) => [label(message), message, expected] as const))(
      'describes %s',
      (_label, message, expected) => {
        expect(describeMessage(message)).toBe(expected);
      },
    );
  });

  describe('state', () => {
    it('prints a joint membership with both halves, learners and autoleave', () => {
      expect(describeConfState(joint)).toBe(
        'voters=(1 2 4)&&(1 2 3) learners=(5) learners_next=(3) autoleave',
      );
    });

    it('prints a snapshot by term/index and membership', () => {
      expect(describeSnapshot(snapshot)).toBe('snapshot=2/20 voters=(1 2 3)');
    });

    it('prints hard state with a dash for no vote', () => {
      expect(describeHardState({ term: 4 as Term, vote: null, commit: 9 as LogIndex })).toBe(
        'term=4 vote=- commit=9',
      );
      expect(describeHardState({ term: 4 as Term, vote: 2 as NodeId, commit: 9 as LogIndex })).toBe(
        'term=4 vote=2 commit=9',
      );
    });
  });

  describe('Ready', () => {
    it('prints an empty Ready as nothing', () => {
      expect(describeReady(ready({}))).toBe('');
    });

    it('prints one line per item in the order the runtime handles them', () => {
      const described = describeReady(
        ready({
          softState: { leader: 1 as NodeId, role: 'leader' },
          hardState: { term: 3 as Term, vote: 1 as NodeId, commit: 5 as LogIndex },
          entries: [entry(3, 6, text('v'))],
          snapshot,
          compaction: { snapshot, compactTo: 15 as LogIndex },
          messages: [{ ...envelope, type: 'Heartbeat', commit: 5 as LogIndex, context: null }],
          messagesAfterPersist: [{ ...envelope, type: 'VoteResponse', reject: false }],
          committedEntries: [entry(3, 5)],
          readStates: [{ index: 5 as LogIndex, context: 'r1' }],
          mustSync: true,
        }),
      );
      expect(described).toBe(
        [
          'role=leader leader=1',
          'hardState term=3 vote=1 commit=5',
          'entries [3/6 "v"]',
          'snapshot=2/20 voters=(1 2 3)',
          'compaction snapshot=2/20 voters=(1 2 3) compactTo=15',
          'send 1->2 Heartbeat term=3 commit=5',
          'send after persist 1->2 VoteResponse term=3 granted',
          'apply [3/5]',
          'read index=5 context=r1',
        ].join('\n'),
      );
    });

    it('prints no leader as a dash', () => {
      expect(describeReady(ready({ softState: { leader: null, role: 'candidate' } }))).toBe(
        'role=candidate leader=-',
      );
    });
  });
});
