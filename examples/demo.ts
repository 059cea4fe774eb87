/**
 * Cairn's Raft core end to end: three `RaftCore`s in one process, wired by an in-memory
 * network and driven by ticks. A leader is elected, writes commit on all three, the leader is
 * cut off and replaced, its uncommitted write is discarded when it rejoins, a follower serves a
 * linearizable read (ReadIndex), and leadership is handed over. Every step is checked; the run
 * is deterministic (seeded) and exits non-zero if a check fails.
 *
 *   npx -y pnpm@10 start
 */
import {
  type ConfState,
  describeEntry,
  describeMessage,
  describeReady,
  describeSnapshot,
  type Entry,
  type LogIndex,
  MemoryStorage,
  type Message,
  type NodeId,
  nodeId,
  RaftCore,
  type ReadState,
  type Role,
  seededRandom,
} from '@cairn/raft';

const SEED = 7;
/** Bounds every wait, in ticks: a wait that runs out is a failed check, not a hang. */
const TICKS_MAX = 200;

interface Node {
  readonly id: NodeId;
  readonly core: RaftCore;
  readonly storage: MemoryStorage;
  /** Every entry this node applied, in order (leader no-ops included). */
  readonly applied: Entry[];
  /** The state machine: `key=value` writes. */
  readonly values: Map<string, string>;
  readonly readStates: ReadState[];
}

class DemoCluster {
  readonly nodes: Node[] = [];
  ticks = 0;
  /** A node whose messages, in and out, are dropped. */
  isolated: NodeId | null = null;
  /** Print the delivered messages of these types. */
  traceTypes: ReadonlySet<Message['type']> = new Set();
  /** Print the next Ready of this node. */
  traceReadyOf: NodeId | null = null;
  private inFlight: Message[] = [];
  private readonly leaders = new Set<NodeId>();

  constructor(size: number) {
    const voters = Array.from({ length: size }, (_, i) => nodeId(i + 1));
    const confState: ConfState = {
      voters,
      votersOutgoing: [],
      learners: [],
      learnersNext: [],
      autoLeave: false,
    };
    for (const id of voters) {
      const storage = MemoryStorage.bootstrap(confState);
      const core = new RaftCore({
        id,
        storage,
        random: seededRandom(SEED * 1000 + id),
        electionTicks: 10,
        heartbeatTicks: 1,
      });
      this.nodes.push({ id, core, storage, applied: [], values: new Map(), readStates: [] });
    }
  }

