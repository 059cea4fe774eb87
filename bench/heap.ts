/**
 * Heap measurement shared by the benchmarks.
 *
 * `startAllocationCount()` counts bytes allocated on the V8 heap, from a forced collection to
 * `stop()`. Everything allocated between two collections shows up as growth of the used heap,
 * so with `used_0` measured right after the forced collection and the GC profiler reporting the
 * used heap before and after each collection i:
 *
 *   allocated = Σ_i (usedBefore_i − usedAfter_{i−1}) + (used_end − usedAfter_last),
 *   usedAfter_{−1} = used_0.
 *
 * Objects that survive count once (when allocated); what a collection frees is never
 * subtracted. Off-heap typed-array stores are not counted.
 */
import { cpus } from 'node:os';
import v8 from 'node:v8';
import vm from 'node:vm';

export function startAllocationCount(): { stop(): number } {
  collectGarbage();
  const profiler = new v8.GCProfiler();
  const usedAtStart = v8.getHeapStatistics().used_heap_size;
  profiler.start();
  return {
    stop(): number {
      const usedAtEnd = v8.getHeapStatistics().used_heap_size;
      const { statistics } = profiler.stop();
      let allocated = 0;
      let usedAfterPrevious = usedAtStart;
      for (const gc of statistics) {
        allocated += gc.beforeGC.heapStatistics.usedHeapSize - usedAfterPrevious;
        usedAfterPrevious = gc.afterGC.heapStatistics.usedHeapSize;
      }
      return allocated + (usedAtEnd - usedAfterPrevious);
    },
  };
}

let gcFunction: (() => void) | null = null;

/** A full collection, without needing `--expose-gc` on the command line. */
export function collectGarbage(): void {
  if (gcFunction === null) {
    v8.setFlagsFromString('--expose-gc');
    gcFunction = vm.runInNewContext('gc') as () => void;
  }
  gcFunction();
}

/** "node v20.x, <CPU model> x <count>": the machine line every benchmark prints. */
export function machineLine(): string {
  const cpuList = cpus();
  return `node ${process.version}, ${cpuList[0]?.model ?? 'unknown CPU'} x ${cpuList.length}`;
}
