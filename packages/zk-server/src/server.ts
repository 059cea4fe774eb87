/**
 * `createZkServer`: ZooKeeper's client port over a Cairn node. Each TCP connection is a
 * `Connection` (framing, handshake, ordered replies); the server owns the listener, the
 * four-letter words and the counters. A bad connection closes alone; the server keeps serving.
 */
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import type { CairnNode } from '@cairn/node';
import { Connection, type ServerContext } from './connection.js';
import { answerFourLetterWord } from './four-letter-words.js';
import { FOUR_LETTER_WORDS, resolveServerOptions, type ZkServerOptions } from './options.js';
import { ServerStats } from './stats.js';

export interface ZkServer {
  /** Where the server listens (the real port when 0 was asked). */
  address(): { host: string; port: number };
  /** Stops listening and closes every client connection; sessions live on until they expire. */
  close(): Promise<void>;
}

/**
 * Serves ZooKeeper's wire protocol (3.8) for `node`: resolves once listening. Sessions opened
 * here are sessions of the node; a client may reconnect to any member's server with its session
 * id and password (the session moves there). Throws RangeError on invalid options.
 */
export async function createZkServer(
  node: CairnNode,
  options: ZkServerOptions = {},
): Promise<ZkServer> {
  const resolved = resolveServerOptions(options);
  const stats = new ServerStats();
  const connections = new Set<Connection>();
  let port = resolved.port;
  const context: ServerContext = {
    node,
    options: resolved,
    stats,
    fourLetterWord(word, connection) {
      if (!resolved.fourLetterWords.has(word)) {
        if ((FOUR_LETTER_WORDS as readonly string[]).includes(word))
          connection.endWith(`${word} is not executed because it is not in the whitelist.\n`);
        else connection.destroy();
        return;
      }
      connection.state = 'closed';
      answerFourLetterWord(word, { node, options: resolved, stats, connections, port }).then(
        (text) => connection.endWith(text),
        () => connection.destroy(),
      );
    },
    closed(connection) {
      connections.delete(connection);
    },
  };
  const server: Server = createServer((socket: Socket) => {
    if (connections.size >= resolved.connectionsMax || node.isClosed) {
      socket.destroy();
      return;
    }
    stats.connectionsOpened++;
    connections.add(new Connection(socket, context));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(resolved.port, resolved.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  return {
    address: () => ({ host: resolved.host, port }),
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const connection of connections) connection.destroy();
      await closed;
    },
  };
}
