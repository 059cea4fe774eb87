import type { Role } from '@cairn/raft';
import {
  Counter,
  Gauge,
  Histogram,
  type HistogramSummary,
  type Metric,
  SIZE_BUCKETS,
  StateGauge,
} from './metric-kinds.js';
import { renderPrometheus } from './prometheus.js';

export { Counter, Gauge, Histogram, type HistogramSummary, StateGauge } from './metric-kinds.js';

/** What the gauges read from the node they describe, at the moment the metrics are read. */
export interface GaugeSource {
  role(): Role;
  term(): number;
  commitIndex(): number;
  appliedIndex(): number;
  /** Live sessions in the replicated sessions table (every member's). */
  sessionsActive(): number;
  /** Sessions held by this node (opened here, or moved here). */
  sessionsLocal(): number;
}

const RAFT_ROLES: readonly Role[] = ['follower', 'pre-candidate', 'candidate', 'leader'];
const DETACHED: GaugeSource = {
  role: () => 'follower',
  term: () => 0,
  commitIndex: () => 0,
  appliedIndex: () => 0,
  sessionsActive: () => 0,
  sessionsLocal: () => 0,
};

/**
 * Append times of the entries waiting to commit, so commit latency can be observed when they
 * do. Bounded: past `ENTRY_TIMES_MAX` the oldest are forgotten (their commit goes unobserved),
 * so a follower cut off from the leader for long holds no unbounded map.
 */
const ENTRY_TIMES_MAX = 65_536;

/** The node's counters, latency histograms and gauges; `toObject()` for code, `toPrometheus()` for scrapers. */
export class Metrics {
  readonly proposals = new Counter(
    'cairn_proposals_total',
    'Commands proposed by this node (retries included).',
  );
  readonly proposalsRefused = new Counter(
    'cairn_proposals_refused_total',
    'Proposals refused for want of a leader (retried by their sessions).',
  );
  readonly applied = new Counter(
    'cairn_applied_entries_total',
    'Committed entries applied by this node.',
  );
  readonly watchEvents = new Counter(
    'cairn_watch_events_total',
    'One-shot watch notifications delivered to sessions of this node.',
  );
  readonly streamEvents = new Counter(
    'cairn_watch_stream_events_total',
    'Events queued on persistent watch streams (session.watch) of this node, replays included.',
  );
  readonly sessionsCreated = new Counter(
    'cairn_sessions_created_total',
    'Sessions opened on this node (their createSession entry applied).',
  );
  readonly sessionsExpired = new Counter(
    'cairn_sessions_expired_total',
    'Session expiries proposed by this node as leader.',
  );
  readonly snapshots = new Counter('cairn_snapshots_total', 'Snapshots taken by this node.');
  readonly snapshotsInstalled = new Counter(
    'cairn_snapshots_installed_total',
    'Snapshots from the leader installed by this node.',
  );
  readonly leaderChanges = new Counter(
    'cairn_leader_changes_total',
    'Times this node saw a new leader.',
  );
  readonly writes = new Counter(
    'cairn_session_writes_total',
    'Write calls answered to sessions of this node.',
  );
  readonly reads = new Counter(
    'cairn_session_reads_total',
    'Read calls answered to sessions of this node.',
  );
  readonly batchSize = new Histogram(
    'cairn_proposal_batch_entries',
    'Entries per proposal batch.',
    SIZE_BUCKETS,
  );
  readonly persistLatency = new Histogram(
    'cairn_persist_duration_seconds',
    'Synced storage writes (one per Ready that must sync), seconds.',
  );
  readonly commitLatency = new Histogram(
    'cairn_commit_latency_seconds',
    "Log entries from their append to this node's log until this node learned them committed, seconds.",
  );
  readonly applyLatency = new Histogram(
    'cairn_apply_latency_seconds',
    "Log entries from this node learning them committed until applied to its state machine (the Ready's storage write included), seconds.",
  );
  readonly writeLatency = new Histogram(
    'cairn_write_duration_seconds',
    'Session writes from call to applied on this node, seconds.',
  );
  readonly readLatency = new Histogram(
    'cairn_read_duration_seconds',
    'Session reads from call to answer, served from the local tree (linearizable ones include their read barrier), seconds.',
  );
  readonly readIndexLatency = new Histogram(
    'cairn_read_index_duration_seconds',
    'Linearizable read barriers (ReadIndex), seconds.',
  );
  readonly snapshotLatency = new Histogram(
    'cairn_snapshot_duration_seconds',
    'Taking a snapshot, seconds.',
  );

