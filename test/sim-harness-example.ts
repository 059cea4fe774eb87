import { Mutex } from '@cairn/recipes';
import { applySchedule, faultSchedule, simulateCluster } from '@cairn/sim';
import fc from 'fast-check';

/** The protected resource: refuses a write fenced by a token older than the newest it saw. */
class FencedCounter {
  value = 0;
  private newest = 0;
  write(token: number, value: number): void {
    if (token < this.newest) throw new Error(`stale fencing token ${token} < ${this.newest}`);
    this.newest = token;
    this.value = value;
  }
}

await fc.assert(
  fc.asyncProperty(
    fc.integer({ min: 1, max: 1_000_000 }),
    faultSchedule({ nodes: 3, durationMs: 2000, kinds: ['partition', 'isolate', 'heal'] }),
    async (seed, schedule) => {
      await simulateCluster({ nodes: 3, seed }, async (cluster) => {
        const counter = new FencedCounter();
        let increments = 0;
        const faults = applySchedule(cluster, schedule);
        // Three sessions on three members share one Mutex path.
        const worker = async (nodeId: number): Promise<void> => {
          const session = await cluster.session(nodeId, { timeoutMs: 1000 });
          const mutex = new Mutex(session, '/locks/counter', { timers: cluster.timers });
          for (let round = 0; round < 3; round++) {
            const lease = await mutex.acquire({ timeoutMs: 3000 }).catch(() => null);
            if (lease === null) continue; // timed out or the session ended: try again
            const seen = counter.value;
            await cluster.sleep(20);
            if (!lease.lost) {
              counter.write(lease.fencingToken, seen + 1);
              increments++;
            }
            await mutex.release();
          }
        };
        await Promise.all(cluster.nodeIds.map(worker));
        await faults;
        if (counter.value !== increments)
          throw new Error(`lost update: counter ${counter.value}, increments ${increments}`);
        if (increments === 0) throw new Error('no holder ever got the lock');
      });
    },
  ),
  { numRuns: 3, seed: Number(process.env.CAIRN_SEED ?? 1) },
);
