// fast-check arbitraries for random but well-typed txns, and a `Player` that applies them the
// way a log would (increasing zxids, leader times that move forward by random steps). Paths,
// versions, ACLs, TTLs and session ids are drawn from small pools that mix the valid with the
// nonsensical (invalid and reserved paths, unknown sessions, ids that are no session owner,
// stale versions, empty or bogus ACLs), so random histories both build real trees and hit
// every error path. Used by the robustness, digest and snapshot properties.
import {
  type Acl,
  type ApplyOutcome,
  CONTAINER_OWNER,
  type CreateMode,
  type Id,
  PERMS,
  type SessionId,
  sessionId,
  type TreeOptions,
  TTL_MS_MAX,
  type Txn,
  ttlOwner,
  type WriteOp,
  ZTree,
  zxid,
} from '@cairn/znode';
import fc from 'fast-check';
import { T0 } from './harness.js';

/** Small limits so that random data crosses them. */
export const RANDOM_TREE_OPTIONS: TreeOptions = {
  dataBytesMax: 5,
  superIds: [{ scheme: 'digest', id: 'root:cm9vdA==' }],
};

/** Sessions the player opens before the random steps, so most txns find a live session. */
export const LIVE_SESSIONS: readonly SessionId[] = [1n, 2n, 3n].map(sessionId);

/** Ids no session may have (they read back as no owner, a container or a TTL marker, or exceed 64 bits). */
const NOT_SESSION_IDS: readonly bigint[] = [0n, CONTAINER_OWNER, ttlOwner(100), -1n, 2n ** 64n];

const SESSION_IDS: readonly bigint[] = [
  1n,
  2n,
  3n,
  4n,
  BigInt.asIntN(64, 0xfe00_0000_0000_0007n),
  ...NOT_SESSION_IDS,
];

/** Paths that can exist; random histories mostly stay among these. */
const LIVE_PATHS: readonly string[] = [
  '/a',
  '/a',
  '/b',
  '/b',
  '/c',
  '/a/b',
  '/a/b/c',
  '/b/x',
  '/a/s-0000000000',
  '/a/s-0000000001',
  '/a/s-0000000002',
  '/b/0000000000',
  '/b/0000000001',
];

/** Paths every write refuses: reserved or invalid. */
const BAD_PATHS: readonly string[] = [
  '/zookeeper',
  '/zookeeper/quota',
  '/zookeeper/x',
  '/',
  '',
  'a',
  '/a/',
  '//a',
  '/a/../b',
  '/e\u0001',
];

export const PATHS: readonly string[] = [...new Set([...LIVE_PATHS, ...BAD_PATHS])];

/** Prefixes a sequential create may use, valid or not. */
const SEQUENTIAL_PREFIXES: readonly string[] = [
  '/a/s-',
  '/a/s-',
  '/a/s-',
  '/b/',
  '/b/',
  '/c/',
  '/zookeeper/s-',
  '/a//',
];

const WORLD = { scheme: 'world', id: 'anyone' };
const BOB: Id = { scheme: 'digest', id: 'bob:GuOI5jBhZ0cxFRHiiMa0jJpLdOM=' };

const GOOD_ACLS: readonly (readonly Acl[])[] = [
  [{ perms: PERMS.ALL, id: WORLD }],
  [{ perms: PERMS.READ, id: WORLD }],
  [{ perms: PERMS.ALL & ~PERMS.DELETE, id: WORLD }],
  [{ perms: PERMS.ALL, id: BOB }],
  [{ perms: PERMS.ALL, id: { scheme: 'auth', id: '' } }],
  [
    { perms: PERMS.READ | PERMS.ADMIN, id: WORLD },
    { perms: PERMS.ALL, id: BOB },
  ],
];
const BAD_ACLS: readonly (readonly Acl[])[] = [
  [],
  [{ perms: PERMS.ALL, id: { scheme: 'nonsense', id: 'x' } }],
  [{ perms: 64, id: WORLD }],
];

const AUTH_IDS: readonly Id[] = [
  BOB,
  { scheme: 'digest', id: 'alice:Vc3wUKq2lSaOrxnwI4ocSU0lBiE=' },
  { scheme: 'x509', id: 'CN=carol' },
  { scheme: 'ip', id: '10.0.0.1' },
  { scheme: 'world', id: 'anyone' },
  { scheme: 'digest', id: 'root:cm9vdA==' },
];

const MODES: readonly CreateMode[] = [
  'persistent',
  'persistent',
  'ephemeral',
  'persistent-sequential',
  'ephemeral-sequential',
  'container',
  'persistent-with-ttl',
  'persistent-sequential-with-ttl',
];

const TTLS: readonly (number | undefined)[] = [
  undefined,
  undefined,
  1,
  50,
  50,
  1000,
  -1,
  0,
  TTL_MS_MAX,
  TTL_MS_MAX + 1,
  1.5,
];

const sessionArb = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...LIVE_SESSIONS) },
  { weight: 2, arbitrary: fc.constantFrom(...SESSION_IDS).map(sessionId) },
);
const pathArb = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom(...LIVE_PATHS) },
  { weight: 1, arbitrary: fc.constantFrom(...BAD_PATHS) },
);
const aclArb = fc.oneof(
  { weight: 12, arbitrary: fc.constant(GOOD_ACLS[0] as readonly Acl[]) },
  { weight: 4, arbitrary: fc.constantFrom(...GOOD_ACLS) },
  { weight: 1, arbitrary: fc.constantFrom(...BAD_ACLS) },
);
const versionArb = fc.constantFrom(-1, -1, 0, 0, 1, 2, -2, 7);
const dataArb = fc.oneof(
  { weight: 12, arbitrary: fc.uint8Array({ maxLength: 5 }) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 6, maxLength: 6 }) },
);

