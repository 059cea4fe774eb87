// Proves the one codec shared by core, storage and transport: every message type, entries, hard
// state, conf changes and snapshot metadata survive encode → decode unchanged, and a decoded
// value re-encodes to bytes that decode to it again. Malformed input (random bytes, truncated or
// mutated frames, maps with a wrong field type, an unknown message type, node id 0, a negative
// or fractional index, deep nesting) must throw a CodecError with code 'MarshallingError' and
// nothing else. Round trips use one hand-built sample per message type (the sample table is
// typed so a new type fails to compile until it has one) plus fast-check over random entries and
// append messages; malformed input is fuzzed with fc.uint8Array and with valid frames whose
// bytes or fields are replaced. Siblings plant a lossy encoder and a decoder that lets msgpackr's
// own errors escape, and expect fc.check to catch both.
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import {
  CodecError,
  decodeConfChange,
  decodeEntry,
  decodeHardState,
  decodeMessage,
  decodeSnapshotMetadata,
  encodeConfChange,
  encodeEntry,
  encodeHardState,
  encodeMessage,
  encodeSnapshotMetadata,
} from './codec.js';
import type { LogIndex, NodeId, Term } from './ids.js';
import type { Message, MessageType } from './messages.js';
import type { ConfChange, ConfState, Entry, HardState, SnapshotMetadata } from './types.js';

const seed = Number(process.env.CAIRN_SEED ?? 1);

/** Packs raw values the way a peer with a different (or broken) encoder might. */
const raw = new Packr({
  useRecords: false,
  mapsAsObjects: true,
  moreTypes: false,
  int64AsType: 'number',
  bundleStrings: false,
});

const bytes = (...values: number[]): Uint8Array => new Uint8Array(values);

function entry(term: number, index: number, data: Uint8Array = bytes()): Entry {
  return { term: term as Term, index: index as LogIndex, type: 'normal', data };
}

/** Decoded binary fields are Node Buffers; compare them as plain Uint8Arrays. */
function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return Uint8Array.from(value);
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, field]) => [key, plain(field)]));
  }
  return value;
}

function caught(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error('expected the action to throw');
}

function expectMarshallingError(action: () => unknown): void {
  const error = caught(action);
  expect(error).toBeInstanceOf(CodecError);
  expect(error).toMatchObject({ code: 'MarshallingError' });
}

/** Decoding either succeeds or throws a CodecError; anything else escaping is a failure. */
function decodesOrRejects(decode: (input: Uint8Array) => unknown, input: Uint8Array): void {
  try {
    decode(input);
  } catch (error) {
    expect(error).toBeInstanceOf(CodecError);
    expect(error).toMatchObject({ code: 'MarshallingError' });
  }
}

const confState: ConfState = {
  voters: [1, 2, 3] as NodeId[],
  votersOutgoing: [1, 2, 4] as NodeId[],
  learners: [5] as NodeId[],
  learnersNext: [4] as NodeId[],
  autoLeave: true,
};

const metadata: SnapshotMetadata = { index: 40 as LogIndex, term: 3 as Term, confState };

const envelope = { from: 1 as NodeId, to: 2 as NodeId, term: 7 as Term };

const samples: { [K in MessageType]: Message & { type: K } } = {
  Vote: {
    ...envelope,
    type: 'Vote',
    lastIndex: 12 as LogIndex,
    lastTerm: 6 as Term,
    transfer: false,
  },
  PreVote: {
    ...envelope,
    type: 'PreVote',
    lastIndex: 12 as LogIndex,
    lastTerm: 6 as Term,
    transfer: true,
  },
  VoteResponse: { ...envelope, type: 'VoteResponse', reject: false },
  PreVoteResponse: { ...envelope, type: 'PreVoteResponse', reject: true },
  Append: {
    ...envelope,
    type: 'Append',
    prevIndex: 10 as LogIndex,
    prevTerm: 6 as Term,
    entries: [entry(7, 11, bytes(1, 2, 3)), { ...entry(7, 12), type: 'confChange' }],
    commit: 9 as LogIndex,
  },
  AppendResponse: {
    ...envelope,
    type: 'AppendResponse',
    index: 10 as LogIndex,
    reject: true,
    hintIndex: 8 as LogIndex,
    hintTerm: 5 as Term,
  },
  Heartbeat: { ...envelope, type: 'Heartbeat', commit: 9 as LogIndex, context: 'read-1' },
  HeartbeatResponse: { ...envelope, type: 'HeartbeatResponse', context: null },
  Snapshot: { ...envelope, type: 'Snapshot', snapshot: { metadata, data: bytes(9, 8, 7) } },
  TimeoutNow: { ...envelope, type: 'TimeoutNow' },
  Propose: {
    ...envelope,
    term: 0 as Term,
    type: 'Propose',
    entries: [
      { type: 'normal', data: bytes(104, 105) },
      { type: 'confChange', data: bytes() },
    ],
  },
  ReadIndex: { ...envelope, term: 0 as Term, type: 'ReadIndex', context: 'ctx' },
  ReadIndexResponse: {
    ...envelope,
    type: 'ReadIndexResponse',
    index: 33 as LogIndex,
    context: 'ctx',
  },
  TransferLeader: { ...envelope, term: 0 as Term, type: 'TransferLeader', transferee: 3 as NodeId },
  Runtime: { ...envelope, term: 0 as Term, type: 'Runtime', payload: new Uint8Array([1, 2, 3]) },
};

