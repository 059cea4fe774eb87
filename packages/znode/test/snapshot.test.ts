// Proves the streamed snapshot (snapshot.ts; STYLE.md §7 "check a record before writing it and
// again after reading it"): writeSnapshot then readSnapshot gives back an equal tree (every
// node, Stat, ACL, session with its auth ids and password, ephemeral ownership, digest and last
// zxid), whatever the chunk size, and the restored tree goes on exactly like the original
// (sequential counters, session close, reaping). Damaged input (random bytes, a truncated or
// missing chunk, a wrong format, a child before its parent, a bad record) throws SnapshotError
// with code MarshallingError, never another exception and never a broken tree; fast-check
// fuzzes the damage with the seed from CAIRN_SEED. The writer throws if the tree changes while
// it is being drained.
import {
  PERMS,
  readSnapshot,
  type SessionId,
  SnapshotError,
  writeSnapshot,
  type ZTree,
  zxid,
} from '@cairn/znode';
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { bytes, checkInvariants, createOp, dumpTree, Harness, show } from './harness.js';
import { SEED } from './txn-arbitrary.js';

/** The codec snapshot.ts uses, to take valid snapshots apart and damage them. */
const packr = new Packr({
  useRecords: false,
  mapsAsObjects: true,
  moreTypes: false,
  bundleStrings: false,
});

const BOB = { scheme: 'digest', id: 'bob:GuOI5jBhZ0cxFRHiiMa0jJpLdOM=' };
const CERT = { scheme: 'x509', id: 'CN=carol' };
const OPTIONS = { dataBytesMax: 64 };

/** A tree with a bit of everything a snapshot must carry. */
function richTree(): { h: Harness; s1: SessionId; s2: SessionId; s3: SessionId } {
  const h = new Harness(OPTIONS);
  const s1 = h.openSession(0x0100_0000_0000_0001n, 30_000);
  const s2 = h.openSession(BigInt.asIntN(64, 0xfe00_0000_0000_0002n), 5_000);
  const s3 = h.openSession(3n);
  h.apply({ type: 'addAuth', sessionId: s1, id: BOB });
  h.apply({ type: 'addAuth', sessionId: s1, id: CERT });
  h.mustCreate(s1, '/app', { data: bytes('config') });
  h.mustCreate(s1, '/app/mine', { acl: [{ perms: PERMS.ALL, id: { scheme: 'auth', id: '' } }] });
  h.mustCreate(s1, '/app/public', {
    acl: [{ perms: PERMS.READ, id: { scheme: 'world', id: 'anyone' } }],
  });
  for (let i = 0; i < 4; i++)
    h.mustCreate(s1, '/app/job-', { mode: 'persistent-sequential', data: bytes(`j${i}`) });
  h.delete(s1, '/app/job-0000000004');
  h.mustCreate(s1, '/app/lock-', { mode: 'ephemeral-sequential' });
  h.mustCreate(s2, '/app/lock-', { mode: 'ephemeral-sequential' });
  h.mustCreate(s2, '/e2', { mode: 'ephemeral', data: bytes('mine') });
  h.mustCreate(s1, '/c', { mode: 'container' });
  h.mustCreate(s1, '/c/child');
  h.mustCreate(s1, '/c2', { mode: 'container' });
  h.mustCreate(s1, '/c2/x');
  h.delete(s1, '/c2/x');
  h.mustCreate(s1, '/ttl', { mode: 'persistent-with-ttl', ttlMs: 500 });
  h.mustCreate(s1, '/ttl-', { mode: 'persistent-sequential-with-ttl', ttlMs: 50 });
  h.setData(s1, '/app', bytes('config v2'));
  h.setACL(s1, '/app/public', [{ perms: PERMS.ALL, id: { scheme: 'world', id: 'anyone' } }]);
  h.mustCreate(s3, '/deep');
  h.mustCreate(s3, '/deep/a');
  h.mustCreate(s3, '/deep/a/b');
  h.mustCreate(s3, '/deep/a/b/c', { data: new Uint8Array(64) });
  return { h, s1, s2, s3 };
}

function roundTrip(tree: ZTree, nodesPerChunk?: number): ZTree {
  return readSnapshot([...writeSnapshot(tree, nodesPerChunk)], OPTIONS);
}

/** Every read the tree answers, for every session and an anonymous reader, as text. */
function allReads(tree: ZTree, readers: readonly (SessionId | null)[]): string {
  const reads: unknown[] = [];
  for (const path of tree.paths()) {
    for (const reader of readers) {
      reads.push(
        tree.getData(path, reader),
        tree.getChildren(path, reader),
        tree.exists(path, reader),
      );
      reads.push(tree.getACL(path, reader), tree.getAllChildrenNumber(path, reader));
    }
  }
  for (const reader of readers) if (reader !== null) reads.push(tree.getEphemerals(reader, '/'));
  return show(reads);
}

