// Proves WatchRegistry equals a naive reference on random histories. The reference keeps a flat
// list of (session, path, kind) watches and scans it linearly, reading ZooKeeper's rules off the
// page: which kinds fire for which event on their own path, recursive ones for every descendant
// except NodeChildrenChanged, one notification per session per event in ascending id, one-shots
// dropped when they fire, removeWatches types, setWatches rules, an all-or-nothing limit.
// fast-check draws op lists over a small path set (with `/ab` beside `/a` to catch prefix
// mistakes), three sessions, random READ denials and small limits; after every op results,
// counts and describe() must agree, and assertInvariants() must hold. Planted-bug siblings (a
// registry that never drops one-shots, one whose recursive watches see NodeChildrenChanged, one
// that does not dedup per session) must each be caught, so the property cannot pass vacuously.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type SessionId, sessionId, type Zxid } from '../ids.js';
import type { ChangeEvent } from '../types.js';
import type { HeldWatchKind, WatcherType, WatchKind } from './kinds.js';
import { WatchRegistry, type WatchRegistryOptions } from './registry.js';
import type { Notification, ReadCheck, WatchesReport } from './results.js';
import type { NodeLookup, SetWatchesRequest } from './set-watches.js';

const seed = Number(process.env.CAIRN_SEED ?? 1);

const PATHS = ['/', '/a', '/a/b', '/a/b/c', '/ab', '/b', '/b/c'] as const;
const SESSIONS = [1n, 2n, 3n].map((n) => sessionId(n));
const HELD_ORDER: readonly HeldWatchKind[] = [
  'data',
  'child',
  'persistent',
  'persistent-recursive',
];
const TYPE_KINDS: Readonly<Record<WatcherType, readonly HeldWatchKind[]>> = {
  children: ['child'],
  data: ['data'],
  any: HELD_ORDER,
  persistent: ['persistent'],
  'persistent-recursive': ['persistent-recursive'],
};

type Op =
  | { op: 'add'; session: SessionId; path: string; kind: WatchKind }
  | { op: 'trigger'; events: ChangeEvent[]; denied: string[] }
  | { op: 'remove'; session: SessionId; path: string; type: WatcherType }
  | { op: 'check'; session: SessionId; path: string; type: WatcherType }
  | { op: 'removeSession'; session: SessionId }
  | {
      op: 'setWatches';
      session: SessionId;
      relativeZxid: Zxid;
      request: SetWatchesRequest;
      nodes: [string, number, number][];
      denied: string[];
    };

interface Watch {
  readonly session: SessionId;
  readonly path: string;
  readonly kind: HeldWatchKind;
}

const held = (kind: WatchKind): HeldWatchKind => (kind === 'exist' ? 'data' : kind);
const isBelow = (ancestor: string, path: string): boolean =>
  ancestor === '/' ? path !== '/' : path.startsWith(`${ancestor}/`);
const byId = (a: SessionId, b: SessionId): number => (a < b ? -1 : a > b ? 1 : 0);
const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Does this watch fire for this event? ZOOKEEPER.md §1.5 read literally. */
function fires(watch: Watch, event: ChangeEvent): boolean {
  if (watch.path !== event.path) {
    return (
      watch.kind === 'persistent-recursive' &&
      event.type !== 'NodeChildrenChanged' &&
      isBelow(watch.path, event.path)
    );
  }
  switch (watch.kind) {
    case 'data':
      return event.type !== 'NodeChildrenChanged';
    case 'child':
      return event.type === 'NodeDeleted' || event.type === 'NodeChildrenChanged';
    case 'persistent':
      return true;
    case 'persistent-recursive':
      return event.type !== 'NodeChildrenChanged';
  }
}

/** The reference: a flat list, scanned linearly. */
class Reference {
  watches: Watch[] = [];
  constructor(readonly max: number) {}

  has(session: SessionId, path: string, kind: HeldWatchKind): boolean {
    return this.watches.some((w) => w.session === session && w.path === path && w.kind === kind);
  }

