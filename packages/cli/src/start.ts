/**
 * `cairn start`: one member (level storage, TCP transport when it has peers) and its ZooKeeper
 * client port. Prints `client port <host>:<port>` once listening (the real port when
 * `--client-port 0`), then serves until SIGINT or SIGTERM, when it closes the port and the node
 * and exits 0. A second signal exits at once.
 */
import { createNode } from '@cairn/node';
import { createZkServer } from '@cairn/zk-server';
import { parseFlags } from './flags.js';
import type { Output } from './output.js';
import { resolveStartConfig, START_FLAGS } from './start-config.js';
import { UsageError } from './usage-error.js';

/** Runs a member until a signal; resolves with the exit status. */
export async function runStart(argv: readonly string[], output: Output): Promise<number> {
  const { values, positionals } = parseFlags(argv, START_FLAGS);
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const config = resolveStartConfig(values);
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
  const members = config.node.peers
    ? Object.keys(config.node.peers).join(',')
    : String(config.node.id);
  output.out(`cairn member ${config.node.id} of [${members}], data in ${config.node.dataDir}`);
  output.out(`client port ${host}:${port}`);

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        output.err(`cairn: ${signal} again, exiting now`);
        resolve(1);
        return;
      }
      stopping = true;
      output.out(`cairn: ${signal}, stopping`);
      void (async () => {
        await server.close();
        await node.close();
        output.out('cairn: stopped');
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