function expectSnapshotError(run: () => unknown): SnapshotError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(SnapshotError);
    expect((error as SnapshotError).code).toBe('MarshallingError');
    return error as SnapshotError;
  }
  throw new Error('expected a SnapshotError, nothing was thrown');
}

/** A valid snapshot taken apart: the header and the node chunks as plain values. */
function decoded(
  tree: ZTree,
  nodesPerChunk = 4,
): { header: Record<string, unknown>; chunks: Array<{ acls: unknown[]; nodes: unknown[][] }> } {
  const [header, ...chunks] = [...writeSnapshot(tree, nodesPerChunk)].map((chunk) =>
    packr.unpack(chunk),
  );
  return { header, chunks };
}

function encode(parts: ReturnType<typeof decoded>): Uint8Array[] {
  return [packr.pack(parts.header), ...parts.chunks.map((chunk) => packr.pack(chunk))];
}

describe('snapshot: round trip', () => {
  it('restores an equal tree: nodes, Stats, ACLs, sessions, auth ids, ephemerals, digest, last zxid', () => {
    const { h } = richTree();
    const restored = roundTrip(h.tree);
    checkInvariants(restored);
    expect(dumpTree(restored)).toEqual(dumpTree(h.tree));
    expect(restored.digest()).toBe(h.tree.digest());
    expect(restored.lastZxid).toBe(h.tree.lastZxid);
    expect(restored.options).toEqual(h.tree.options);
  });

  it('answers every read the same for every session', () => {
    const { h, s1, s2, s3 } = richTree();
    const readers = [s1, s2, s3, null];
    expect(allReads(roundTrip(h.tree), readers)).toBe(allReads(h.tree, readers));
  });

  for (const nodesPerChunk of [1, 2, 3, 1000]) {
    it(`splits the nodes into chunks of ${nodesPerChunk} and restores the same tree`, () => {
      const { h } = richTree();
      const chunks = [...writeSnapshot(h.tree, nodesPerChunk)];
      expect(chunks).toHaveLength(1 + Math.ceil(h.tree.size() / nodesPerChunk));
      expect(dumpTree(readSnapshot(chunks, OPTIONS))).toEqual(dumpTree(h.tree));
    });
  }

  it('writes each shared ACL list once', () => {
    const { h } = richTree();
    const { chunks } = decoded(h.tree, 1000);
    const acls = chunks.flatMap((chunk) => chunk.acls);
    expect(acls.length).toBeLessThan(6);
    expect(new Set(acls.map((acl) => JSON.stringify(acl))).size).toBe(acls.length);
  });

  it('round-trips a fresh tree', () => {
    const tree = new Harness().tree;
    expect(dumpTree(readSnapshot(writeSnapshot(tree)))).toEqual(dumpTree(tree));
  });

  it('goes on exactly like the original: sequence numbers, session close, reaping', () => {
    const { h, s1, s2 } = richTree();
    const twin = new Harness(roundTrip(h.tree, 3));
    twin.zxid = h.zxid;
    twin.now = h.now;
    const script = (x: Harness): unknown[] => [
      x.create(s1, '/app/job-', { mode: 'persistent-sequential' }),
      x.create(s2, '/app/lock-', { mode: 'ephemeral-sequential' }),
      x.multi(s1, [createOp('/app/job-', { mode: 'persistent-sequential' }), createOp('/c/new')]),
      x.apply({ type: 'closeSession', sessionId: s2, reason: 'expire' }),
      x.apply({ type: 'reap', paths: x.tree.dueForReaping(x.now + 10_000) }),
      x.create(s1, '/app/mine/x'),
      x.setData(s1, '/app', bytes('v3'), 1),
    ];
    const original = script(h);
    expect(show(script(twin))).toBe(show(original));
    expect(dumpTree(twin.tree)).toEqual(dumpTree(h.tree));
    expect(show(original[4])).toContain('/c2');
  });

  it('keeps the options it is given, not the writer’s', () => {
    const { h, s1 } = richTree();
    const restored = readSnapshot(writeSnapshot(h.tree), { dataBytesMax: 2 });
    expect(restored.options.dataBytesMax).toBe(2);
    const outcome = restored.apply(
      { type: 'setData', sessionId: s1, path: '/app', data: bytes('abc'), version: -1 },
      zxid(h.zxid + 1),
      h.now,
    );
    expect(outcome.result).toMatchObject({ ok: false, error: { code: 'BadArguments' } });
  });
});

