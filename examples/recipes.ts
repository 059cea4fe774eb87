/**
 * Recipes across real processes: a small service of three members, each its own process with
 * level storage in a temporary folder and the TCP transport on loopback. Every member runs a
 * LeaderSelector (the leader bumps a typed ConfigValue, fenced by its leadership's guard),
 * takes a Mutex around a critical section that increments a shared counter (fenced the same
 * way), and watches the ConfigValue. When all three are done they meet at a DoubleBarrier and
 * report the config they see.
 *
 *   npx -y pnpm@10 recipes
 *
 * Run without arguments it is the parent: it spawns itself three times (`--member <id>`),
 * collects the members' report lines, prints a summary, checks the invariants (one leader at a
 * time, the counter equals the number of critical sections, every member saw the final config),
 * stops the members and exits 0, or 1 when a check fails or the run exceeds its time bound.
 *
 * "One at a time" is checked in log order, not by clocks: each member reports the applied
 * index of its node when a leadership (or critical section) starts and ends. A holder reports
 * its end before its znode is deleted and the next one starts only after that delete applied,
 * so in log order every interval must end before the next begins.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createNode, isCairnError } from '@cairn/node';
import { ConfigValue, DoubleBarrier, LeaderSelector, Mutex } from '@cairn/recipes';

const MEMBERS = 3;
const CRITICAL_SECTIONS = 5;
const TICK_MS = 50;
/** The whole run, parent included: past this the parent stops the members and fails. */
const RUN_MS_MAX = 25_000;

/** One line a member reports to the parent (JSON on stdout). */
type Report =
  | { kind: 'started'; member: number }
  | { kind: 'lead'; member: number; token: number; from: number; to: number; config: number }
  | { kind: 'critical'; member: number; token: number; from: number; to: number; count: number }
  | { kind: 'final'; member: number; config: number; counter: number };

interface Config {
  readonly version: number;
  readonly setBy: number;
}

function parseConfig(value: unknown): Config {
  const v = value as Partial<Config> | null;
  if (typeof v?.version !== 'number' || typeof v.setBy !== 'number')
    throw new Error(`not a config: ${JSON.stringify(value)}`);
  return { version: v.version, setBy: v.setBy };
}

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
};
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

if (flag('--member') === undefined) await parent();
else await member(Number(flag('--member')), flag('--peers') ?? '', flag('--dir') ?? '');

// ---- a member ---------------------------------------------------------------------------------

async function member(id: number, peerList: string, dir: string): Promise<void> {
  const peers = Object.fromEntries(peerList.split(',').map((address, i) => [i + 1, address]));
  const node = await createNode({
    id,
    dataDir: join(dir, `member-${id}`),
    listen: peers[id] as string,
    peers,
    tickMs: TICK_MS,
  });
  process.once('SIGTERM', () => {
    const bail = setTimeout(() => process.exit(0), 2_000);
    void node.close().finally(() => {
      clearTimeout(bail);
      process.exit(0);
    });
  });
  const report = (line: Report): void => {
    process.stdout.write(`${JSON.stringify(line)}\n`);
  };
  const zk = await node.session({ timeoutMs: 4_000 });
  report({ kind: 'started', member: id });
  for (const [path, value] of [
    ['/demo', null],
    ['/demo/config', { version: 0, setBy: 0 }],
    ['/demo/counter', 0],
  ] as const)
    await zk.create(path, encode(value)).catch((error: unknown) => {
      if (!(isCairnError(error) && error.code === 'NodeExists')) throw error;
    });

  const config = new ConfigValue(zk, '/demo/config', {
    parse: parseConfig,
    initial: { version: 0, setBy: 0 },
  });
  await config.start();
  const selector = new LeaderSelector(
    zk,
    '/demo/leader',
    async (leadership) => {
      const from = node.applied;
      const { data, stat } = await zk.getData('/demo/config');
      const next = { version: parseConfig(decode(data)).version + 1, setBy: id };
      // The leader's write carries its guard: it fails (NoNode) once we no longer lead.
      await zk
        .transaction()
        .add(leadership.guard())
        .setData('/demo/config', encode(next), stat.version)
        .commit();
      // Lead a while, but stop at once when told leadership ended (lost, or the selector
      // closed): the signal aborts before our candidate znode is deleted.
      let to = node.applied;
      await new Promise<void>((resolve) => {
        const end = (): void => {
          clearTimeout(timer);
          to = node.applied;
          resolve();
        };
        const timer = setTimeout(() => {
          leadership.signal.removeEventListener('abort', end);
          end();
        }, 150);
        if (leadership.signal.aborted) end();
        else leadership.signal.addEventListener('abort', end, { once: true });
      });
      report({
        kind: 'lead',
        member: id,
        token: leadership.fencingToken,
        from,
        to,
        config: next.version,
      });
    },
    { id: `member-${id}` },
  );
  selector.start();

  const mutex = new Mutex(zk, '/demo/lock');
  for (let i = 0; i < CRITICAL_SECTIONS; i++) {
    await sleep(20 + 30 * id);
    const lease = await mutex.acquire({ timeoutMs: 10_000 });
    try {
      const from = node.applied;
      const { data, stat } = await zk.getData('/demo/counter');
      const count = (decode(data) as number) + 1;
      // Fenced: the guard fails the multi once we lost the lock; the version catches any other writer.
      await zk
        .transaction()
        .add(lease.guard())
        .setData('/demo/counter', encode(count), stat.version)
        .commit();
      report({
        kind: 'critical',
        member: id,
        token: lease.fencingToken,
        from,
        to: node.applied,
        count,
      });
    } finally {
      await lease.release();
    }
  }

  // Stop leading, then wait for the others: once all three are through, nobody writes the
  // config any more, so the value each member's ConfigValue shows must be the final one.
  await selector.close();
  await new DoubleBarrier(zk, '/demo/finish', { id: `member-${id}`, count: MEMBERS }).enter({
    timeoutMs: 15_000,
  });
  await zk.sync();
  const final = parseConfig(decode((await zk.getData('/demo/config')).data));
  for (let waited = 0; config.get().version !== final.version && waited < 5_000; waited += 20)
    await sleep(20);
  const counter = decode((await zk.getData('/demo/counter')).data) as number;
  report({ kind: 'final', member: id, config: config.get().version, counter });
  // Stay up (the others may still need a quorum) until the parent stops us.
}