  count(session?: SessionId): number {
    return this.watches.filter((w) => session === undefined || w.session === session).length;
  }

  add(session: SessionId, path: string, kind: WatchKind): unknown {
    if (this.has(session, path, held(kind))) return { ok: true };
    if (this.count(session) >= this.max) return this.limit(path);
    this.watches.push({ session, path, kind: held(kind) });
    return { ok: true };
  }

  trigger(events: readonly ChangeEvent[], canRead: ReadCheck): Notification[] {
    const out: Notification[] = [];
    for (const event of events) {
      const hits = this.watches.filter((w) => fires(w, event));
      this.watches = this.watches.filter(
        (w) => !(hits.includes(w) && (w.kind === 'data' || w.kind === 'child')),
      );
      const sessions = [...new Set(hits.map((w) => w.session))].sort(byId);
      for (const session of sessions.filter((s) => canRead(s, event))) {
        out.push({ sessionId: session, type: event.type, path: event.path, zxid: event.zxid });
      }
    }
    return out;
  }

  remove(session: SessionId, path: string, type: WatcherType): unknown {
    const gone = this.watches.filter(
      (w) => w.session === session && w.path === path && TYPE_KINDS[type].includes(w.kind),
    );
    if (gone.length === 0) return { ok: false, code: 'NoWatcher', path };
    this.watches = this.watches.filter((w) => !gone.includes(w));
    const kinds = gone.map((w) => w.kind);
    const removed = [];
    if (kinds.includes('data')) removed.push('DataWatchRemoved');
    if (kinds.includes('child')) removed.push('ChildWatchRemoved');
    if (kinds.includes('persistent') || kinds.includes('persistent-recursive'))
      removed.push('PersistentWatchRemoved');
    return { ok: true, removed };
  }

  check(session: SessionId, path: string, type: WatcherType): unknown {
    const found = TYPE_KINDS[type].some((kind) => this.has(session, path, kind));
    return found ? { ok: true } : { ok: false, code: 'NoWatcher', path };
  }

  removeSession(session: SessionId): number {
    const before = this.watches.length;
    this.watches = this.watches.filter((w) => w.session !== session);
    return before - this.watches.length;
  }

  setWatches(
    session: SessionId,
    rel: Zxid,
    request: SetWatchesRequest,
    lookup: NodeLookup,
    canRead: ReadCheck,
  ): unknown {
    const fired: Notification[] = [];
    const rearm: Watch[] = [];
    const send = (type: ChangeEvent['type'], path: string): void => {
      const event = { type, path, zxid: -1 as Zxid };
      if (type === 'NodeDeleted' || canRead(session, event))
        fired.push({ sessionId: session, ...event });
    };
    for (const path of request.data ?? []) {
      const node = lookup(path);
      if (node === null) send('NodeDeleted', path);
      else if (node.mzxid > rel) send('NodeDataChanged', path);
      else rearm.push({ session, path, kind: 'data' });
    }
    for (const path of request.exist ?? []) {
      if (lookup(path) !== null) send('NodeCreated', path);
      else rearm.push({ session, path, kind: 'data' });
    }
    for (const path of request.child ?? []) {
      const node = lookup(path);
      if (node === null) send('NodeDeleted', path);
      else if (node.pzxid > rel) send('NodeChildrenChanged', path);
      else rearm.push({ session, path, kind: 'child' });
    }
    for (const path of request.persistent ?? []) rearm.push({ session, path, kind: 'persistent' });
    for (const path of request.persistentRecursive ?? [])
      rearm.push({ session, path, kind: 'persistent-recursive' });
    const fresh: Watch[] = [];
    for (const w of rearm) {
      const dup = fresh.some((f) => f.path === w.path && f.kind === w.kind);
      if (!dup && !this.has(session, w.path, w.kind)) fresh.push(w);
    }
    const room = this.max - this.count(session);
    if (fresh.length > room) return this.limit(fresh[room]?.path ?? '');
    this.watches.push(...fresh);
    return { ok: true, notifications: fired };
  }

