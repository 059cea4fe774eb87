// Proves the one codec shared by core, storage and transport: every message type, entries, hard
// state, conf changes and snapshot metadata survive encode → decode unchanged, and a decoded
// value re-encodes to bytes that decode to it again. Messages carry a format version byte and a
// code; Append, AppendResponse, Heartbeat and HeartbeatResponse have binary bodies and the rest
// a msgpack map. Malformed input (random bytes, another format version or code, truncated,
// extended or mutated frames, maps with a wrong field type, an unknown message type, node id 0, a
// negative, fractional or unsafe index, an entry count the bytes cannot hold, invalid UTF-8,
// deep nesting) must throw a CodecError with code 'MarshallingError' and nothing else; values
// the binary layout cannot carry are refused when encoding. Round trips use one hand-built
// sample per message type (the sample table is typed so a new type fails to compile until it has
// one) plus fast-check over random entries and each binary message; malformed input is fuzzed
// with fc.uint8Array and with valid frames whose bytes or fields are replaced, where a mutated
// binary frame must either fail or be the one encoding of what it decodes to. Siblings plant a
// lossy encoder, a decoder that lets msgpackr's own errors escape and one that ignores trailing
// bytes, and expect fc.check to catch each.
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
  MESSAGE_FORMAT_VERSION,
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

/** A message frame whose body is `value` as msgpack (code 0), as a peer might send any map. */
function msgpackFrame(value: unknown): Uint8Array {
  const body = raw.pack(value);
  const frame = new Uint8Array(2 + body.length);
  frame[0] = MESSAGE_FORMAT_VERSION;
  frame.set(body, 2);
  return frame;
}

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

const envelopes = {
  from: nodeIds,
  to: nodeIds,
  term: fc.maxSafeNat().map((value) => value as Term),
};

const appendResponses = fc.record({
  type: fc.constant('AppendResponse' as const),
  ...envelopes,
  index: fc.maxSafeNat().map((value) => value as LogIndex),
  reject: fc.boolean(),
  hintIndex: fc.maxSafeNat().map((value) => value as LogIndex),
  hintTerm: fc.maxSafeNat().map((value) => value as Term),
});

/** Read contexts: null, or any well-formed string (multi-byte characters, a leading U+FEFF). */
const contexts = fc.option(
  fc.oneof(fc.string({ unit: 'grapheme', maxLength: 12 }), fc.constant('\uFEFFread')),
  { nil: null },
);

const heartbeats = fc.record({
  type: fc.constant('Heartbeat' as const),
  ...envelopes,
  commit: fc.maxSafeNat().map((value) => value as LogIndex),
  context: contexts,
});

const heartbeatResponses = fc.record({
  type: fc.constant('HeartbeatResponse' as const),
  ...envelopes,
  context: contexts,
});

const runtimes = fc.record({
  type: fc.constant('Runtime' as const),
  ...envelopes,
  payload: fc.uint8Array({ maxLength: 64 }),
});

/** The types with a binary layout, which must have exactly one encoding each. */
const binaryMessages: fc.Arbitrary<Message> = fc.oneof(
  appends,
  appendResponses,
  heartbeats,
  heartbeatResponses,
);

/** Byte 1 of each binary layout, to fuzz the body behind a valid head. */
const BINARY_CODES = [1, 2, 3, 4];

/** A valid frame, then in-place byte edits, and maybe a cut or extra bytes at the end. */
const mutatedFrames = fc
  .record({
    message: binaryMessages,
    edits: fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 4 }),
    end: fc.oneof(
      fc.constant({ cut: 0, extra: bytes() }),
      fc.record({ cut: fc.nat(8), extra: fc.constant(bytes()) }),
      fc.record({ cut: fc.constant(0), extra: fc.uint8Array({ minLength: 1, maxLength: 3 }) }),
    ),
  })
  .map(({ message, edits, end }) => {
    const frame = encodeMessage(message);
    const mutated = new Uint8Array(
      frame.length - Math.min(end.cut, frame.length) + end.extra.length,
    );
    mutated.set(frame.subarray(0, frame.length - Math.min(end.cut, frame.length)));
    mutated.set(end.extra, mutated.length - end.extra.length);
    // Bytes 0 and 1 are left alone: the point is to reach the binary decoders.
    for (const [position, value] of edits) {
      if (mutated.length > 2) mutated[2 + (position % (mutated.length - 2))] = value;
    }
    return mutated;
  });

