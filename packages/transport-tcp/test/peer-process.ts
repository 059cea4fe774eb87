// A Cairn transport in its own process for the between-process tests (not a test file itself):
// it listens, echoes every message it receives back to its sender (from and to swapped), and
// prints `ready` once listening and `event <json>` for each transport event on stdout. The
// parent passes its configuration as one JSON argument and stops it with SIGTERM or SIGKILL.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Message } from '@cairn/raft';
import { TcpTransport, type TcpTransportOptions } from '../src/index.js';

interface PeerConfig {
  nodeId: number;
  clusterId: string;
  listen: string;
  peers: Record<number, string>;
  secret?: string;
  /** A folder with ca.crt and `<tlsName>.key`/`.crt`, when the peer speaks TLS. */
  tlsDir?: string;
  tlsName?: string;
}

const config = JSON.parse(process.argv[2] ?? '{}') as PeerConfig;
const options: TcpTransportOptions = {
  nodeId: config.nodeId,
  clusterId: config.clusterId,
  listen: config.listen,
  peers: config.peers,
  reconnect: { baseMs: 20, maxMs: 200 },
  onEvent: (event) => process.stdout.write(`event ${JSON.stringify(event)}\n`),
};
if (config.secret !== undefined) options.secret = config.secret;
if (config.tlsDir !== undefined && config.tlsName !== undefined) {
  const file = (name: string): string => readFileSync(join(config.tlsDir ?? '', name), 'utf8');
  options.tls = {
    key: file(`${config.tlsName}.key`),
    cert: file(`${config.tlsName}.crt`),
    ca: file('ca.crt'),
  };
}

const transport = new TcpTransport(options);
transport.onMessage((message: Message) => {
  transport.send([{ ...message, from: message.to, to: message.from } as Message]);
});
await transport.start();
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  void transport.close().then(() => process.exit(0));
});