  describe(): WatchesReport {
    const sessions = [...new Set(this.watches.map((w) => w.session))].sort(byId);
    const paths = [...new Set(this.watches.map((w) => w.path))].sort(byText);
    return {
      sessionCount: sessions.length,
      pathCount: paths.length,
      watchCount: this.watches.length,
      bySession: sessions.map((sessionId) => ({
        sessionId,
        watches: [
          ...new Set(this.watches.filter((w) => w.session === sessionId).map((w) => w.path)),
        ]
          .sort(byText)
          .map((path) => ({
            path,
            kinds: HELD_ORDER.filter((kind) => this.has(sessionId, path, kind)),
          })),
      })),
      byPath: paths.map((path) => ({
        path,
        sessionIds: [
          ...new Set(this.watches.filter((w) => w.path === path).map((w) => w.session)),
        ].sort(byId),
      })),
    };
  }

  private limit(path: string): unknown {
    return { ok: false, code: 'QuotaExceeded', path, watchesPerSessionMax: this.max };
  }
}

const denyCheck =
  (denied: readonly string[]): ReadCheck =>
  (session, event) =>
    !denied.includes(`${session} ${event.path}`);

function runOp(registry: WatchRegistry | Reference, op: Op): unknown {
  const isReal = registry instanceof WatchRegistry;
  switch (op.op) {
    case 'add':
      return isReal
        ? registry.addWatch(op.session, op.path, op.kind)
        : registry.add(op.session, op.path, op.kind);
    case 'trigger':
      return registry.trigger(op.events, denyCheck(op.denied));
    case 'remove':
      return isReal
        ? registry.removeWatches(op.session, op.path, op.type)
        : registry.remove(op.session, op.path, op.type);
    case 'check':
      return isReal
        ? registry.checkWatches(op.session, op.path, op.type)
        : registry.check(op.session, op.path, op.type);
    case 'removeSession':
      return registry.removeSession(op.session);
    case 'setWatches': {
      const nodes = new Map(
        op.nodes.map(([path, m, p]) => [path, { mzxid: m as Zxid, pzxid: p as Zxid }]),
      );
      const lookup: NodeLookup = (path) => nodes.get(path) ?? null;
      return registry.setWatches(
        op.session,
        op.relativeZxid,
        op.request,
        lookup,
        denyCheck(op.denied),
      );
    }
  }
}

const path = fc.constantFrom(...PATHS);
const session = fc.constantFrom(...SESSIONS);
const kind = fc.constantFrom<WatchKind>(
  'data',
  'exist',
  'child',
  'persistent',
  'persistent-recursive',
);
const watcherType = fc.constantFrom<WatcherType>(
  'children',
  'data',
  'any',
  'persistent',
  'persistent-recursive',
);
const eventType = fc.constantFrom<ChangeEvent['type']>(
  'NodeCreated',
  'NodeDeleted',
  'NodeDataChanged',
  'NodeChildrenChanged',
);
const denied = fc.array(
  fc.tuple(session, path).map(([s, p]) => `${s} ${p}`),
  { maxLength: 3 },
);
const paths = fc.array(path, { maxLength: 3 });

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('add' as const), session, path, kind }) },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('trigger' as const),
      events: fc.array(
        fc.record({ type: eventType, path, zxid: fc.nat(30).map((n) => n as Zxid) }),
        { minLength: 1, maxLength: 3 },
      ),
      denied,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('remove' as const), session, path, type: watcherType }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('check' as const), session, path, type: watcherType }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('removeSession' as const), session }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('setWatches' as const),
      session,
      relativeZxid: fc.nat(20).map((n) => n as Zxid),
      request: fc.record(
        { data: paths, exist: paths, child: paths, persistent: paths, persistentRecursive: paths },
        { requiredKeys: [] },
      ),
      nodes: fc.uniqueArray(fc.tuple(path, fc.nat(20), fc.nat(20)), {
        selector: ([p]) => p,
        maxLength: 5,
      }),
      denied,
    }),
  },
);

