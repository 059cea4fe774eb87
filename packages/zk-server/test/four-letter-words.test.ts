/**
 * What the four-letter words say, line by line, in ZooKeeper 3.8's layout: stat and cons list
 * each connection (cons with its session id and timeout), wchs counts watching connections,
 * paths and watches, dump lists sessions and their ephemerals, conf the server's settings, envi
 * the process; mntr keeps ZooKeeper's `zk_*` lines first and then adds Cairn's `cairn_*` lines
 * (the node's metrics, then its Raft view: member, role, term, leader, commit and applied index,
 * voters, sessions, match indexes, which `cairn status` reads). One member, one raw client with a session, an ephemeral and watches.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JuteWriter } from '../src/jute.js';
import { OP_CODES } from '../src/records.js';
import { fourLetterWord, type Harness, RawClient, startHarness } from './helpers.js';

let harness: Harness;
let raw: RawClient;
beforeEach(async () => {
  harness = await startHarness({ fourLetterWords: '*' });
  raw = await RawClient.connect(harness.port, { timeoutMs: 4000 });
});
afterEach(async () => {
  raw.close();
  await harness.close();
});

const create =
  (path: string, flags = 0) =>
  (w: JuteWriter): void => {
    w.string(path)
      .buffer(Buffer.from('x'))
      .vector([0], (e) => e.int(31).string('world').string('anyone'))
      .int(flags);
  };
const watch = (path: string) => (w: JuteWriter) => {
  w.string(path).boolean(true);
};
const hex = (id: bigint): string => `0x${BigInt.asUintN(64, id).toString(16)}`;

/** The raw client's session with an ephemeral /e and three watches on two paths. */
async function populate(): Promise<void> {
  await raw.request(OP_CODES.create, create('/a'));
  await raw.request(OP_CODES.create, create('/e', 1));
  await raw.request(OP_CODES.getData, watch('/a'));
  await raw.request(OP_CODES.getChildren, watch('/a'));
  await raw.request(OP_CODES.exists, watch('/b'));
}

describe('four-letter words, by content', () => {
  it('stat and cons list each connection; cons with its session', async () => {
    await populate();
    const local = `/127.0.0.1:${raw.socket.localPort}[1]`;
    const stat = await fourLetterWord(harness.port, 'stat');
    const lines = stat.split('\n');
    expect(lines[0]).toMatch(/^Zookeeper version: 3\.8\.\d+-cairn/);
    expect(lines[1]).toBe('Clients:');
    const clients = lines.slice(2, lines.indexOf(''));
    // The client (6 requests and the handshake received), and stat's own connection.
    expect(clients).toHaveLength(2);
    expect(clients).toContain(` ${local}(queued=0,recved=6,sent=6)`);
    const summary = lines.slice(lines.indexOf('') + 1);
    expect(summary).toEqual([
      expect.stringMatching(/^Latency min\/avg\/max: \d+\/\d+\.\d{4}\/\d+$/),
      expect.stringMatching(/^Received: \d+$/),
      expect.stringMatching(/^Sent: \d+$/),
      'Connections: 2',
      'Outstanding: 0',
      `Zxid: 0x${harness.node.status().applied.toString(16)}`,
      'Mode: standalone',
      // /, /zookeeper, /zookeeper/config, /zookeeper/quota, /a, /e, and the root counted twice.
      'Node count: 7',
      '',
    ]);

    const cons = await fourLetterWord(harness.port, 'cons');
    const sessionLine = cons.split('\n').find((line) => line.startsWith(` ${local}`));
    expect(sessionLine).toMatch(
      new RegExp(
        `^ ${local.replace(/[.[\]]/g, '\\$&')}\\(queued=0,recved=6,sent=6,sid=${hex(raw.sessionId)},est=\\d+,to=4000\\)$`,
      ),
    );
  });

  it('wchs counts connections, paths and watches; dump lists sessions and ephemerals', async () => {
    expect(await fourLetterWord(harness.port, 'wchs')).toBe(
      '0 connections watching 0 paths\nTotal watches:0\n',
    );
    await populate();
    expect(await fourLetterWord(harness.port, 'wchs')).toBe(
      '1 connections watching 2 paths\nTotal watches:3\n',
    );
    const sid = hex(raw.sessionId);
    expect(await fourLetterWord(harness.port, 'dump')).toBe(
      [
        'SessionTracker dump:',
        'Global Sessions(1):',
        `${sid}\t4000ms`,
        'ephemeral nodes dump:',
        'Sessions with Ephemerals (1):',
        `${sid}:`,
        '\t/e',
        '',
      ].join('\n'),
    );
  });

  it('conf and envi print the settings and the process', async () => {
    expect(await fourLetterWord(harness.port, 'conf')).toBe(
      [
        `clientPort=${harness.port}`,
        'clientPortAddress=127.0.0.1',
        'serverId=1',
        'minSessionTimeout=500',
        'maxSessionTimeout=40000',
        'maxClientCnxns=10000',
        'jute.maxbuffer=1049600',
        '',
      ].join('\n'),
    );
    const envi = (await fourLetterWord(harness.port, 'envi')).split('\n');
    expect(envi[0]).toBe('Environment:');
    expect(envi).toContain(`node.version=${process.version}`);
    expect(envi).toContain(`pid=${process.pid}`);
    expect(envi).toContain(`user.dir=${process.cwd()}`);
    expect(envi).toContain(`os.name=${process.platform}`);
  });

  it("mntr keeps ZooKeeper's lines first, then Cairn's Raft view", async () => {
    await populate();
    const lines = (await fourLetterWord(harness.port, 'mntr')).trimEnd().split('\n');
    const names = lines.map((line) => line.split('\t')[0] ?? '');
    const firstCairn = names.findIndex((name) => name.startsWith('cairn_'));
    expect(names.slice(0, 3)).toEqual(['zk_version', 'zk_server_state', 'zk_avg_latency']);
    expect(firstCairn).toBeGreaterThan(0);
    expect(names.slice(firstCairn).every((name) => name.startsWith('cairn_'))).toBe(true);
    expect(names.slice(0, firstCairn).some((name) => name.startsWith('cairn_'))).toBe(false);
    const values = new Map(lines.map((line) => line.split('\t') as [string, string]));
    expect(values.get('zk_server_state')).toBe('standalone');
    expect(values.get('zk_global_sessions')).toBe('1');
    expect(values.get('zk_watch_count')).toBe('3');
    const status = harness.node.status();
    const raftNames = new Set([
      'cairn_member_id',
      'cairn_role',
      'cairn_term',
      'cairn_leader',
      'cairn_commit_index',
      'cairn_applied_index',
      'cairn_last_index',
      'cairn_voters',
      'cairn_learners',
      'cairn_sessions',
      'cairn_match_index',
    ]);
    expect(Object.fromEntries([...values].filter(([name]) => raftNames.has(name)))).toEqual({
      cairn_member_id: '1',
      cairn_role: 'leader',
      cairn_term: String(status.term),
      cairn_leader: '1',
      cairn_commit_index: String(status.commit),
      cairn_applied_index: String(status.applied),
      cairn_last_index: String(status.lastIndex),
      cairn_voters: '1',
      cairn_learners: '',
      cairn_sessions: '1',
      cairn_match_index: `1=${status.match[1]}`,
    });
    expect(status.applied).toBeGreaterThan(0);
  });
});
