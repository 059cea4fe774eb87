/**
 * `cairn start`: one member (level storage, TCP transport when it has peers) and its ZooKeeper
 * client port. Prints `client port <host>:<port>` once listening (the real port when
 * `--client-port 0`); with `--json`, stdout carries JSON lines only: a ready line with the bound
 * addresses (`ReadyLine`), then `stopping` and `stopped`. Serves until SIGINT or SIGTERM, when it
 * closes the port and the node and exits 0. A second signal exits at once.
 */
import { resolve as resolvePath } from 'node:path';
import { createNode } from '@cairn/node';
import { createZkServer } from '@cairn/zk-server';
import { parseFlags } from './flags.js';
import type { Output } from './output.js';
import type { ReadyLine } from './ready-line.js';
import { resolveStartConfig, START_FLAGS } from './start-config.js';
import { UsageError } from './usage-error.js';

/** Runs a member until a signal; resolves with the exit status. */
export async function runStart(argv: readonly string[], output: Output): Promise<number> {
  const { values, positionals } = parseFlags(argv, { ...START_FLAGS, json: 'boolean' });
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const json = values.get('json') === true;
  const config = resolveStartConfig(new Map([...values].filter(([name]) => name !== 'json')));
  let node: Awaited<ReturnType<typeof createNode>>;
  try {
    node = await createNode(config.node);
  } catch (error) {
    // By code, not instanceof (STYLE §2: two builds of a package may load at once).
    if ((error as { code?: unknown }).code === 'ConfigInvalid')
      throw new UsageError((error as Error).message);
    throw error;
  }
  let server: Awaited<ReturnType<typeof createZkServer>>;
  try {
    server = await createZkServer(node, config.server);
  } catch (error) {
    await node.close();
    throw new Error(
      `cannot listen on ${config.server.host}:${config.server.port}: ${(error as Error).message}`,
    );
  }
  const { host, port } = server.address();
  const members = config.node.peers ? Object.keys(config.node.peers).map(Number) : [config.node.id];
  if (json) {
    const ready: ReadyLine = {
      event: 'ready',
      member: config.node.id,
      members,
      clientHost: host,
      clientPort: port,
      clientAddress: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`,
      peerAddress: config.node.listen ?? null,
      dataDir: resolvePath(config.node.dataDir),
      pid: process.pid,
    };
    output.out(JSON.stringify(ready));
  } else {
    output.out(
      `cairn member ${config.node.id} of [${members.join(',')}], data in ${config.node.dataDir}`,
    );
    output.out(`client port ${host}:${port}`);
  }

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        output.err(`cairn: ${signal} again, exiting now`);
        resolve(1);
        return;
      }
      stopping = true;
      output.out(
        json ? JSON.stringify({ event: 'stopping', signal }) : `cairn: ${signal}, stopping`,
      );
      void (async () => {
        await server.close();
        await node.close();
        output.out(json ? JSON.stringify({ event: 'stopped' }) : 'cairn: stopped');
        resolve(0);
      })().catch((error: unknown) => {
        output.err(`cairn: stopping failed: ${(error as Error).message}`);
        resolve(1);
      });
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