describe('snapshot: the writer', () => {
  it('throws SnapshotError if the tree changes while the snapshot is drained', () => {
    const { h, s1 } = richTree();
    const stream = writeSnapshot(h.tree, 2);
    stream.next();
    stream.next();
    h.create(s1, '/late');
    expectSnapshotError(() => [...stream]);
  });

  it('throws SnapshotError even for a failed txn in between: any apply moves the tree on', () => {
    const { h, s1 } = richTree();
    const stream = writeSnapshot(h.tree, 2);
    stream.next();
    h.create(s1, '/app');
    expectSnapshotError(() => [...stream]);
  });
});

describe('snapshot: damaged input throws SnapshotError (MarshallingError)', () => {
  it('an empty stream', () => {
    expectSnapshotError(() => readSnapshot([]));
  });

  it('a header with nothing after it', () => {
    const { h } = richTree();
    const [header] = writeSnapshot(h.tree);
    expectSnapshotError(() => readSnapshot([header as Uint8Array]));
  });

  it('a stream that lost its last chunk', () => {
    const { h } = richTree();
    const chunks = [...writeSnapshot(h.tree, 3)];
    expect(expectSnapshotError(() => readSnapshot(chunks.slice(0, -1))).message).toMatch(
      /promised/,
    );
  });

  it('a child before its parent', () => {
    const { h } = richTree();
    const parts = decoded(h.tree, 1000);
    parts.chunks[0]?.nodes.reverse();
    expect(expectSnapshotError(() => readSnapshot(encode(parts))).message).toMatch(
      /before its parent/,
    );
  });

  it('node chunks out of order', () => {
    const { h } = richTree();
    const [header, ...rest] = [...writeSnapshot(h.tree, 3)];
    expectSnapshotError(() => readSnapshot([header as Uint8Array, ...rest.reverse()]));
  });

  for (const [what, value] of [
    ['nil', null],
    ['a number', 7],
    ['a string', 'snapshot'],
    ['an array', [1, 2]],
  ] as const) {
    it(`a header that is ${what}, and a node chunk that is ${what}`, () => {
      expectSnapshotError(() => readSnapshot([packr.pack(value)]));
      const { h } = richTree();
      const [header] = writeSnapshot(h.tree);
      expectSnapshotError(() => readSnapshot([header as Uint8Array, packr.pack(value)]));
    });
  }

  it('a wrong format number', () => {
    const { h } = richTree();
    for (const format of [0, 2, '1', undefined]) {
      const parts = decoded(h.tree);
      parts.header.format = format;
      expect(expectSnapshotError(() => readSnapshot(encode(parts))).message).toMatch(/format/);
    }
  });

  const headerDamage: ReadonlyArray<[string, (header: Record<string, unknown>) => void]> = [
    ['a negative last zxid', (header) => Object.assign(header, { lastZxid: -1 })],
    ['a last zxid older than its nodes', (header) => Object.assign(header, { lastZxid: 3 })],
    [
      'a wrong node count',
      (header) => Object.assign(header, { nodeCount: (header.nodeCount as number) + 1 }),
    ],
    [
      'a wrong digest',
      (header) => Object.assign(header, { digest: ((header.digest as number) + 1) >>> 0 }),
    ],
    ['no sessions list', (header) => Object.assign(header, { sessions: 'none' })],
    [
      'a session without a password',
      (header) => delete (header.sessions as Array<Record<string, unknown>>)[0]?.password,
    ],
    [
      'a session id that is not a number',
      (header) => Object.assign((header.sessions as object[])[0] ?? {}, { id: 'x1' }),
    ],
    [
      'a session id beyond 64 bits',
      (header) =>
        Object.assign((header.sessions as object[])[0] ?? {}, { id: '18446744073709551616' }),
    ],
    [
      'a session id that reads as a container marker',
      (header) =>
        Object.assign((header.sessions as object[])[0] ?? {}, { id: '-9223372036854775808' }),
    ],
    [
      'the same session twice',
      (header) => (header.sessions as object[]).push((header.sessions as object[])[0] ?? {}),
    ],
    [
      'a session whose ephemerals are gone from the list',
      (header) => (header.sessions as object[]).splice(0, 1),
    ],
    [
      'a bad auth id',
      (header) =>
        Object.assign((header.sessions as object[])[0] ?? {}, { authIds: [{ scheme: 1 }] }),
    ],
  ];
  for (const [what, damage] of headerDamage) {
    it(`a header with ${what}`, () => {
      const { h } = richTree();
      const parts = decoded(h.tree);
      damage(parts.header);
      expectSnapshotError(() => readSnapshot(encode(parts)));
    });
  }

  /** Damages the record of `path` (found in any chunk) with `damage`. */
  function damagedRecord(path: string, damage: (record: unknown[]) => void): Uint8Array[] {
    const { h } = richTree();
    const parts = decoded(h.tree);
    const record = parts.chunks.flatMap((chunk) => chunk.nodes).find((node) => node[0] === path);
    if (record === undefined) throw new Error(`no record for ${path}`);
    damage(record);
    return encode(parts);
  }

  const recordDamage: ReadonlyArray<[string, string, (record: unknown[]) => void]> = [
    ['one field short', '/app', (record) => record.pop()],
    ['one field too many', '/app', (record) => record.push(0)],
    ['a path that is no string', '/app', (record) => (record[0] = 5)],
    ['an invalid path', '/app', (record) => (record[0] = '/app/')],
    ['a relative path', '/app', (record) => (record[0] = 'app')],
    ['data that is no bytes', '/app', (record) => (record[1] = 'config')],
    ['an ACL index out of range', '/app', (record) => (record[2] = 99)],
    ['a negative version', '/app', (record) => (record[8] = -1)],
    ['a fractional cversion', '/app', (record) => (record[9] = 1.5)],
    ['a time that is no integer', '/app', (record) => (record[6] = 'yesterday')],
    ['czxid after mzxid', '/app', (record) => (record[3] = (record[4] as number) + 1)],
    ['a changed data version (the digest catches it)', '/app', (record) => (record[8] = 7)],
    ['changed data (the digest catches it)', '/app', (record) => (record[1] = bytes('tampered'))],
    ['an owner that is no number', '/e2', (record) => (record[11] = 'owner')],
    ['an ephemeral whose owner is no session', '/e2', (record) => (record[11] = '77')],
    ['an ephemeral with a child', '/deep/a/b', (record) => (record[11] = '3')],
    ['a duplicate path', '/deep/a/b/c', (record) => (record[0] = '/deep/a/b')],
    ['a second root', '/deep/a/b/c', (record) => (record[0] = '/')],
  ];
  for (const [what, path, damage] of recordDamage) {
    it(`a node record with ${what}`, () => {
      expectSnapshotError(() => readSnapshot(damagedRecord(path, damage), OPTIONS));
    });
  }
});

