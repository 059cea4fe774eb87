/**
 * A scripted environment for scenario fixtures (testdata/*.txt), in the spirit of etcd-io/raft's
 * interaction tests: nodes are real `RaftCore`s, the network is a set of mailboxes that the
 * script drains explicitly, and every Ready handled is printed with `describeReady`, so a
 * fixture reads like a protocol trace of the Raft paper's figures.
 */
import {
  type ConfChangeSingle,
  type ConfState,
  describeConfState,
  describeEntries,
  describeMessage,
  describeReady,
  type LogIndex,
  MemoryStorage,
  type Message,
  type NodeId,
  nodeId,
  type RaftConfig,
  RaftCore,
  seededRandom,
} from '@cairn/raft';

type Options = Partial<Omit<RaftConfig, 'id' | 'storage' | 'random'>>;

interface Node {
  core: RaftCore | null;
  storage: MemoryStorage;
  options: Options;
}

export class Interaction {
  private readonly nodes = new Map<NodeId, Node>();
  private readonly mailboxes = new Map<NodeId, Message[]>();
  private readonly blocked = new Set<string>();
  private out: string[] = [];

  run(command: string, args: string[]): string {
    this.out = [];
    const handler = this.commands[command];
    if (handler === undefined) throw new Error(`unknown command ${command}`);
    handler(args);
    return this.out.join('\n');
  }

  private readonly commands: Record<string, (args: string[]) => void> = {
    /** add-nodes <count> voters=1,2,3 [learners=4] [prevote=false] [checkquorum=false] [readonly=lease-based] [forwarding=false] [index=<bootstrap index>] */
    'add-nodes': (args) => {
      const count = Number(args[0]);
      const kv = keyValues(args.slice(1));
      const voters = ids(kv.voters ?? '');
      const learners = ids(kv.learners ?? '');
      const confState: ConfState = {
        voters,
        votersOutgoing: [],
        learners,
        learnersNext: [],
        autoLeave: false,
      };
      const options: Options = {
        electionTicks: 10,
        heartbeatTicks: 1,
        ...(kv.prevote === undefined ? {} : { preVote: kv.prevote === 'true' }),
        ...(kv.checkquorum === undefined ? {} : { checkQuorum: kv.checkquorum === 'true' }),
        ...(kv.readonly === 'lease-based' ? { readOnly: 'lease-based' as const } : {}),
        ...(kv.forwarding === undefined ? {} : { proposalForwarding: kv.forwarding === 'true' }),
        ...(kv.retain === undefined ? {} : { compactionRetainedEntries: Number(kv.retain) }),
      };
      const first = this.nodes.size + 1;
      for (let id = first; id < first + count; id++) {
        // Nodes outside the bootstrap configuration start empty, as a new server does.
        const inConfig = voters.includes(nodeId(id)) || learners.includes(nodeId(id));
        const storage = inConfig ? MemoryStorage.bootstrap(confState) : new MemoryStorage();
        this.nodes.set(nodeId(id), { core: null, storage, options });
        this.mailboxes.set(nodeId(id), []);
        this.start(nodeId(id));
      }
    },
    campaign: (args) => this.core(args[0]).campaign(),
    /** propose <id> <data> */
    propose: (args) =>
      this.print(
        JSON.stringify(
          this.core(args[0]).propose(new TextEncoder().encode(args[1] ?? '')),
          replacer,
        ),
      ),
    /** propose-conf-change <id> [transition=joint-explicit] v4 l5 r3 (v: add voter, l: add learner, r: remove) */
    'propose-conf-change': (args) => {
      const kv = keyValues(args.slice(1));
      const changes: ConfChangeSingle[] = args
        .slice(1)
        .filter((arg) => !arg.includes('='))
        .map((arg) => ({
          type: arg[0] === 'v' ? 'addVoter' : arg[0] === 'l' ? 'addLearner' : 'removeNode',
          nodeId: nodeId(Number(arg.slice(1))),
        }));
      const transition = (kv.transition ?? 'auto') as 'auto' | 'joint-implicit' | 'joint-explicit';
      this.print(
        JSON.stringify(this.core(args[0]).proposeConfChange({ changes, transition }), replacer),
      );
    },
    'read-index': (args) =>
      this.print(JSON.stringify(this.core(args[0]).readIndex(args[1] ?? ''), replacer)),
    'transfer-leadership': (args) => this.core(args[0]).transferLeadership(nodeId(Number(args[1]))),
    /** tick <id> [count] */
    tick: (args) => {
      const times = Number(args[1] ?? 1);
      for (let i = 0; i < times; i++) this.core(args[0]).tick();
    },
    /** tick-election <id>: enough ticks for any randomized election timeout to pass. */
    'tick-election': (args) => {
      for (let i = 0; i < 20; i++) this.core(args[0]).tick();
    },
    /** process-ready <id...>: handle one Ready each (persist, queue messages, apply, advance). */
    'process-ready': (args) => {
      for (const id of args.map(toId)) this.processReady(id);
    },
    /** deliver-msgs <id...> [drop]: deliver (or drop) everything queued for these nodes. */
    'deliver-msgs': (args) => {
      const drop = args.includes('drop');
      for (const id of args.filter((a) => a !== 'drop').map(toId)) this.deliver(id, drop);
    },
    /** stabilize [id...]: process Readies and deliver messages until nothing moves. */
    stabilize: (args) => {
      const only = args.length === 0 ? [...this.nodes.keys()] : args.map(toId);
      for (let loop = 0; loop < 100; loop++) {
        let moved = false;
        for (const id of only) moved = this.processReady(id) || moved;
        for (const id of only) moved = this.deliver(id, false) || moved;
        if (!moved) return;
      }
      this.print('stabilize: did not settle in 100 rounds');
    },
    /** partition 1 | 2 3: cut every link between the groups. */
    partition: (args) => {
      this.blocked.clear();
      const groups = args
        .join(' ')
        .split('|')
        .map((group) => group.trim().split(/\s+/).map(toId));
      for (const a of groups)
        for (const b of groups)
          if (a !== b) for (const x of a) for (const y of b) this.blocked.add(`${x}-${y}`);
    },
    heal: () => this.blocked.clear(),
    /** crash <id>: the node loses everything not yet persisted, including its mailbox. */
    crash: (args) => {
      const id = toId(args[0]);
      (this.nodes.get(id) as Node).core = null;
      this.mailboxes.set(id, []);
    },
    restart: (args) => this.start(toId(args[0])),
    /** compact <id> <index>: the application snapshots at <index>. */
    compact: (args) => {
      try {
        this.core(args[0]).compact({ index: Number(args[1]) as LogIndex, data: new Uint8Array(0) });
      } catch (error) {
        this.print(`error ${(error as { code: string }).code}`);
      }
    },
    'report-unreachable': (args) => this.core(args[0]).reportUnreachable(toId(args[1])),
    'report-snapshot': (args) =>
      this.core(args[0]).reportSnapshot(toId(args[1]), args[2] !== 'failed'),
    status: (args) => {
      for (const id of args.map(toId)) {
        const s = this.core(String(id)).status();
        const progress = [...s.progress]
          .map(([peer, p]) => `${peer}:${p.state} match=${p.match} next=${p.next}`)
          .join(', ');
        this.print(
          `${id}: ${s.role} term=${s.term} leader=${s.leader ?? '-'} vote=${s.vote ?? '-'} commit=${s.commit} applied=${s.applied} last=${s.lastIndex} ${describeConfState(s.confState)}${progress === '' ? '' : `\n  ${progress}`}`,
        );
      }
    },
    'raft-log': (args) => {
      const storage = (this.nodes.get(toId(args[0])) as Node).storage;
      const entries =
        storage.entries(
          storage.firstIndex(),
          (storage.lastIndex() + 1) as LogIndex,
          Number.MAX_SAFE_INTEGER,
        ) ?? [];
      this.print(`first=${storage.firstIndex()} ${describeEntries(entries)}`);
    },
  };