function encode(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value));
}

function decode(data: Uint8Array): unknown {
  return JSON.parse(new TextDecoder().decode(data));
}

// ---- the parent -------------------------------------------------------------------------------

async function parent(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-recipes-'));
  const ports = await freePorts(MEMBERS);
  const peerList = ports.map((port) => `127.0.0.1:${port}`).join(',');
  const reports: Report[] = [];
  const children: ChildProcess[] = [];
  const self = fileURLToPath(import.meta.url);
  const finals = new Promise<string | null>((resolve) => {
    for (let id = 1; id <= MEMBERS; id++) {
      const child = spawn(
        process.execPath,
        [...process.execArgv, self, '--member', String(id), '--peers', peerList, '--dir', dir],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      children.push(child);
      child.once('exit', (code, signal) => {
        if (reports.filter((r) => r.kind === 'final').length < MEMBERS)
          resolve(`member ${id} exited early (${signal ?? code})`);
      });
      createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
        let report: Report;
        try {
          report = JSON.parse(line) as Report;
        } catch {
          console.log(`member ${id}: ${line}`);
          return;
        }
        reports.push(report);
        if (report.kind === 'started') console.log(`member ${id}: up`);
        if (reports.filter((r) => r.kind === 'final').length === MEMBERS) resolve(null);
      });
    }
  });
  const timeout = new Promise<'timeout'>((resolve) =>
    setTimeout(() => resolve('timeout'), RUN_MS_MAX).unref(),
  );
  const outcome = await Promise.race([finals, timeout]);
  await stop(children);
  rmSync(dir, { recursive: true, force: true });
  const failures =
    outcome === 'timeout'
      ? [`not done within ${RUN_MS_MAX} ms`]
      : outcome === null
        ? []
        : [outcome];
  failures.push(...check(reports));
  for (const failure of failures) console.log(`FAILED: ${failure}`);
  if (failures.length === 0) {
    const leads = reports.filter((r) => r.kind === 'lead');
    const critical = reports.filter((r) => r.kind === 'critical');
    const last = leads.at(-1)?.config ?? 0;
    console.log(
      `ok: ${leads.length} leaderships one at a time, counter ${critical.length} after ${critical.length} critical sections, all ${MEMBERS} members saw config version ${last}`,
    );
  }
  process.exit(failures.length === 0 ? 0 : 1);
}

/** The invariants, as failure messages (none: all hold). */
function check(reports: readonly Report[]): string[] {
  const failures: string[] = [];
  const leads = reports.filter((r) => r.kind === 'lead').sort((a, b) => a.token - b.token);
  const critical = reports.filter((r) => r.kind === 'critical').sort((a, b) => a.token - b.token);
  for (const [what, intervals] of [
    ['leaderships', leads],
    ['critical sections', critical],
  ] as const) {
    console.log(`${what} (member: applied index from..to, fencing token):`);
    for (const r of intervals)
      console.log(`  member ${r.member}: ${r.from}..${r.to} token ${r.token}`);
    for (let i = 1; i < intervals.length; i++) {
      const before = intervals[i - 1] as (typeof intervals)[number];
      const after = intervals[i] as (typeof intervals)[number];
      if (after.from <= before.to)
        failures.push(`${what} overlap: member ${before.member} and member ${after.member}`);
    }
  }
  if (leads.length === 0) failures.push('nobody led');
  const counts = critical.map((r) => r.count).sort((a, b) => a - b);
  if (counts.some((count, i) => count !== i + 1))
    failures.push(`the counter skipped or repeated a value: ${counts}`);
  const expected = MEMBERS * CRITICAL_SECTIONS;
  const finals = reports.filter((r) => r.kind === 'final');
  const lastConfig = Math.max(0, ...leads.map((r) => r.config));
  for (const r of finals) {
    if (r.counter !== expected)
      failures.push(`member ${r.member} read counter ${r.counter}, not ${expected}`);
    if (r.config !== lastConfig)
      failures.push(`member ${r.member} saw config ${r.config}, not the final ${lastConfig}`);
  }
  if (critical.length !== expected)
    failures.push(`${critical.length} critical sections reported, not ${expected}`);
  return failures;
}

async function stop(children: readonly ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
          child.once('exit', () => {
            clearTimeout(kill);
            resolve();
          });
          child.kill('SIGTERM');
        }),
    ),
  );
}

/** `count` free loopback ports (bound to port 0 and released again). */
async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer());
  const ports = await Promise.all(
    servers.map(
      (server) =>
        new Promise<number>((resolve, reject) => {
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => {
            const address = server.address();
            resolve(typeof address === 'object' && address !== null ? address.port : 0);
          });
        }),
    ),
  );
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}
