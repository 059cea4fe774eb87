import { BadArgumentsError } from '@cairn/node';
import fc from 'fast-check';
import type { SimulatedCluster } from './harness.js';

/**
 * One timed fault, `atMs` virtual ms after `applySchedule` starts. A crash restarts its member
 * `downMs` later; a pause resumes it `ms` later; a partition lasts until a `heal`, an `isolate`
 * or another partition (the liveness phase heals whatever is left).
 */
export type FaultEvent =
  | {
      readonly atMs: number;
      readonly kind: 'partition';
      readonly a: readonly number[];
      readonly b: readonly number[];
    }
  | { readonly atMs: number; readonly kind: 'isolate'; readonly node: number }
  | { readonly atMs: number; readonly kind: 'heal' }
  | {
      readonly atMs: number;
      readonly kind: 'crash';
      readonly node: number;
      readonly downMs: number;
    }
  | { readonly atMs: number; readonly kind: 'pause'; readonly node: number; readonly ms: number }
  | {
      readonly atMs: number;
      readonly kind: 'jumpClock';
      readonly node: number;
      readonly ms: number;
    };

export type FaultKind = FaultEvent['kind'];

export interface FaultScheduleOptions {
  /** Members 1..nodes. */
  readonly nodes: number;
  /** Events fall in [0, durationMs). */
  readonly durationMs: number;
  /** At most this many events. Default 8. */
  readonly eventsMax?: number;
  /** The kinds to draw from. Default all. */
  readonly kinds?: readonly FaultKind[];
  /** Longest crash (before its restart) and pause. Default 1,000 virtual ms. */
  readonly downMsMax?: number;
}

const ALL_KINDS: readonly FaultKind[] = [
  'partition',
  'isolate',
  'heal',
  'crash',
  'pause',
  'jumpClock',
];

/**
 * A fast-check arbitrary of fault schedules: up to `eventsMax` events in time order, over
 * members 1..nodes. It shrinks toward fewer, earlier, shorter faults, so a failing property
 * reports a small schedule. Bad options throw BadArguments.
 */
export function faultSchedule(options: FaultScheduleOptions): fc.Arbitrary<FaultEvent[]> {
  const { nodes, durationMs } = options;
  const eventsMax = options.eventsMax ?? 8;
  const downMsMax = options.downMsMax ?? 1000;
  const kinds = options.kinds ?? ALL_KINDS;
  const bad = (message: string): never => {
    throw new BadArgumentsError(undefined, { message: `faultSchedule: ${message}` });
  };
  if (!Number.isSafeInteger(nodes) || nodes < 1)
    bad(`nodes must be a positive integer, got ${nodes}`);
  if (!Number.isSafeInteger(durationMs) || durationMs < 1)
    bad(`durationMs must be a positive integer, got ${durationMs}`);
  if (!Number.isSafeInteger(eventsMax) || eventsMax < 0)
    bad(`eventsMax must be a non-negative integer, got ${eventsMax}`);
  if (!Number.isSafeInteger(downMsMax) || downMsMax < 1)
    bad(`downMsMax must be a positive integer, got ${downMsMax}`);
  if (kinds.length === 0 || kinds.some((kind) => !ALL_KINDS.includes(kind)))
    bad(`kinds must be some of ${ALL_KINDS.join(', ')}`);
  if (nodes < 2 && kinds.some((kind) => kind === 'partition' || kind === 'isolate'))
    bad('partitions need at least 2 nodes');
  const ids = Array.from({ length: nodes }, (_, i) => i + 1);
  const at = fc.integer({ min: 0, max: durationMs - 1 });
  const node = fc.constantFrom(...ids);
  const byKind: Record<FaultKind, fc.Arbitrary<FaultEvent>> = {
    partition: fc
      .record({ atMs: at, a: fc.subarray(ids, { minLength: 1, maxLength: nodes - 1 }) })
      .map(({ atMs, a }) => ({
        atMs,
        kind: 'partition' as const,
        a,
        b: ids.filter((id) => !a.includes(id)),
      })),
    isolate: fc.record({ atMs: at, kind: fc.constant('isolate' as const), node }),
    heal: fc.record({ atMs: at, kind: fc.constant('heal' as const) }),
    crash: fc.record({
      atMs: at,
      kind: fc.constant('crash' as const),
      node,
      downMs: fc.integer({ min: 0, max: downMsMax }),
    }),
    pause: fc.record({
      atMs: at,
      kind: fc.constant('pause' as const),
      node,
      ms: fc.integer({ min: 1, max: downMsMax }),
    }),
    jumpClock: fc.record({
      atMs: at,
      kind: fc.constant('jumpClock' as const),
      node,
      ms: fc.constantFrom(-5000, -1000, -200, 200, 1000, 5000),
    }),
  };
  return fc
    .array(fc.oneof(...kinds.map((kind) => byKind[kind])), { maxLength: eventsMax })
    .map((events) => [...events].sort((x, y) => x.atMs - y.atMs));
}

