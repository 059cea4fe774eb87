// One Cairn member serving ZooKeeper clients, in its own process, for bench/zk-protocol.ts (not
// a test file itself): what `cairn start` runs, without the command's flag parsing. The parent
// passes a `ZkMemberConfig` as one JSON argument; this process starts `createNode` (level with
// synced writes; TCP between members when it has peers) and `createZkServer` on 127.0.0.1 with a
// free client port, prints `{"event":"ready","clientPort":N}`, and serves until SIGTERM or
// SIGINT, when it closes the port and the node and exits 0.
//
// CAIRN_CPU_PROFILE_DIR=<dir>: profiles this process and writes <dir>/zk-member<id>.cpuprofile
// on SIGTERM/SIGINT, as test/support/node-process.ts does, and the node's metrics at that moment
// (`node.metrics.toObject()`: persist latency, batch sizes, ...) to <dir>/zk-member<id>.metrics.json.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createNode } from '@cairn/node';
import { createZkServer } from '@cairn/zk-server';
import { profileDir, startCpuProfile } from './cpu-profile.js';

export interface ZkMemberConfig {
  readonly id: number;
  readonly dataDir: string;
  /** Every member's `127.0.0.1:port` by id, this one included; absent for a lone member. */
  readonly peers?: Readonly<Record<number, string>>;
}

const config = JSON.parse(process.argv[2] ?? '{}') as ZkMemberConfig;

const stopProfile = startCpuProfile(`zk-member${config.id}`);
/** With CAIRN_CPU_PROFILE_DIR: the CPU profile and, beside it, the node's metrics. */
async function writeProfile(): Promise<void> {
  if (profileDir !== null)
    writeFileSync(
      join(profileDir, `zk-member${config.id}.metrics.json`),
      JSON.stringify(node.metrics.toObject(), null, 2),
    );
  await stopProfile();
}

const node = await createNode({
  id: config.id,
  dataDir: config.dataDir,
  ...(config.peers === undefined ? {} : { peers: config.peers }),
  onEvent: (event) => {
    if (event.type === 'fatal')
      process.stdout.write(`${JSON.stringify({ event: 'fatal', message: event.error.message })}\n`);
  },
});
const server = await createZkServer(node, {
  host: '127.0.0.1',
  port: 0,
  fourLetterWords: ['srvr', 'mntr'],
});

let stopping = false;
function stop(): void {
  if (stopping) return;
  stopping = true;
  void writeProfile()
    .then(() => server.close())
    .then(() => node.close())
    .then(
      () => process.exit(0),
      () => process.exit(1),
    );
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdout.write(
  `${JSON.stringify({ event: 'ready', id: config.id, clientPort: server.address().port })}\n`,
);
