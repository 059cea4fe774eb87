import type { CairnNode, CreateMode, Session, WatchEvent, WriteOp } from '@cairn/node';
import type { OpResult, Stat } from '@cairn/znode';
import type { SimCluster } from './cluster.js';
import type { History, HistoryOp, OpKind, ReadValue, WatchKind } from './history.js';
import { describeOps, failure } from './outcome.js';
import type { Rng } from './rng.js';

/** The key space: small, so that ops collide (BadVersion, NodeExists, NotEmpty happen). */
const PARENTS = ['/a', '/b', '/q'] as const;
const CHILDREN = ['/a/x', '/a/y', '/b/x', '/a/x/k', '/b/x/k'] as const;
const SEQUENTIAL_PREFIXES = ['/q/n-', '/a/s-'] as const;
const ALL = [...PARENTS, ...CHILDREN];

const OPEN = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
const text = new TextEncoder();
const untext = new TextDecoder();

interface Held {
  readonly session: Session;
  readonly node: number;
  seq: number;
  /** The last version this client saw per path, for conditional writes. */
  readonly versions: Map<string, number>;
}

/**
 * One simulated client: a session on some member and one call at a time, each drawn from the
 * client's own generator. When its member dies (its session fails with ConnectionLoss) it opens
 * a new session elsewhere; the old one is left to expire, as a crashed client's would.
 */
export class Client {
  private held: Held | null = null;
  private counter = 0;
  stopped = false;
  /** Resolves when the loop has ended. */
  done: Promise<void> = Promise.resolve();

  constructor(
    readonly id: number,
    private readonly sim: SimCluster,
    private readonly history: History,
    private readonly rng: Rng,
    /** Planted bug (see `Plant.lateWatchMs`): watch callbacks reach the client this late. */
    private readonly lateWatchMs = 0,
  ) {}