const scenario = fc.record({
  max: fc.constantFrom(2, 4, 100),
  ops: fc.array(opArb, { minLength: 10, maxLength: 80, size: 'max' }),
});

type Factory = (options: WatchRegistryOptions) => WatchRegistry;

function matchesReference(make: Factory) {
  return fc.property(scenario, ({ max, ops }) => {
    const real = make({ watchesPerSessionMax: max });
    const reference = new Reference(max);
    ops.forEach((op, step) => {
      const where = `step ${step} ${op.op} (seed ${seed})`;
      expect(runOp(real, op), where).toEqual(runOp(reference, op));
      expect(real.describe(), where).toEqual(reference.describe());
      for (const s of SESSIONS) expect(real.count(s), where).toBe(reference.count(s));
      real.assertInvariants();
    });
  });
}

/** Planted bug: one-shot watches survive their firing (re-armed after every trigger). */
class NeverForgets extends WatchRegistry {
  override trigger(events: readonly ChangeEvent[], canRead?: ReadCheck): Notification[] {
    const before = this.describe().bySession;
    const notifications = super.trigger(events, canRead);
    for (const { sessionId: id, watches } of before) {
      for (const { path: p, kinds } of watches) for (const k of kinds) this.addWatch(id, p, k);
    }
    return notifications;
  }
}

/** Planted bug: recursive watches also report NodeChildrenChanged below them. */
class RecursiveSeesChildren extends WatchRegistry {
  override trigger(events: readonly ChangeEvent[], canRead?: ReadCheck): Notification[] {
    const out: Notification[] = [];
    for (const event of events) {
      const extra = new Set<SessionId>();
      if (event.type === 'NodeChildrenChanged') {
        for (const { sessionId: id, watches } of this.describe().bySession) {
          const covers = watches.some(
            (w) =>
              w.kinds.includes('persistent-recursive') &&
              (w.path === event.path || isBelow(w.path, event.path)),
          );
          if (covers && (canRead === undefined || canRead(id, event))) extra.add(id);
        }
      }
      const base = super.trigger([event], canRead);
      const ids = [...new Set([...base.map((n) => n.sessionId), ...extra])].sort(byId);
      out.push(
        ...ids.map((id) => ({
          sessionId: id,
          type: event.type,
          path: event.path,
          zxid: event.zxid,
        })),
      );
    }
    return out;
  }
}

/** Planted bug: no per-session dedup; a session hears an event once per matching watch. */
class NoDedup extends WatchRegistry {
  override trigger(events: readonly ChangeEvent[], canRead?: ReadCheck): Notification[] {
    const out: Notification[] = [];
    for (const event of events) {
      const matching = new Map<SessionId, number>();
      for (const { sessionId: id, watches } of this.describe().bySession) {
        for (const { path: p, kinds } of watches) {
          const hits = kinds.filter((k) => fires({ session: id, path: p, kind: k }, event)).length;
          matching.set(id, (matching.get(id) ?? 0) + hits);
        }
      }
      for (const n of super.trigger([event], canRead)) {
        for (let i = 0; i < (matching.get(n.sessionId) ?? 1); i++) out.push(n);
      }
    }
    return out;
  }
}

describe(`WatchRegistry against a flat-list reference (seed ${seed})`, () => {
  it('agrees on every op of random histories', () => {
    fc.assert(
      matchesReference((options) => new WatchRegistry(options)),
      { seed, numRuns: 200 },
    );
  });

  for (const [name, make] of [
    ['never drops one-shot watches', (o: WatchRegistryOptions) => new NeverForgets(o)],
    [
      'lets recursive watches see NodeChildrenChanged',
      (o: WatchRegistryOptions) => new RecursiveSeesChildren(o),
    ],
    ['notifies a session twice for one event', (o: WatchRegistryOptions) => new NoDedup(o)],
  ] as const) {
    it(`catches a planted bug: a registry that ${name}`, () => {
      const result = fc.check(matchesReference(make), { seed, numRuns: 300 });
      expect(result.failed, `seed ${seed}`).toBe(true);
    });
  }
});