const allSamples: Message[] = Object.values(samples);

const entries = fc.record({
  term: fc.maxSafeNat().map((value) => value as Term),
  index: fc.maxSafeNat().map((value) => value as LogIndex),
  type: fc.constantFrom('normal' as const, 'confChange' as const),
  data: fc.uint8Array({ maxLength: 300, size: 'max' }),
});

const nodeIds = fc.integer({ min: 1, max: 2 ** 31 }).map((value) => value as NodeId);

const appends = fc.record({
  type: fc.constant('Append' as const),
  from: nodeIds,
  to: nodeIds,
  term: fc.maxSafeNat().map((value) => value as Term),
  prevIndex: fc.maxSafeNat().map((value) => value as LogIndex),
  prevTerm: fc.maxSafeNat().map((value) => value as Term),
  entries: fc.array(entries, { maxLength: 5 }),
  commit: fc.maxSafeNat().map((value) => value as LogIndex),
});

const decoders: [string, (input: Uint8Array) => unknown][] = [
  ['message', decodeMessage],
  ['entry', decodeEntry],
  ['hard state', decodeHardState],
  ['conf change', decodeConfChange],
  ['snapshot metadata', decodeSnapshotMetadata],
];

/** Values of the wrong kind for most fields; map keys are drawn from a fixed, harmless set. */
const strangeValues = fc.oneof(
  fc.constantFrom(null, undefined, true, false, -1, 0, 1.5, Number.NaN, 2 ** 53 + 2, '', 'x'),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 8 }),
  fc.uint8Array({ maxLength: 4 }),
  fc.array(fc.integer({ min: -2, max: 4 }), { maxLength: 3 }),
  fc.dictionary(fc.constantFrom('type', 'index', 'term', 'a'), fc.integer({ min: -1, max: 3 }), {
    maxKeys: 3,
  }),
);

function entriesRoundTrip(encode: (entry: Entry) => Uint8Array) {
  return fc.property(entries, (value) => {
    const encoded = encode(value);
    const decoded = decodeEntry(encoded);
    expect(plain(decoded)).toEqual(plain(value));
    expect(plain(encode(decoded))).toEqual(plain(encoded));
  });
}

function rejectsRandomBytes(decode: (input: Uint8Array) => unknown) {
  return fc.property(fc.uint8Array({ maxLength: 48 }), (input) => decodesOrRejects(decode, input));
}

/** Planted bug: the last byte of entry data is lost on the way out. */
const encodeEntryTruncating = (value: Entry): Uint8Array =>
  encodeEntry({ ...value, data: value.data.subarray(0, Math.max(0, value.data.length - 1)) });

/** Planted bug: msgpackr's own parse errors are not wrapped in a CodecError. */
const decodeUnwrapped = (input: Uint8Array): unknown => decodeMessage(raw.pack(raw.unpack(input)));

