/** A monotonically increasing count. */
export class Counter {
  value = 0;
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(by = 1): void {
    this.value += by;
  }
}

/** Default latency buckets in milliseconds (upper bounds, Prometheus `le`). */
const LATENCY_BUCKETS_MS = [0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000];
const SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096];

/** Observations counted into fixed buckets (cumulative on export, as Prometheus wants). */
export class Histogram {
  readonly counts: number[];
  count = 0;
  sum = 0;
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[] = LATENCY_BUCKETS_MS,
  ) {
    this.counts = new Array(buckets.length + 1).fill(0);
  }

  observe(value: number): void {
    let i = 0;
    while (i < this.buckets.length && value > (this.buckets[i] as number)) i++;
    this.counts[i] = (this.counts[i] as number) + 1;
    this.count++;
    this.sum += value;
  }

  /** The smallest bucket bound below which at least `q` of the observations fall (Infinity past the last). */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const target = q * this.count;
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i] as number;
      if (seen >= target) return this.buckets[i] ?? Number.POSITIVE_INFINITY;
    }
    return Number.POSITIVE_INFINITY;
  }
}

/** The node's counters and latency histograms; `toObject()` for code, `toPrometheus()` for scrapers. */
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
    'cairn_persist_ms',
    'Synced storage writes, milliseconds.',
  );
  readonly writeLatency = new Histogram(
    'cairn_write_ms',
    'Session writes from call to applied, milliseconds.',
  );
  readonly readIndexLatency = new Histogram(
    'cairn_read_index_ms',
    'Linearizable read barriers, milliseconds.',
  );
  readonly snapshotLatency = new Histogram('cairn_snapshot_ms', 'Taking a snapshot, milliseconds.');

  private all(): (Counter | Histogram)[] {
    return Object.values(this).filter(
      (v): v is Counter | Histogram => v instanceof Counter || v instanceof Histogram,
    );
  }

  toObject(): Record<string, number | { count: number; sum: number; p50: number; p99: number }> {
    const out: Record<string, number | { count: number; sum: number; p50: number; p99: number }> =
      {};
    for (const metric of this.all()) {
      out[metric.name] =
        metric instanceof Counter
          ? metric.value
          : {
              count: metric.count,
              sum: metric.sum,
              p50: metric.quantile(0.5),
              p99: metric.quantile(0.99),
            };
    }
    return out;
  }

  /** Prometheus text exposition format 0.0.4. */
  toPrometheus(labels: Readonly<Record<string, string>> = {}): string {
    const base = Object.entries(labels).map(
      ([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`,
    );
    const render = (extra: string[]): string => {
      const all = [...base, ...extra];
      return all.length === 0 ? '' : `{${all.join(',')}}`;
    };
    const lines: string[] = [];
    for (const metric of this.all()) {
      lines.push(`# HELP ${metric.name} ${metric.help}`);
      if (metric instanceof Counter) {
        lines.push(`# TYPE ${metric.name} counter`, `${metric.name}${render([])} ${metric.value}`);
        continue;
      }
      lines.push(`# TYPE ${metric.name} histogram`);
      let cumulative = 0;
      metric.buckets.forEach((bound, i) => {
        cumulative += metric.counts[i] as number;
        lines.push(`${metric.name}_bucket${render([`le="${bound}"`])} ${cumulative}`);
      });
      lines.push(`${metric.name}_bucket${render(['le="+Inf"'])} ${metric.count}`);
      lines.push(
        `${metric.name}_sum${render([])} ${metric.sum}`,
        `${metric.name}_count${render([])} ${metric.count}`,
      );
    }
    return `${lines.join('\n')}\n`;
  }
}
