// CAIRN_CPU_PROFILE_DIR=<dir>: a member process (node-process.ts, zk-member-process.ts) profiles
// itself from start and writes `<dir>/<name>.cpuprofile` when told to stop (NODE_OPTIONS may
// not carry --cpu-prof). For finding where a benchmark's time goes.
import { writeFileSync } from 'node:fs';
import { Session as InspectorSession } from 'node:inspector';
import { join } from 'node:path';

/** The profile directory, or null when profiling is off. */
export const profileDir: string | null = process.env.CAIRN_CPU_PROFILE_DIR ?? null;

/** Starts profiling when asked; the returned function stops and writes `<name>.cpuprofile`. */
export function startCpuProfile(name: string): () => Promise<void> {
  if (profileDir === null) return () => Promise.resolve();
  const dir = profileDir;
  const profiler = new InspectorSession();
  profiler.connect();
  profiler.post('Profiler.enable');
  profiler.post('Profiler.start');
  return () =>
    new Promise((resolve) => {
      profiler.post('Profiler.stop', (error, result) => {
        if (error === null)
          writeFileSync(join(dir, `${name}.cpuprofile`), JSON.stringify(result.profile));
        resolve();
      });
    });
}