describe(`codec (seed ${seed})`, () => {
  describe('round trips', () => {
    it.each(allSamples.map((message) => [message.type, message] as const))(
      'round-trips a %s message',
      (_type, message) => {
        const decoded = decodeMessage(encodeMessage(message));
        expect(plain(decoded)).toEqual(plain(message));
      },
    );

    it('encodes a decoded message to bytes that decode and re-encode identically', () => {
      for (const message of allSamples) {
        const canonical = encodeMessage(decodeMessage(encodeMessage(message)));
        expect(plain(encodeMessage(decodeMessage(canonical)))).toEqual(plain(canonical));
      }
    });

    it('round-trips an entry of each type', () => {
      for (const value of [
        entry(3, 9, bytes(0, 255)),
        { ...entry(4, 10), type: 'confChange' as const },
      ]) {
        expect(plain(decodeEntry(encodeEntry(value)))).toEqual(plain(value));
      }
    });

    it('round-trips hard state with and without a vote', () => {
      const voted: HardState = { term: 5 as Term, vote: 2 as NodeId, commit: 17 as LogIndex };
      const unvoted: HardState = { term: 0 as Term, vote: null, commit: 0 as LogIndex };
      expect(decodeHardState(encodeHardState(voted))).toEqual(voted);
      expect(decodeHardState(encodeHardState(unvoted))).toEqual(unvoted);
    });

    it('round-trips a conf change of each transition', () => {
      for (const transition of ['auto', 'joint-implicit', 'joint-explicit'] as const) {
        const change: ConfChange = {
          changes: [
            { type: 'addVoter', nodeId: 4 as NodeId },
            { type: 'addLearner', nodeId: 5 as NodeId },
            { type: 'removeNode', nodeId: 1 as NodeId },
          ],
          transition,
        };
        expect(decodeConfChange(encodeConfChange(change))).toEqual(change);
      }
      const leave: ConfChange = { changes: [], transition: 'auto' };
      expect(decodeConfChange(encodeConfChange(leave))).toEqual(leave);
    });

    it('round-trips snapshot metadata', () => {
      expect(decodeSnapshotMetadata(encodeSnapshotMetadata(metadata))).toEqual(metadata);
    });

    it('round-trips indices and terms up to 2^53 - 1', () => {
      const big = entry(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER - 1);
      expect(plain(decodeEntry(encodeEntry(big)))).toEqual(plain(big));
    });

    it('round-trips random entries', () => {
      fc.assert(entriesRoundTrip(encodeEntry), { seed, numRuns: 100 });
    });

    it('the round-trip property catches an encoder that drops the last data byte', () => {
      const result = fc.check(entriesRoundTrip(encodeEntryTruncating), { seed, numRuns: 200 });
      expect(result.failed).toBe(true);
    });

    it('round-trips random append messages', () => {
      fc.assert(
        fc.property(appends, (message) => {
          expect(plain(decodeMessage(encodeMessage(message)))).toEqual(plain(message));
        }),
        { seed, numRuns: 100 },
      );
    });

    it('keeps an encoded frame intact across later encodes', () => {
      const frame = encodeEntry(entry(1, 1, bytes(1, 2, 3)));
      const copy = Uint8Array.from(frame);
      for (let i = 0; i < 2_000; i++) encodeEntry(entry(i, i, new Uint8Array(i % 300)));
      expect(plain(frame)).toEqual(copy);
    });

    it('drops fields a message type does not have', () => {
      const decoded = decodeMessage(raw.pack({ ...samples.TimeoutNow, extra: 'ignored' }));
      expect(decoded).toEqual(samples.TimeoutNow);
    });
  });

  describe('malformed input', () => {
    it('rejects bytes that are not msgpack', () => {
      expectMarshallingError(() => decodeMessage(bytes(0xc1)));
      expectMarshallingError(() => decodeEntry(bytes()));
    });

    it('rejects a value that is not a map', () => {
      expectMarshallingError(() => decodeMessage(raw.pack([1, 2, 3])));
      expectMarshallingError(() => decodeEntry(raw.pack('entry')));
      expectMarshallingError(() => decodeHardState(raw.pack(null)));
    });

    it('rejects trailing bytes after a valid frame', () => {
      const frame = encodeMessage(samples.TimeoutNow);
      const padded = new Uint8Array(frame.length + 1);
      padded.set(frame);
      expectMarshallingError(() => decodeMessage(padded));
    });

    it('rejects every truncation of a valid frame', () => {
      for (const message of allSamples) {
        const frame = encodeMessage(message);
        for (let length = 0; length < frame.length; length++) {
          expectMarshallingError(() => decodeMessage(frame.subarray(0, length)));
        }
      }
    });

    it('rejects an unknown message type', () => {
      expectMarshallingError(() =>
        decodeMessage(raw.pack({ ...samples.TimeoutNow, type: 'Gossip' })),
      );
      expectMarshallingError(() => decodeMessage(raw.pack({ ...samples.TimeoutNow, type: 3 })));
    });

    it('rejects a field of the wrong type', () => {
      expectMarshallingError(() => decodeMessage(raw.pack({ ...samples.Vote, lastIndex: '12' })));
      expectMarshallingError(() => decodeMessage(raw.pack({ ...samples.Vote, transfer: 1 })));
      expectMarshallingError(() => decodeMessage(raw.pack({ ...samples.Append, entries: {} })));
      expectMarshallingError(() =>
        decodeMessage(raw.pack({ ...samples.ReadIndex, context: null })),
      );
      expectMarshallingError(() => decodeEntry(raw.pack({ ...entry(1, 1), data: 'text' })));
      expectMarshallingError(() => decodeEntry(raw.pack({ ...entry(1, 1), type: 'noop' })));
    });

    it('rejects a missing field', () => {
      const { commit: _commit, ...withoutCommit } = samples.Heartbeat;
      expectMarshallingError(() => decodeMessage(raw.pack(withoutCommit)));
      expectMarshallingError(() => decodeHardState(raw.pack({ term: 1, commit: 0 })));
    });

    it('rejects node id 0 wherever a node id goes', () => {
      expectMarshallingError(() => decodeMessage(raw.pack({ ...samples.TimeoutNow, from: 0 })));
      expectMarshallingError(() => decodeMessage(raw.pack({ ...samples.TimeoutNow, to: 0 })));
      expectMarshallingError(() =>
        decodeMessage(raw.pack({ ...samples.TransferLeader, transferee: 0 })),
      );
      expectMarshallingError(() => decodeHardState(raw.pack({ term: 1, vote: 0, commit: 0 })));
      expectMarshallingError(() =>
        decodeConfChange(
          raw.pack({ changes: [{ type: 'addVoter', nodeId: 0 }], transition: 'auto' }),
        ),
      );
      expectMarshallingError(() =>
        decodeSnapshotMetadata(raw.pack({ ...metadata, confState: { ...confState, voters: [0] } })),
      );
    });

    it('rejects negative, fractional and unsafe indices and terms', () => {
      expectMarshallingError(() => decodeEntry(raw.pack({ ...entry(1, 1), index: -1 })));
      expectMarshallingError(() => decodeEntry(raw.pack({ ...entry(1, 1), index: 1.5 })));
      expectMarshallingError(() => decodeEntry(raw.pack({ ...entry(1, 1), term: 2 ** 53 + 2 })));
      expectMarshallingError(() => decodeMessage(raw.pack({ ...samples.Append, prevIndex: -3 })));
      expectMarshallingError(() => decodeHardState(raw.pack({ term: -1, vote: null, commit: 0 })));
      expectMarshallingError(() => decodeSnapshotMetadata(raw.pack({ ...metadata, index: -40 })));
    });

    it('rejects an unknown conf change transition or change type', () => {
      expectMarshallingError(() =>
        decodeConfChange(raw.pack({ changes: [], transition: 'later' })),
      );
      expectMarshallingError(() =>
        decodeConfChange(
          raw.pack({ changes: [{ type: 'promote', nodeId: 2 }], transition: 'auto' }),
        ),
      );
    });

    it('rejects a bad entry inside an append', () => {
      const bad = { ...samples.Append, entries: [{ ...entry(7, 11), index: 'eleven' }] };
      expectMarshallingError(() => decodeMessage(raw.pack(bad)));
    });

    it.each(decoders)('throws only CodecError on random bytes for a %s', (_name, decode) => {
      fc.assert(rejectsRandomBytes(decode), { seed, numRuns: 200 });
    });

    it('the random-bytes property catches a decoder that lets msgpackr errors escape', () => {
      const result = fc.check(rejectsRandomBytes(decodeUnwrapped), { seed, numRuns: 200 });
      expect(result.failed).toBe(true);
    });

    it('rejects deeply nested input without overflowing the stack', () => {
      expectMarshallingError(() => decodeMessage(new Uint8Array(200_000).fill(0x91)));
    });

    it('throws only CodecError on mutated valid frames', () => {
      const frames = allSamples.map(encodeMessage);
      const mutation = fc.record({
        frame: fc.constantFrom(...frames),
        edits: fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 4 }),
      });
      fc.assert(
        fc.property(mutation, ({ frame, edits }) => {
          const mutated = Uint8Array.from(frame);
          for (const [position, value] of edits) mutated[position % mutated.length] = value;
          decodesOrRejects(decodeMessage, mutated);
        }),
        { seed, numRuns: 200 },
      );
    });

    it('throws only CodecError when any field holds a strange value', () => {
      const replacement = fc.record({
        message: fc.constantFrom(...allSamples),
        field: fc.nat(),
        value: strangeValues,
      });
      fc.assert(
        fc.property(replacement, ({ message, field, value }) => {
          const keys = Object.keys(message);
          const key = keys[field % keys.length] as string;
          decodesOrRejects(decodeMessage, raw.pack({ ...message, [key]: value }));
        }),
        { seed, numRuns: 200 },
      );
    });
  });
});

describe('codec: hostile values in fields that name a type', () => {
  const raw = new Packr({
    useRecords: false,
    mapsAsObjects: true,
    moreTypes: false,
    int64AsType: 'number',
    bundleStrings: false,
  });
  it('reports a map with a toString key as a CodecError, without calling it', () => {
    const hostile = { toString: 1, valueOf: 1 };
    expect(() => decodeMessage(raw.pack({ type: hostile, from: 1, to: 2, term: 0 }))).toThrow(
      expect.objectContaining({ code: 'MarshallingError' }),
    );
    expect(() => decodeConfChange(raw.pack({ changes: [], transition: hostile }))).toThrow(
      expect.objectContaining({ code: 'MarshallingError' }),
    );
    expect(() =>
      decodeConfChange(raw.pack({ changes: [{ type: hostile, nodeId: 1 }], transition: 'auto' })),
    ).toThrow(expect.objectContaining({ code: 'MarshallingError' }));
  });
});
