/**
 * Properties of ReadWriteLock and Semaphore over random interleavings (which member each
 * participant's session is on, when it starts, how long it holds, read or write, the number of
 * permits): a writer never holds alongside anyone, a semaphore never has more holders than
 * permits, and every participant is served. Occupancy counts a holder from its acquire until it
 * releases or is told of a loss. Each property has a sibling that plants a bug (a writer that
 * waits only for writers; participants that use one permit too many) and proves the property
 * notices. Seeded from CAIRN_SEED, virtual time.
 */
import type { CairnNode, Session } from '@cairn/node';
import { TestCluster } from '@cairn/node/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Lease, Mutex, ReadWriteLock, Semaphore } from '../src/index.js';
import type { BlockersOf, QueueKind } from '../src/internal/turn.js';
import { SEED } from './helpers.js';

interface Plan {
  readonly member: number;
  readonly startMs: number;
  readonly holdMs: number;
  readonly write: boolean;
}

const plan = fc.record({
  member: fc.integer({ min: 0, max: 2 }),
  startMs: fc.integer({ min: 0, max: 150 }),
  holdMs: fc.integer({ min: 0, max: 60 }),
  write: fc.boolean(),
});

/** What a participant acquires: given its session and plan, a way to get a lease. */
type Acquire = (session: Session, plan: Plan, c: TestCluster) => Promise<Lease>;

/**
 * Runs `plans` and returns the first broken rule, or null. `admits(readers, writers)` says
 * whether an occupancy is allowed.
 */
async function run(
  plans: readonly Plan[],
  seed: number,
  acquire: Acquire,
  admits: (readers: number, writers: number) => boolean,
): Promise<string | null> {
  const c = await TestCluster.start({ size: 3, seed });
  try {
    const nodes = [...c.nodes.values()].sort((a, b) => a.id - b.id);
    let readers = 0;
    let writers = 0;
    let broken: string | null = null;
    let served = 0;
    const one = async (p: Plan): Promise<void> => {
      const session = await (nodes[p.member] as CairnNode).session({ timeoutMs: 3000 });
      await new Promise<void>((resolve) => c.time.setTimeout(resolve, p.startMs));
      const lease = await acquire(session, p, c);
      let holding = true;
      if (p.write) writers++;
      else readers++;
      if (!admits(readers, writers)) broken ??= `${readers} readers and ${writers} writers`;
      const leave = (): void => {
        if (!holding) return;
        holding = false;
        if (p.write) writers--;
        else readers--;
      };
      lease.onLost(leave);
      await new Promise<void>((resolve) => c.time.setTimeout(resolve, p.holdMs));
      leave();
      await lease.release();
      served++;
    };
    await c.settle(Promise.all(plans.map(one)), 60_000);
    if (broken !== null) return broken;
    if (served < plans.length) return `${plans.length - served} participants never served`;
    return null;
  } finally {
    await c.close();
  }
}

const rwLock: Acquire = (session, p, c) => {
  const lock = new ReadWriteLock(session, '/rw', { timers: c.time });
  return (p.write ? lock.writeLock : lock.readLock).acquire();
};
const rwRule = (readers: number, writers: number): boolean =>
  writers === 0 || (writers === 1 && readers === 0);

const semaphore =
  (permits: number): Acquire =>
  (session, _p, c) =>
    new Semaphore(session, '/sem', permits, { timers: c.time }).acquire();

describe(`read-write lock and semaphore properties (seed ${SEED})`, () => {
  it('a writer holds alone; readers share; everyone is served', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(plan, { minLength: 2, maxLength: 8 }),
        fc.integer({ min: 1, max: 1000 }),
        async (plans, seed) => {
          expect(await run(plans, seed, rwLock, rwRule)).toBeNull();
        },
      ),
      { seed: SEED, numRuns: 25 },
    );
  });

  it('notices a planted bug: a writer that waits only for the writer ahead', async () => {
    const lastWriterBefore: BlockersOf = (names, index) => {
      for (let i = index - 1; i >= 0; i--)
        if (names[i]?.startsWith('write-')) return [names[i] as string];
      return [];
    };
    const prefixes = ['read-', 'write-'];
    const read: QueueKind = { prefix: 'read-', prefixes, blockersOf: lastWriterBefore };
    const careless: QueueKind = { prefix: 'write-', prefixes, blockersOf: lastWriterBefore };
    const planted: Acquire = (session, p, c) =>
      new Mutex(session, '/rw', { timers: c.time }, p.write ? careless : read).acquire();
    const found: string[] = [];
    // Readers first, then a writer while they hold.
    const overlapping = fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 2 }));
    const result = await fc.check(
      fc.asyncProperty(overlapping, async ([readerCount, member]) => {
        const plans: Plan[] = [
          ...Array.from({ length: readerCount }, (_, i) => ({
            member: i % 3,
            startMs: 0,
            holdMs: 60,
            write: false,
          })),
          { member, startMs: 20, holdMs: 20, write: true },
        ];
        const broken = await run(plans, SEED, planted, rwRule);
        if (broken !== null) found.push(broken);
        return broken === null;
      }),
      { seed: SEED, numRuns: 5 },
    );
    expect(result.failed).toBe(true);
    expect(found[0]).toMatch(/^\d+ readers and 1 writers$/);
  });

  it('a semaphore never has more holders than permits; everyone is served', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(plan, { minLength: 2, maxLength: 8 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 1000 }),
        async (plans, permits, seed) => {
          // Every participant counts as a "reader"; the rule is on their number.
          const all = plans.map((p) => ({ ...p, write: false }));
          expect(
            await run(all, seed, semaphore(permits), (readers) => readers <= permits),
          ).toBeNull();
        },
      ),
      { seed: SEED, numRuns: 25 },
    );
  });

  it('notices a planted bug: participants that use one permit too many', async () => {
    const found: string[] = [];
    const crowded = fc.array(
      fc.record({
        member: fc.integer({ min: 0, max: 2 }),
        startMs: fc.constant(0),
        holdMs: fc.constant(50),
        write: fc.constant(false),
      }),
      { minLength: 3, maxLength: 5 },
    );
    const result = await fc.check(
      fc.asyncProperty(crowded, async (plans) => {
        const broken = await run(plans, SEED, semaphore(3), (readers) => readers <= 2);
        if (broken !== null) found.push(broken);
        return broken === null;
      }),
      { seed: SEED, numRuns: 5 },
    );
    expect(result.failed).toBe(true);
    expect(found[0]).toBe('3 readers and 0 writers');
  });
});