  node(id: NodeId): Node {
    const node = this.nodes[id - 1];
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  /** The leader of the highest term, if any node is one. */
  leader(): Node | null {
    let found: Node | null = null;
    for (const node of this.nodes) {
      const status = node.core.status();
      if (status.role === 'leader' && (found === null || status.term > found.core.status().term))
        found = node;
    }
    return found;
  }

  /** One round: every node ticks once, then Readys and messages are handled until quiet. */
  tick(): void {
    this.ticks++;
    for (const node of this.nodes) node.core.tick();
    this.settle();
  }

  /** Ticks until `done` holds; a failed check if it does not within TICKS_MAX. */
  tickUntil(done: () => boolean, what: string): void {
    for (let i = 0; i < TICKS_MAX; i++) {
      if (done()) return;
      this.tick();
    }
    check(done(), `${what} within ${TICKS_MAX} ticks`);
  }

  settle(): void {
    for (let round = 0; round < 1000; round++) {
      let moved = false;
      for (const node of this.nodes) if (this.handleReady(node)) moved = true;
      if (this.deliver()) moved = true;
      if (!moved) return;
    }
    check(false, 'the cluster settles');
  }

  /** The Ready contract: send, persist, send after persist, apply, advance. */
  private handleReady(node: Node): boolean {
    if (!node.core.hasReady()) return false;
    const ready = node.core.ready();
    if (this.traceReadyOf === node.id) {
      this.traceReadyOf = null;
      say(`   Ready of node ${node.id}:`);
      for (const line of describeReady(ready).split('\n')) say(`     ${line}`);
    }
    this.inFlight.push(...ready.messages);
    node.storage.write({
      hardState: ready.hardState ?? undefined,
      snapshot: ready.snapshot ?? undefined,
      entries: ready.entries,
    });
    this.inFlight.push(...ready.messagesAfterPersist);
    for (const entry of ready.committedEntries) apply(node, entry);
    node.readStates.push(...ready.readStates);
    if (ready.softState !== null) this.reportRole(node, ready.softState.role);
    node.core.advance(ready);
    return true;
  }

  /** Says when a node starts or stops leading. */
  private reportRole(node: Node, role: Role): void {
    const wasLeader = this.leaders.has(node.id);
    const term = node.core.status().term;
    if (role === 'leader') {
      this.leaders.add(node.id);
      say(`   tick ${this.ticks}: node ${node.id} is leader in term ${term}`);
    } else if (wasLeader) {
      this.leaders.delete(node.id);
      say(`   tick ${this.ticks}: node ${node.id} stops leading (now ${role}, term ${term})`);
    }
  }

  private deliver(): boolean {
    if (this.inFlight.length === 0) return false;
    const messages = this.inFlight;
    this.inFlight = [];
    for (const message of messages) {
      if (message.from === this.isolated || message.to === this.isolated) continue;
      if (this.traceTypes.has(message.type)) say(`    ${describeMessage(message)}`);
      this.node(message.to).core.step(message);
    }
    return true;
  }
}

function apply(node: Node, entry: Entry): void {
  node.applied.push(entry);
  if (entry.type !== 'normal' || entry.data.length === 0) return;
  const [key, value] = decode(entry.data).split('=');
  node.values.set(key ?? '', value ?? '');
}

function encode(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

function decode(data: Uint8Array): string {
  return new TextDecoder().decode(data);
}

/** The writes a node applied, as text (leader no-ops left out). */
function writes(node: Node): string[] {
  return node.applied.filter((entry) => entry.data.length > 0).map((entry) => decode(entry.data));
}

function say(line: string): void {
  console.log(line);
}

class CheckFailed extends Error {}

function check(condition: boolean, what: string): asserts condition {
  if (!condition) throw new CheckFailed(what);
  say(`  ok: ${what}`);
}

function sameApplied(a: Node, b: Node): boolean {
  if (a.applied.length !== b.applied.length) return false;
  return a.applied.every((entry, i) => {
    const other = b.applied[i] as Entry;
    return (
      entry.index === other.index &&
      entry.term === other.term &&
      decode(entry.data) === decode(other.data)
    );
  });
}

function run(): void {
  const cluster = new DemoCluster(3);
  const all = cluster.nodes;

  const bootstrap = describeSnapshot((all[0] as Node).storage.snapshot());
  say(`0. Three followers start from the same bootstrap ${bootstrap}.`);
  say('');
  say('1. Election: the first node to time out runs a pre-vote, then a real vote (thesis §9.6).');
  cluster.traceTypes = new Set(['PreVote', 'PreVoteResponse', 'Vote', 'VoteResponse']);
  cluster.tickUntil(() => cluster.leader() !== null, 'a leader is elected');
  cluster.traceTypes = new Set();
  const first = cluster.leader() as Node;
  const firstTerm = first.core.status().term;

  say('');
  say(`2. Five writes proposed on node ${first.id}; the Ready for the first one:`);
  cluster.traceReadyOf = first.id;
  for (let i = 1; i <= 5; i++) {
    const outcome = first.core.propose(encode(`k${i}=v${i}`));
    check(outcome.status === 'appended', `k${i}=v${i} is appended on the leader`);
    cluster.settle();
  }
  const fiveWrites = ['k1=v1', 'k2=v2', 'k3=v3', 'k4=v4', 'k5=v5'];
  for (const node of all)
    check(
      JSON.stringify(writes(node)) === JSON.stringify(fiveWrites),
      `node ${node.id} applied the five writes in order`,
    );

  say('');
  say(`3. Node ${first.id} is cut off (every message to or from it is dropped).`);
  cluster.isolated = first.id;
  const lost = first.core.propose(encode('lost=1'));
  check(lost.status === 'appended', `the isolated leader still appends lost=1 to its own log`);
  const lostIndex = lost.status === 'appended' ? lost.index : (0 as LogIndex);
  say(`   lost=1 sits at index ${lostIndex}, term ${firstTerm}, on node ${first.id} only`);
  cluster.tickUntil(() => {
    const leader = cluster.leader();
    return leader !== null && leader.id !== first.id;
  }, 'the other two elect a new leader');
  const second = cluster.leader() as Node;
  const secondTerm = second.core.status().term;
  check(secondTerm > firstTerm, `the new leader's term ${secondTerm} is above ${firstTerm}`);
  cluster.tickUntil(() => first.core.status().role !== 'leader', `node ${first.id} steps down`);
  say(`   (check-quorum: node ${first.id} heard from no majority for an election timeout)`);
  check(second.core.propose(encode('k6=v6')).status === 'appended', 'k6=v6 is proposed');
  cluster.settle();
  const majority = all.filter((node) => node.id !== first.id);
  for (const node of majority)
    check(node.values.get('k6') === 'v6', `k6=v6 is applied on node ${node.id}`);

  say('');
  say(`4. The partition heals; node ${first.id} rejoins.`);
  cluster.isolated = null;
  cluster.tickUntil(
    () => sameApplied(first, second) && first.core.status().leader === second.id,
    `node ${first.id} follows node ${second.id} and catches up`,
  );
  check(first.core.status().role === 'follower', `node ${first.id} is a follower`);
  const replacement = first.storage.entries(lostIndex, (lostIndex + 1) as LogIndex, 1024)?.[0];
  check(
    replacement !== undefined && replacement.term === secondTerm,
    `index ${lostIndex} on node ${first.id} now holds ${replacement === undefined ? 'nothing' : describeEntry(replacement)} from term ${secondTerm}`,
  );
  check(
    all.every((node) => !node.values.has('lost')),
    'no node applied the uncommitted lost=1',
  );

  say('');
  const reader = all.find((node) => node.core.status().role === 'follower') as Node;
  say(`5. A linearizable read on follower ${reader.id} (ReadIndex, thesis §6.4).`);
  check(reader.core.readIndex('read-1').status === 'pending', 'the read is accepted');
  cluster.tickUntil(
    () => reader.readStates.some((read) => read.context === 'read-1'),
    'the leader confirms the read index with a heartbeat quorum',
  );
  const read = reader.readStates.find((state) => state.context === 'read-1') as ReadState;
  cluster.tickUntil(
    () => reader.core.status().applied >= read.index,
    `node ${reader.id} applies up to index ${read.index}`,
  );
  check(
    reader.values.get('k6') === 'v6',
    `node ${reader.id} reads k6=${reader.values.get('k6')} at index ${read.index}`,
  );

  say('');
  const target = all.find((node) => node.id !== second.id) as Node;
  say(`6. Node ${second.id} hands leadership to node ${target.id} (thesis §3.10).`);
  cluster.traceTypes = new Set(['TimeoutNow', 'Vote']);
  second.core.transferLeadership(target.id);
  cluster.settle();
  cluster.tickUntil(() => cluster.leader()?.id === target.id, `node ${target.id} leads`);
  cluster.traceTypes = new Set();
  const thirdTerm = target.core.status().term;
  check(thirdTerm > secondTerm, `the transfer moved to term ${thirdTerm}`);
  check(target.core.propose(encode('k7=v7')).status === 'appended', 'k7=v7 is proposed');
  cluster.tickUntil(
    () => all.every((node) => sameApplied(node, target) && node.values.get('k7') === 'v7'),
    'every node applies k7=v7',
  );

  say('');
  for (const node of all.filter((other) => other !== target))
    check(
      sameApplied(node, target),
      `node ${node.id} applied the same entries as node ${target.id}`,
    );
  const count = target.applied.length;
  const writeCount = writes(target).length;
  say(
    `all 3 nodes applied the same ${count} entries (${writeCount} writes, ${count - writeCount} ` +
      `leader no-ops) in ${cluster.ticks} ticks`,
  );
}

try {
  run();
} catch (error) {
  if (!(error instanceof CheckFailed)) throw error;
  console.error(`demo FAILED: ${error.message}`);
  process.exitCode = 1;
}