  private core(id: string | undefined): RaftCore {
    const node = this.nodes.get(toId(id));
    if (node?.core == null) throw new Error(`node ${id} is not running`);
    return node.core;
  }

  private start(id: NodeId): void {
    const node = this.nodes.get(id) as Node;
    node.core = new RaftCore({
      ...node.options,
      id,
      storage: node.storage,
      random: seededRandom(id),
      applied: node.storage.snapshot().metadata.index,
    });
  }

  private processReady(id: NodeId): boolean {
    const node = this.nodes.get(id) as Node;
    if (node.core === null || !node.core.hasReady()) return false;
    const ready = node.core.ready();
    this.print(`> ${id} handling Ready`);
    this.print(indent(describeReady(ready)));
    node.storage.write({
      hardState: ready.hardState ?? undefined,
      snapshot: ready.snapshot ?? undefined,
      entries: ready.entries,
    });
    if (ready.compaction !== null)
      node.storage.compact(ready.compaction.snapshot, ready.compaction.compactTo);
    for (const message of [...ready.messages, ...ready.messagesAfterPersist]) {
      if (this.blocked.has(`${message.from}-${message.to}`)) continue;
      this.mailboxes.get(message.to)?.push(message);
    }
    node.core.advance(ready);
    node.core.assertInvariants();
    return true;
  }

  private deliver(id: NodeId, drop: boolean): boolean {
    const queue = this.mailboxes.get(id) ?? [];
    if (queue.length === 0) return false;
    this.mailboxes.set(id, []);
    const core = (this.nodes.get(id) as Node).core;
    for (const message of queue) {
      if (drop || core === null) {
        this.print(`dropped: ${describeMessage(message)}`);
        continue;
      }
      this.print(describeMessage(message));
      core.step(message);
    }
    return true;
  }

  private print(line: string): void {
    this.out.push(line);
  }
}

function toId(value: string | undefined): NodeId {
  const id = Number(value);
  if (!Number.isInteger(id) || id < 1) throw new Error(`bad node id ${value}`);
  return nodeId(id);
}

function ids(text: string): NodeId[] {
  return text
    .split(',')
    .filter((part) => part !== '')
    .map(toId);
}

function keyValues(args: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const arg of args) {
    const at = arg.indexOf('=');
    if (at > 0) out[arg.slice(0, at)] = arg.slice(at + 1);
  }
  return out;
}

function indent(text: string): string {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => `  ${line}`)
    .join('\n');
}

/** Prints errors by code and fields, not message text. */
function replacer(key: string, value: unknown): unknown {
  if (value instanceof Error) {
    const { code, reason, leaderHint } = value as Error & {
      code?: string;
      reason?: string;
      leaderHint?: number | null;
    };
    return {
      code,
      ...(reason === undefined ? {} : { reason }),
      ...(leaderHint === undefined ? {} : { leaderHint }),
    };
  }
  return key === 'message' ? undefined : value;
}
