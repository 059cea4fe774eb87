/**
 * One Cairn member and its ZooKeeper port in this process (temporary level folder, port 0), for
 * shell tests that need a server but not a `cairn start` process. `close()` stops both and
 * removes the folder.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNode } from '@cairn/node';
import { createZkServer } from '@cairn/zk-server';

export interface InProcessServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startInProcessServer(): Promise<InProcessServer> {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-cli-server-'));
  const node = await createNode({ id: 1, dataDir: dir, tickMs: 20, sessionTimeoutMinMs: 500 });
  const server = await createZkServer(node, {
    port: 0,
    minSessionTimeoutMs: 500,
    fourLetterWords: '*',
  });
  return {
    port: server.address().port,
    close: async () => {
      await server.close();
      await node.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