/** A binary frame is either refused or the one encoding of the message it decodes to. */
function mutatedFramesAreCanonicalOrRefused(decode: (input: Uint8Array) => Message) {
  return fc.property(mutatedFrames, (input) => {
    let decoded: Message;
    try {
      decoded = decode(input);
    } catch (error) {
      expect(error).toBeInstanceOf(CodecError);
      expect(error).toMatchObject({ code: 'MarshallingError' });
      return;
    }
    expect(plain(encodeMessage(decoded))).toEqual(plain(input));
  });
}

/** Planted bug: a decoder that accepts a frame with bytes left over after the message. */
function decodeIgnoringTrailingBytes(input: Uint8Array): Message {
  for (let length = input.length; length >= 2; length--) {
    try {
      return decodeMessage(input.subarray(0, length));
    } catch {
      // try a shorter prefix
    }
  }
  throw new CodecError('no prefix decodes');
}

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
const decodeUnwrapped = (input: Uint8Array): unknown =>
  decodeMessage(msgpackFrame(raw.unpack(input)));

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

    it.each([
      ['AppendResponse', appendResponses],
      ['Heartbeat', heartbeats],
      ['HeartbeatResponse', heartbeatResponses],
      ['Runtime', runtimes],
    ] as const)('round-trips random %s messages', (_type, messages) => {
      fc.assert(
        fc.property(messages as fc.Arbitrary<Message>, (message) => {
          const encoded = encodeMessage(message);
          const decoded = decodeMessage(encoded);
          expect(plain(decoded)).toEqual(plain(message));
          expect(plain(encodeMessage(decoded))).toEqual(plain(encoded));
        }),
        { seed, numRuns: 100 },
      );
    });

    it('starts every message with the format version, and binary types with their own code', () => {
      for (const message of allSamples) {
        const frame = encodeMessage(message);
        expect(frame[0]).toBe(MESSAGE_FORMAT_VERSION);
        const binary = ['Append', 'AppendResponse', 'Heartbeat', 'HeartbeatResponse'];
        expect(frame[1] !== 0, message.type).toBe(binary.includes(message.type));
      }
    });

    it('lays out an Append as documented: head, fixed fields, then each entry and its data', () => {
      const frame = encodeMessage(samples.Append);
      // head 2 + envelope 24 + prevIndex, prevTerm, commit 24 + count 4; entries 21 + data each
      expect(frame.length).toBe(2 + 24 + 24 + 4 + (21 + 3) + (21 + 0));
      const view = new DataView(frame.buffer, frame.byteOffset, frame.length);
      expect(view.getUint32(2 + 24 + 24)).toBe(2);
      const first = 2 + 24 + 24 + 4;
      expect(view.getUint32(first + 4)).toBe(11);
      expect(view.getUint32(first + 12)).toBe(7);
      expect(frame[first + 16]).toBe(0);
      expect(view.getUint32(first + 17)).toBe(3);
      expect([...frame.subarray(first + 21, first + 24)]).toEqual([1, 2, 3]);
      expect(frame[first + 24 + 16]).toBe(1);
    });

    it('decodes entry data as views into the frame, not copies', () => {
      const frame = encodeMessage(samples.Append);
      const decoded = decodeMessage(frame);
      if (decoded.type !== 'Append') throw new Error('expected an Append');
      expect(decoded.entries[0]?.data.buffer).toBe(frame.buffer);
    });

    it('keeps an encoded frame intact across later encodes', () => {
      const frame = encodeEntry(entry(1, 1, bytes(1, 2, 3)));
      const copy = Uint8Array.from(frame);
      for (let i = 0; i < 2_000; i++) encodeEntry(entry(i, i, new Uint8Array(i % 300)));
      expect(plain(frame)).toEqual(copy);
    });

    it('drops fields a message type does not have', () => {
      const decoded = decodeMessage(msgpackFrame({ ...samples.TimeoutNow, extra: 'ignored' }));
      expect(decoded).toEqual(samples.TimeoutNow);
    });
  });

  describe('malformed input', () => {
    it('rejects another format version and an unknown message code', () => {
      for (const message of allSamples) {
        const frame = Uint8Array.from(encodeMessage(message));
        frame[0] = MESSAGE_FORMAT_VERSION + 1;
        expectMarshallingError(() => decodeMessage(frame));
      }
      const frame = Uint8Array.from(encodeMessage(samples.AppendResponse));
      frame[1] = 99;
      expectMarshallingError(() => decodeMessage(frame));
      // A bare msgpack map, as a peer from before the format version would send.
      expectMarshallingError(() => decodeMessage(raw.pack(samples.TimeoutNow)));
    });

    it('rejects an entry count the frame cannot hold, before allocating for it', () => {
      const frame = Uint8Array.from(encodeMessage({ ...samples.Append, entries: [] }));
      new DataView(frame.buffer).setUint32(frame.length - 4, 0xffff_ffff);
      expectMarshallingError(() => decodeMessage(frame));
    });

    it('rejects a binary integer above 2^53 - 1, a boolean byte other than 0 or 1, and bad UTF-8', () => {
      const big = Uint8Array.from(encodeMessage(samples.AppendResponse));
      big[2 + 16] = 0x00;
      big[2 + 16 + 1] = 0x20; // term's high word 0x0020_0000: 2^53
      expectMarshallingError(() => decodeMessage(big));
      const flag = Uint8Array.from(encodeMessage(samples.AppendResponse));
      flag[2 + 24 + 8] = 2;
      expectMarshallingError(() => decodeMessage(flag));
      const text = Uint8Array.from(encodeMessage(samples.Heartbeat));
      text[text.length - 1] = 0xff;
      expectMarshallingError(() => decodeMessage(text));
    });

    it('refuses to encode what the binary layout cannot carry', () => {
      for (const index of [-1, 1.5, 2 ** 53, Number.NaN]) {
        expectMarshallingError(() =>
          encodeMessage({ ...samples.AppendResponse, index: index as LogIndex }),
        );
        expectMarshallingError(() =>
          encodeMessage({ ...samples.Append, entries: [entry(1, index)] }),
        );
      }
      expectMarshallingError(() =>
        encodeMessage({
          ...samples.Append,
          entries: [{ ...entry(1, 1), type: 'noop' as 'normal' }],
        }),
      );
      expectMarshallingError(() => encodeMessage({ ...samples.Heartbeat, context: 'a\uD800b' }));
      expectMarshallingError(() =>
        encodeMessage({ ...samples.HeartbeatResponse, context: '\uDC00' }),
      );
    });

    it.each(BINARY_CODES)('throws only CodecError on random bytes behind code %i', (code) => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 120 }), (body) => {
          const input = new Uint8Array(2 + body.length);
          input[0] = MESSAGE_FORMAT_VERSION;
          input[1] = code;
          input.set(body, 2);
          decodesOrRejects(decodeMessage, input);
        }),
        { seed, numRuns: 300 },
      );
    });

    it('refuses a mutated binary frame unless it is the one encoding of what it decodes to', () => {
      fc.assert(mutatedFramesAreCanonicalOrRefused(decodeMessage), { seed, numRuns: 1_000 });
    });

    it('the mutated-frame property catches a decoder that ignores trailing bytes', () => {
      const result = fc.check(mutatedFramesAreCanonicalOrRefused(decodeIgnoringTrailingBytes), {
        seed,
        numRuns: 1_000,
      });
      expect(result.failed).toBe(true);
    });

    it('rejects bytes that are not msgpack', () => {
      expectMarshallingError(() => decodeMessage(bytes(0xc1)));
      expectMarshallingError(() => decodeEntry(bytes()));
    });

    it('rejects a value that is not a map', () => {
      expectMarshallingError(() => decodeMessage(msgpackFrame([1, 2, 3])));
      expectMarshallingError(() => decodeEntry(raw.pack('entry')));
      expectMarshallingError(() => decodeHardState(raw.pack(null)));
    });

    it('rejects trailing bytes after a valid frame', () => {
      for (const message of allSamples) {
        const frame = encodeMessage(message);
        const padded = new Uint8Array(frame.length + 1);
        padded.set(frame);
        expectMarshallingError(() => decodeMessage(padded));
      }
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
        decodeMessage(msgpackFrame({ ...samples.TimeoutNow, type: 'Gossip' })),
      );
      expectMarshallingError(() => decodeMessage(msgpackFrame({ ...samples.TimeoutNow, type: 3 })));
    });

    it('rejects a field of the wrong type', () => {
      expectMarshallingError(() =>
        decodeMessage(msgpackFrame({ ...samples.Vote, lastIndex: '12' })),
      );
      expectMarshallingError(() => decodeMessage(msgpackFrame({ ...samples.Vote, transfer: 1 })));
      expectMarshallingError(() => decodeMessage(msgpackFrame({ ...samples.Append, entries: {} })));
      expectMarshallingError(() =>
        decodeMessage(msgpackFrame({ ...samples.ReadIndex, context: null })),
      );
      expectMarshallingError(() => decodeEntry(raw.pack({ ...entry(1, 1), data: 'text' })));
      expectMarshallingError(() => decodeEntry(raw.pack({ ...entry(1, 1), type: 'noop' })));
    });

    it('rejects a missing field', () => {
      const { commit: _commit, ...withoutCommit } = samples.Heartbeat;
      expectMarshallingError(() => decodeMessage(msgpackFrame(withoutCommit)));
      expectMarshallingError(() => decodeHardState(raw.pack({ term: 1, commit: 0 })));
    });

    it('rejects node id 0 wherever a node id goes', () => {
      expectMarshallingError(() => decodeMessage(msgpackFrame({ ...samples.TimeoutNow, from: 0 })));
      expectMarshallingError(() => decodeMessage(msgpackFrame({ ...samples.TimeoutNow, to: 0 })));
      expectMarshallingError(() =>
        decodeMessage(msgpackFrame({ ...samples.TransferLeader, transferee: 0 })),
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
      expectMarshallingError(() =>
        decodeMessage(msgpackFrame({ ...samples.Append, prevIndex: -3 })),
      );
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
      expectMarshallingError(() => decodeMessage(msgpackFrame(bad)));
    });

    it.each(decoders)('throws only CodecError on random bytes for a %s', (_name, decode) => {
      fc.assert(rejectsRandomBytes(decode), { seed, numRuns: 200 });
    });

    it('the random-bytes property catches a decoder that lets msgpackr errors escape', () => {
      const result = fc.check(rejectsRandomBytes(decodeUnwrapped), { seed, numRuns: 200 });
      expect(result.failed).toBe(true);
    });

    it('rejects deeply nested input without overflowing the stack', () => {
      const nested = new Uint8Array(200_000).fill(0x91);
      nested[0] = MESSAGE_FORMAT_VERSION;
      nested[1] = 0;
      expectMarshallingError(() => decodeMessage(nested));
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
          decodesOrRejects(decodeMessage, msgpackFrame({ ...message, [key]: value }));
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
    expect(() => decodeMessage(msgpackFrame({ type: hostile, from: 1, to: 2, term: 0 }))).toThrow(
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