  private source: GaugeSource = DETACHED;
  readonly role = new StateGauge(
    'cairn_raft_role',
    "This node's Raft role (1 for the current one).",
    'role',
    RAFT_ROLES,
    () => this.source.role(),
  );
  readonly term = new Gauge('cairn_raft_term', "This node's current Raft term.", () =>
    this.source.term(),
  );
  readonly commitIndex = new Gauge(
    'cairn_raft_commit_index',
    'The highest log index this node knows committed.',
    () => this.source.commitIndex(),
  );
  readonly appliedIndex = new Gauge(
    'cairn_raft_applied_index',
    "The highest log index applied to this node's state machine.",
    () => this.source.appliedIndex(),
  );
  readonly sessionsActive = new Gauge(
    'cairn_sessions_active',
    "Live sessions in the replicated sessions table (all members' sessions).",
    () => this.source.sessionsActive(),
  );
  readonly sessionsLocal = new Gauge('cairn_sessions_local', 'Sessions held by this node.', () =>
    this.source.sessionsLocal(),
  );

  /** Append time (clock milliseconds) of each entry not yet seen committed, by index. */
  private readonly appendedAt = new Map<number, number>();

  /** Points the gauges at the node they describe (before, they read as a stopped follower). */
  attach(source: GaugeSource): void {
    this.source = source;
  }

  /**
   * Records one Ready's log traffic at `now` (clock milliseconds), when the Ready is taken:
   * `entries` are about to be appended, `committed` were just learned committed (their commit
   * latency is observed now, for those whose append this node saw; entries that arrived in a
   * snapshot instead have none).
   */
  entriesReady(
    entries: readonly { readonly index: number }[],
    committed: readonly { readonly index: number }[],
    now: number,
  ): void {
    for (const entry of entries) {
      // A re-appended index (a new leader overwrote the tail) restarts from its new append.
      this.appendedAt.delete(entry.index);
      this.appendedAt.set(entry.index, now);
    }
    for (const entry of committed) {
      const appendedAt = this.appendedAt.get(entry.index);
      if (appendedAt === undefined) continue;
      this.appendedAt.delete(entry.index);
      this.commitLatency.observeMs(now - appendedAt);
    }
    while (this.appendedAt.size > ENTRY_TIMES_MAX) {
      const oldest = this.appendedAt.keys().next().value as number;
      this.appendedAt.delete(oldest);
    }
  }

  /** Observes the apply latency of `count` entries learned committed at `committedAt`. */
  entriesApplied(count: number, committedAt: number, now: number): void {
    for (let i = 0; i < count; i++) this.applyLatency.observeMs(now - committedAt);
  }

  private all(): Metric[] {
    return Object.values(this).filter(
      (v): v is Metric =>
        v instanceof Counter ||
        v instanceof Histogram ||
        v instanceof Gauge ||
        v instanceof StateGauge,
    );
  }

  /**
   * Every metric by its Prometheus name: counters and gauges as numbers, histograms as count,
   * sum (seconds for latencies) and bucket-bound p50/p99, and the role as one number per state
   * under its series name (`cairn_raft_role{role="leader"}`: 1 on the leader).
   */
  toObject(): Record<string, number | HistogramSummary> {
    const out: Record<string, number | HistogramSummary> = {};
    for (const metric of this.all()) {
      if (metric instanceof StateGauge) {
        const current = metric.value;
        for (const state of metric.states)
          out[`${metric.name}{${metric.label}="${state}"}`] = state === current ? 1 : 0;
      } else if (metric instanceof Histogram) {
        out[metric.name] = {
          count: metric.count,
          sum: metric.sum,
          p50: metric.quantile(0.5),
          p99: metric.quantile(0.99),
        };
      } else out[metric.name] = metric.value;
    }
    return out;
  }

  /** Prometheus text exposition format 0.0.4: HELP and TYPE for each metric, `labels` on every series. */
  toPrometheus(labels: Readonly<Record<string, string>> = {}): string {
    return renderPrometheus(this.all(), labels);
  }
}
