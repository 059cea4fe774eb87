/**
 * `cairn local --nodes 3 --json`, `cairn status` and `cairn shell` failover against a real local
 * cluster of three member processes on loopback. The ready line lists each member's client and
 * peer address, data folder and pid, and its connect string works; `status --json` reports the
 * three members (one leader, one term, lags and the session count) and the text table the same;
 * a shell given every address keeps its session (an ephemeral znode, a watch re-registered with
 * setWatches2 that fires for a change made while it was away) when the member it is connected to
 * is SIGKILLed; `status` then shows that member unreachable and the leader's view of its lag;
 * SIGINT stops the cluster with a `stopped` line.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OP_CODES } from '@cairn/zk-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterStatus } from '../src/cluster-status.js';
import { runCommand } from '../src/command.js';
import { parseConnectString } from '../src/connect-string.js';
import { ZkClient } from '../src/zk-client.js';
import { ZkSession } from '../src/zk-session.js';
import { CairnProcess, runCairn } from './cairn-process.js';

interface LocalReady {
  event: 'ready';
  connectString: string;
  baseDir: string;
  members: {
    id: number;
    clientAddress: string;
    peerAddress: string;
    dataDir: string;
    pid: number;
  }[];
}

let baseDir: string;
let cluster: CairnProcess;
let ready: LocalReady;
const extra: CairnProcess[] = [];

beforeAll(async () => {
  baseDir = mkdtempSync(join(tmpdir(), 'cairn-local-'));
  cluster = CairnProcess.spawn(['local', '--nodes', '3', '--json', '--base-dir', baseDir]);
  const match = await cluster.waitFor(/^\{"event":"ready".*\}$/, 60_000);
  ready = JSON.parse(match[0]) as LocalReady;
}, 90_000);

afterAll(async () => {
  for (const p of extra) p.kill();
  if (cluster !== undefined) {
    const status = await cluster.stop('SIGINT', 20_000);
    expect(status).toBe(0);
    expect(cluster.lines.at(-1)).toBe('{"event":"stopped"}');
  }
  rmSync(baseDir, { recursive: true, force: true });
}, 30_000);

async function status(connectString: string): Promise<ClusterStatus> {
  const out: string[] = [];
  await runCommand(['status', connectString, '--json'], {
    out: (l) => out.push(l),
    err: () => {},
  });
  expect(out).toHaveLength(1);
  return JSON.parse(out[0] as string) as ClusterStatus;
}

/** Polls `status` (bounded: 100 polls of 100 ms) until `check` holds; returns the last one. */
async function statusUntil(
  connectString: string,
  check: (s: ClusterStatus) => boolean,
): Promise<ClusterStatus> {
  let last = await status(connectString);
  for (let i = 0; i < 100 && !check(last); i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    last = await status(connectString);
  }
  return last;
}