/** What `applySchedule` did: events applied, and those skipped (a crash of a member already down). */
export interface ScheduleResult {
  readonly applied: number;
  readonly skipped: number;
}

/**
 * Applies `schedule` to `cluster` on virtual time, each event at `atMs` after the call, and
 * resolves once every event ran and every crashed member was restarted; if the schedule
 * partitioned the network, it heals it then. Run it beside the
 * workload (`const faults = applySchedule(cluster, schedule)`, then `await faults`). The
 * schedule goes into a failure's replay line. A malformed event rejects with BadArguments
 * before anything is applied.
 */
export async function applySchedule(
  cluster: SimulatedCluster,
  schedule: readonly FaultEvent[],
): Promise<ScheduleResult> {
  checkSchedule(cluster, schedule);
  cluster.noteSchedule(schedule);
  const ordered = [...schedule].sort((x, y) => x.atMs - y.atMs);
  const startMs = cluster.now();
  const partitionsBefore = cluster.faults.partitions;
  const down = new Set<number>();
  const restarts: Promise<void>[] = [];
  let applied = 0;
  let skipped = 0;
  for (const event of ordered) {
    const waitMs = startMs + event.atMs - cluster.now();
    if (waitMs > 0) await cluster.sleep(waitMs);
    switch (event.kind) {
      case 'partition':
        cluster.partition(event.a, event.b);
        break;
      case 'isolate':
        cluster.isolate(event.node);
        break;
      case 'heal':
        cluster.heal();
        break;
      case 'crash': {
        if (down.has(event.node)) {
          skipped++;
          continue;
        }
        down.add(event.node);
        await cluster.crash(event.node);
        const id = event.node;
        restarts.push(
          cluster.sleep(event.downMs).then(async () => {
            down.delete(id);
            await cluster.restart(id);
          }),
        );
        break;
      }
      case 'pause':
        if (down.has(event.node)) {
          skipped++;
          continue;
        }
        cluster.pause(event.node, event.ms);
        break;
      case 'jumpClock':
        cluster.jumpClock(event.node, event.ms);
        break;
    }
    applied++;
  }
  await Promise.all(restarts);
  // What is left of a partition ends with the schedule, so the workload after it can progress.
  if (cluster.faults.partitions > partitionsBefore) cluster.heal();
  return { applied, skipped };
}

function checkSchedule(cluster: SimulatedCluster, schedule: readonly FaultEvent[]): void {
  const bad = (message: string): never => {
    throw new BadArgumentsError(undefined, { message: `applySchedule: ${message}` });
  };
  if (!Array.isArray(schedule)) bad('the schedule must be an array of fault events');
  const known = (id: unknown): boolean => typeof id === 'number' && cluster.nodeIds.includes(id);
  const count = (value: unknown): boolean =>
    typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
  schedule.forEach((event, i) => {
    const where = `event ${i} (${JSON.stringify(event)})`;
    if (typeof event !== 'object' || event === null) bad(`${where} is not an object`);
    if (!count(event.atMs)) bad(`${where}: atMs must be a non-negative integer`);
    switch (event.kind) {
      case 'partition':
        if (
          !Array.isArray(event.a) ||
          !Array.isArray(event.b) ||
          event.a.length === 0 ||
          event.b.length === 0
        )
          bad(`${where}: a partition needs two non-empty sides`);
        if (![...event.a, ...event.b].every(known)) bad(`${where}: unknown member`);
        if (event.a.some((id) => event.b.includes(id))) bad(`${where}: the sides overlap`);
        break;
      case 'isolate':
        if (!known(event.node)) bad(`${where}: unknown member`);
        break;
      case 'heal':
        break;
      case 'crash':
        if (!known(event.node)) bad(`${where}: unknown member`);
        if (!count(event.downMs)) bad(`${where}: downMs must be a non-negative integer`);
        break;
      case 'pause':
        if (!known(event.node)) bad(`${where}: unknown member`);
        if (!count(event.ms)) bad(`${where}: ms must be a non-negative integer`);
        break;
      case 'jumpClock':
        if (!known(event.node)) bad(`${where}: unknown member`);
        if (!Number.isSafeInteger(event.ms)) bad(`${where}: ms must be an integer`);
        break;
      default:
        bad(`${where}: unknown kind ${String((event as { kind?: unknown }).kind)}`);
    }
  });
}