const createArb: fc.Arbitrary<WriteOp> = fc
  .record({
    mode: fc.constantFrom(...MODES),
    plainPath: pathArb,
    sequentialPath: fc.constantFrom(...SEQUENTIAL_PREFIXES),
    data: dataArb,
    acl: aclArb,
    ttlMs: fc.constantFrom(...TTLS),
    strayTtl: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
  })
  .map(({ mode, plainPath, sequentialPath, data, acl, ttlMs, strayTtl }) => {
    const ttlMode = mode.endsWith('-with-ttl');
    // TTL modes mostly get a good TTL; other modes now and then a stray one (BadArguments).
    const ttl = ttlMode ? (ttlMs ?? 1000) : strayTtl ? ttlMs : undefined;
    return {
      type: 'create',
      path: mode.includes('sequential') ? sequentialPath : plainPath,
      data,
      acl,
      mode,
      ...(ttl === undefined ? {} : { ttlMs: ttl }),
    };
  });

export const writeOpArb: fc.Arbitrary<WriteOp> = fc.oneof(
  { weight: 4, arbitrary: createArb },
  {
    weight: 2,
    arbitrary: fc.record({
      type: fc.constant('delete' as const),
      path: pathArb,
      version: versionArb,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      type: fc.constant('setData' as const),
      path: pathArb,
      data: dataArb,
      version: versionArb,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant('check' as const),
      path: pathArb,
      version: versionArb,
    }),
  },
);

export const txnArb: fc.Arbitrary<Txn> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.record({
      type: fc.constant('createSession' as const),
      sessionId: fc
        .oneof(
          { weight: 4, arbitrary: fc.constantFrom(1n, 2n, 3n, 4n) },
          { weight: 1, arbitrary: fc.constantFrom(...SESSION_IDS) },
        )
        .map(sessionId),
      timeoutMs: fc.constantFrom(30_000, 1000, 0, -5),
      password: fc.uint8Array({ minLength: 16, maxLength: 16 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant('closeSession' as const),
      sessionId: sessionArb,
      reason: fc.constantFrom('close' as const, 'expire' as const),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant('addAuth' as const),
      sessionId: sessionArb,
      id: fc.constantFrom(...AUTH_IDS),
    }),
  },
  {
    weight: 16,
    arbitrary: fc.tuple(sessionArb, writeOpArb).map(([id, op]): Txn => ({ sessionId: id, ...op })),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant('setACL' as const),
      sessionId: sessionArb,
      path: pathArb,
      acl: aclArb,
      version: versionArb,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      type: fc.constant('multi' as const),
      sessionId: sessionArb,
      ops: fc.array(writeOpArb, { maxLength: 4 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ type: fc.constant('reap' as const), paths: fc.subarray([...PATHS]) }),
  },
);

/** One step of a random history: a txn, or a reap of whatever the leader finds due now. */
export type Step = { readonly txn: Txn | 'reapDue'; readonly advanceMs: number };

export const stepArb: fc.Arbitrary<Step> = fc.record({
  txn: fc.oneof(
    { weight: 12, arbitrary: txnArb },
    { weight: 1, arbitrary: fc.constant('reapDue' as const) },
  ),
  advanceMs: fc.oneof(fc.constant(1), fc.integer({ min: 0, max: 2000 })),
});

/** Applies steps as the log would: zxid + 1 each time, the leader's clock moved by the step. */
export class Player {
  zxid: number;
  now: number;

  constructor(
    readonly tree: ZTree,
    at: { zxid: number; now: number } = { zxid: 0, now: T0 },
  ) {
    this.zxid = at.zxid;
    this.now = at.now;
  }

  /** A fresh tree with RANDOM_TREE_OPTIONS, the LIVE_SESSIONS open and `/a`, `/b` created. */
  static fresh(): Player {
    const player = new Player(new ZTree(RANDOM_TREE_OPTIONS));
    // The ids no session may have are tried too: if one got in, its ephemerals would show it.
    for (const id of [...LIVE_SESSIONS, ...NOT_SESSION_IDS.map(sessionId)]) {
      player.play({
        txn: {
          type: 'createSession',
          sessionId: id,
          timeoutMs: 30_000,
          password: new Uint8Array(16),
        },
        advanceMs: 1,
      });
    }
    for (const path of ['/a', '/b']) {
      const create: WriteOp = {
        type: 'create',
        path,
        data: new Uint8Array(0),
        acl: GOOD_ACLS[0] as readonly Acl[],
        mode: 'persistent',
      };
      player.play({ txn: { sessionId: LIVE_SESSIONS[0] as SessionId, ...create }, advanceMs: 1 });
    }
    return player;
  }

  play(step: Step): ApplyOutcome {
    this.zxid++;
    this.now += step.advanceMs;
    const txn: Txn =
      step.txn === 'reapDue'
        ? { type: 'reap', paths: this.tree.dueForReaping(this.now) }
        : step.txn;
    return this.tree.apply(txn, zxid(this.zxid), this.now);
  }
}

/** A random history: long enough to build a tree and then tear parts of it down. */
export const historyArb: fc.Arbitrary<Step[]> = fc.array(stepArb, {
  minLength: 1,
  maxLength: 60,
  size: 'max',
});

/** fast-check's seed for this run: CAIRN_SEED, default 1 (STYLE.md §6). */
export const SEED = Number(process.env.CAIRN_SEED ?? 1);