describe('cairn local, status and shell failover', () => {
  it('prints one JSON ready line with every member and a working connect string', async () => {
    expect(ready.members.map((m) => m.id)).toEqual([1, 2, 3]);
    expect(ready.connectString).toBe(ready.members.map((m) => m.clientAddress).join(','));
    for (const m of ready.members) {
      expect(m.clientAddress).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(m.peerAddress).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(m.dataDir).toBe(join(baseDir, String(m.id)));
      expect(existsSync(m.dataDir)).toBe(true);
      expect(Number.isInteger(m.pid)).toBe(true);
    }
    const session = await ZkSession.open(parseConnectString(ready.connectString));
    await session.request(OP_CODES.sync, '/', (w) => w.string('/'));
    await session.close();
  });

  it('status reports every member: one leader, one term, lags and sessions, as JSON and as a table', async () => {
    const [first] = parseConnectString(ready.connectString);
    const holder = await ZkClient.connect(first?.host ?? '', first?.port ?? 0);
    try {
      const s = await statusUntil(
        ready.connectString,
        (x) =>
          x.leader !== null &&
          x.members.every((m) => m.term === x.term && m.lag === 0 && (m.sessions ?? 0) >= 1),
      );
      expect(s.voters).toEqual([1, 2, 3]);
      expect(s.members.map((m) => [m.member, m.address, m.reachable])).toEqual(
        ready.members.map((m) => [m.id, m.clientAddress, true]),
      );
      expect(s.members.filter((m) => m.role === 'leader').map((m) => m.member)).toEqual([s.leader]);
      expect(s.members.filter((m) => m.role === 'follower')).toHaveLength(2);
      for (const m of s.members) {
        expect(m.term).toBe(s.term);
        expect(m.lag).toBe(0);
        expect(m.sessions).toBeGreaterThanOrEqual(1);
        expect(m.applied).toBeLessThanOrEqual(m.commit ?? -1);
      }

      const table = runCairn(['status', ready.connectString]);
      expect(table.status, table.stderr).toBe(0);
      const lines = table.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^member +address +role +term/);
      expect(lines.slice(1, 4).map((l) => l.split(/ +/)[0])).toEqual(['1', '2', '3']);
      expect(lines.slice(1, 4).every((l) => l.endsWith('yes'))).toBe(true);
      expect(lines[4]).toMatch(
        new RegExp(`^leader ${s.leader}, term \\d+, voters \\[1,2,3\\], 3 of 3 reachable$`),
      );
    } finally {
      await holder.close();
    }
  }, 60_000);

  it('a shell keeps its session and watches across a SIGKILL of its member; status shows it down', async () => {
    const before = await statusUntil(ready.connectString, (x) => x.leader !== null);
    const victim = ready.members.find((m) => m.id !== before.leader);
    if (victim === undefined) throw new Error('no follower');
    const others = ready.members.filter((m) => m !== victim);
    const connect = [victim, ...others].map((m) => m.clientAddress).join(',');

    // Another session, on the members that stay up, makes the changes.
    const setup = await ZkSession.open(
      parseConnectString(others.map((m) => m.clientAddress).join(',')),
    );
    const acl = (w: import('@cairn/zk-server').JuteWriter) =>
      w.vector([0], (e) => e.int(31).string('world').string('anyone'));
    await setup.request(OP_CODES.create, '/watched', (w) => {
      w.string('/watched').buffer(Buffer.from('v0'));
      acl(w).int(0);
    });

    const shell = CairnProcess.spawn(['shell', connect, '--timeout', '20000']);
    extra.push(shell);
    shell.send('create -e /eph mine');
    shell.send('get -w /watched');
    await shell.waitFor(/^v0$/);
    expect(shell.lines).toContain('Created /eph');

    process.kill(victim.pid, 'SIGKILL');
    // A change made while the shell is away from every member: the re-registered watch fires.
    await setup.request(OP_CODES.setData, '/watched', (w) =>
      w.string('/watched').buffer(Buffer.from('v1')).int(-1),
    );
    const moved = await shell.waitForStderr(/reconnected to (\S+), session kept/);
    expect(others.map((m) => m.clientAddress)).toContain(moved[1]);
    await shell.waitFor(/^WatchedEvent state:SyncConnected type:NodeDataChanged path:\/watched$/);
    // The session, and with it the ephemeral znode, survived the move.
    shell.send('get /eph');
    await shell.waitFor(/^mine$/);
    expect(shell.stderr).toContain(`connection to ${victim.clientAddress} lost`);
    shell.send('quit');
    expect(await shell.exited).toBe(0);
    await setup.close();

    const after = await statusUntil(
      ready.connectString,
      (x) => x.leader !== null && (x.members.find((m) => m.member === victim.id)?.lag ?? 0) > 0,
    );
    const down = after.members.find((m) => m.address === victim.clientAddress);
    expect(down).toMatchObject({ member: null, reachable: false, role: null });
    expect(down?.error).toMatch(/ECONNREFUSED/);
    const unseen = after.members.find((m) => m.member === victim.id);
    expect(unseen).toMatchObject({ address: null, reachable: false });
    // The leader still counts it: the writes since the kill are its lag.
    expect(unseen?.lag).toBeGreaterThan(0);
    expect(after.members.filter((m) => m.reachable)).toHaveLength(2);
  }, 90_000);
});