  start(): void {
    this.done = this.loop();
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      await this.sleep(this.rng.between(0, 15));
      if (this.stopped) break;
      const held = this.usable();
      if (held === null) await this.open();
      else await this.operate(held);
    }
    const held = this.held;
    if (held !== null) this.end(held, 'open');
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.sim.time.setTimeout(resolve, ms));
  }

  private usable(): Held | null {
    const held = this.held;
    if (held === null) return null;
    const state = held.session.state;
    if (state === 'closed' || state === 'expired') {
      this.end(held, state);
      this.held = null;
      return null;
    }
    return held;
  }

  private end(held: Held, state: 'closed' | 'expired' | 'abandoned' | 'open'): void {
    const member = this.sim.members.get(held.node);
    const live =
      state === 'open' &&
      member?.node !== null &&
      member?.node !== undefined &&
      held.session.state !== 'closed' &&
      held.session.state !== 'expired';
    this.history.sessions.set(held.session.id, {
      session: held.session.id,
      state,
      liveAtEnd: live,
      node: held.node,
    });
  }

  private async open(): Promise<void> {
    const running = this.sim.running();
    if (running.length === 0) return;
    const node = this.rng.pick(running);
    const op = this.record(node, null, null, 'open', '/', `timeout`, false, null);
    try {
      const session = await node.session({ timeoutMs: this.rng.between(300, 1500) });
      this.history.complete(op, { status: 'ok' }, this.sim.time.now(), node.applied);
      this.held = { session, node: node.id, seq: 0, versions: new Map() };
      this.history.sessions.set(session.id, {
        session: session.id,
        state: 'open',
        liveAtEnd: false,
        node: node.id,
      });
      (op as { session: bigint | null }).session = session.id;
    } catch (error) {
      this.history.complete(op, failure(error), this.sim.time.now(), node.applied);
    }
  }

  private nodeOf(held: Held): CairnNode {
    const node = this.sim.members.get(held.node)?.node;
    // A dead member's sessions are failed; reads through them throw ConnectionLoss.
    return node ?? (held.session as unknown as { node: CairnNode }).node;
  }

  private record(
    node: CairnNode,
    held: Held | null,
    seq: number | null,
    kind: OpKind,
    path: string,
    input: string,
    linearizable: boolean,
    watch: WatchKind | null,
    request?: readonly WriteOp[],
  ): HistoryOp {
    return this.history.add({
      ...(request === undefined ? {} : { request }),
      client: this.id,
      node: node.id,
      session: held?.session.id ?? null,
      seq,
      kind,
      path,
      input,
      linearizable,
      watch,
      invokeMs: this.sim.time.now(),
      invokeApplied: node.applied,
    });
  }

  private data(): Uint8Array {
    return text.encode(`c${this.id}.${++this.counter}`);
  }

  private version(held: Held, path: string): number {
    const known = held.versions.get(path);
    return known !== undefined && this.rng.chance(0.6) ? known : -1;
  }

  private async operate(held: Held): Promise<void> {
    const node = this.nodeOf(held);
    const session = held.session;
    const roll = this.rng.int(100);
    const write = async (
      kind: 'create' | 'setData' | 'delete' | 'multi' | 'close',
      path: string,
      input: string,
      call: () => Promise<readonly OpResult[] | undefined>,
      request?: readonly WriteOp[],
    ): Promise<void> => {
      held.seq++;
      const op = this.record(node, held, held.seq, kind, path, input, false, null, request);
      try {
        const results = await call();
        this.history.complete(
          op,
          results === undefined ? { status: 'ok' } : { status: 'ok', results },
          this.sim.time.now(),
          node.applied,
        );
        for (const result of results ?? []) {
          if (result.type === 'create') held.versions.set(result.path, result.stat.version);
          if (result.type === 'setData') held.versions.set(path, result.stat.version);
        }
      } catch (error) {
        this.history.complete(op, failure(error), this.sim.time.now(), node.applied);
      }
    };
    if (roll < 24) {
      const mode = this.mode();
      const sequential = mode.includes('sequential');
      const path = sequential ? this.rng.pick(SEQUENTIAL_PREFIXES) : this.rng.pick(ALL);
      const data = this.data();
      const ttl = mode.includes('ttl') ? { ttlMs: 1000 } : {};
      const request: WriteOp = { type: 'create', path, data, acl: OPEN, mode, ...ttl };
      await write(
        'create',
        path,
        `${mode} ${untext.decode(data)}`,
        async () => {
          const created = await session.create2(path, data, { mode, ...ttl });
          return [{ type: 'create', path: created.path, stat: created.stat }];
        },
        [request],
      );
    } else if (roll < 38) {
      const path = this.rng.pick(ALL);
      const data = this.data();
      const version = this.version(held, path);
      await write(
        'setData',
        path,
        `v${version} ${untext.decode(data)}`,
        async () => [{ type: 'setData', stat: await session.setData(path, data, version) }],
        [{ type: 'setData', path, data, version }],
      );
    } else if (roll < 47) {
      const path = this.rng.pick([...ALL, ...ALL, '/q']);
      const version = this.version(held, path);
      await write(
        'delete',
        path,
        `v${version}`,
        async () => {
          await session.delete(path, version);
          return [{ type: 'delete' }];
        },
        [{ type: 'delete', path, version }],
      );
    } else if (roll < 54) {
      const ops = this.multiOps(held);
      await write('multi', ops[0]?.path ?? '/', describeOps(ops), () => session.multi(ops), ops);
    } else if (roll < 96) {
      await this.read(held, node, roll);
    } else if (roll < 98) {
      await write('close', '/', 'close', async () => {
        await session.close();
        return undefined;
      });
      this.end(held, 'closed');
      this.held = null;
    } else {
      // Walk away without closing: the node stops reporting it, the leader expires it.
      session.setLive(false);
      this.end(held, 'abandoned');
      this.held = null;
    }
  }

  private mode(): CreateMode {
    const roll = this.rng.int(100);
    if (roll < 35) return 'persistent';
    if (roll < 55) return 'ephemeral';
    if (roll < 70) return 'persistent-sequential';
    if (roll < 82) return 'ephemeral-sequential';
    if (roll < 95) return 'container';
    return 'persistent-with-ttl';
  }

  private multiOps(held: Held): WriteOp[] {
    const ops: WriteOp[] = [];
    const count = this.rng.between(1, 3);
    for (let i = 0; i < count; i++) {
      const path = this.rng.pick(ALL);
      const roll = this.rng.int(4);
      if (roll === 0)
        ops.push({
          type: 'create',
          path,
          data: this.data(),
          acl: OPEN,
          mode: this.rng.chance(0.3) ? 'ephemeral' : 'persistent',
        });
      else if (roll === 1)
        ops.push({ type: 'setData', path, data: this.data(), version: this.version(held, path) });
      else if (roll === 2) ops.push({ type: 'delete', path, version: this.version(held, path) });
      else ops.push({ type: 'check', path, version: this.version(held, path) });
    }
    return ops;
  }

  private async read(held: Held, node: CairnNode, roll: number): Promise<void> {
    const session = held.session;
    const path = this.rng.pick([...ALL, '/']);
    const kind = roll < 70 ? 'getData' : roll < 80 ? 'exists' : roll < 92 ? 'getChildren' : 'sync';
    if (kind === 'sync') {
      const op = this.record(node, held, null, 'sync', '/', 'sync', true, null);
      try {
        await session.sync();
        this.history.complete(op, { status: 'ok' }, this.sim.time.now(), node.applied);
      } catch (error) {
        this.history.complete(op, failure(error), this.sim.time.now(), node.applied);
      }
      return;
    }
    const linearizable = this.rng.chance(0.4);
    const wants = this.rng.chance(0.35);
    const watchKind: WatchKind | null = !wants
      ? null
      : kind === 'getChildren'
        ? 'child'
        : kind === 'getData'
          ? 'data'
          : 'exist';
    const op = this.record(node, held, null, kind, path, kind, linearizable, watchKind);
    const fire = (event: WatchEvent): void => this.history.fire(op.id, event);
    const late = this.lateWatchMs;
    const watch =
      watchKind === null
        ? undefined
        : late > 0
          ? (event: WatchEvent): void => {
              this.sim.time.setTimeout(() => fire(event), late);
            }
          : fire;
    const options = { linearizable, ...(watch === undefined ? {} : { watch }) };
    try {
      let value: ReadValue;
      if (kind === 'getData') {
        const found = await session.getData(path, options);
        value = { kind, data: untext.decode(found.data), stat: found.stat };
      } else if (kind === 'exists') {
        value = { kind, stat: await session.exists(path, options) };
      } else {
        const found = await session.getChildren(path, options);
        value = { kind, children: found.children, stat: found.stat };
      }
      const stat: Stat | null = 'stat' in value ? value.stat : null;
      if (stat !== null) held.versions.set(path, stat.version);
      this.history.complete(op, { status: 'ok', read: value }, this.sim.time.now(), node.applied);
    } catch (error) {
      const outcome = failure(error);
      this.history.complete(
        op,
        outcome.status === 'error' && outcome.code === 'NoNode'
          ? { status: 'ok', read: { kind: 'noNode' } }
          : outcome,
        this.sim.time.now(),
        node.applied,
      );
    }
  }
}