describe(`snapshot: fuzzed damage (seed ${SEED})`, () => {
  const { h } = richTree();
  const valid = [...writeSnapshot(h.tree, 4)];

  it('random chunks of random bytes', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 4 }), (chunks) => {
        expectSnapshotError(() => readSnapshot(chunks));
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('a valid header followed by random bytes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 64 }), { minLength: 1, maxLength: 3 }),
        (chunks) => {
          expectSnapshotError(() => readSnapshot([valid[0] as Uint8Array, ...chunks]));
        },
      ),
      { seed: SEED, numRuns: 200 },
    );
  });

  it('one chunk truncated anywhere', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: valid.length - 1 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (index, fraction) => {
          const chunk = valid[index] as Uint8Array;
          const damaged = [...valid];
          damaged[index] = chunk.slice(0, Math.floor(chunk.length * fraction));
          expectSnapshotError(() => readSnapshot(damaged, OPTIONS));
        },
      ),
      { seed: SEED, numRuns: 200 },
    );
  });

  it('one byte flipped anywhere: SnapshotError, or a tree that still keeps every invariant', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: valid.length - 1 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (index, at, mask) => {
          const damaged = valid.map((chunk) => chunk.slice());
          const chunk = damaged[index] as Uint8Array;
          const offset = at % chunk.length;
          chunk[offset] = (chunk[offset] as number) ^ mask;
          let restored: ZTree;
          try {
            restored = readSnapshot(damaged, OPTIONS);
          } catch (error) {
            expect(error).toBeInstanceOf(SnapshotError);
            return;
          }
          checkInvariants(restored);
        },
      ),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('one field of one node record replaced by any value: SnapshotError, or a tree that keeps every invariant', () => {
    const parts = decoded(h.tree, 4);
    const records = parts.chunks.flatMap((chunk, c) => chunk.nodes.map((_, n) => [c, n] as const));
    fc.assert(
      fc.property(
        fc.constantFrom(...records),
        fc.nat({ max: 11 }),
        fc.oneof(
          fc.anything(),
          fc.integer(),
          fc.constantFrom('/', '/x', '0', '-1', '3'),
          fc.uint8Array({ maxLength: 4 }),
        ),
        ([c, n], field, value) => {
          const copy = decoded(h.tree, 4);
          const record = copy.chunks[c]?.nodes[n] as unknown[];
          record[field] = value;
          let restored: ZTree;
          try {
            restored = readSnapshot(encode(copy), OPTIONS);
          } catch (error) {
            expect(error).toBeInstanceOf(SnapshotError);
            return;
          }
          checkInvariants(restored);
        },
      ),
      { seed: SEED, numRuns: 300 },
    );
  });
});
