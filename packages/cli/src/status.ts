/**
 * `cairn status --server host:port`: asks a member (or a ZooKeeper server) `srvr` and `mntr`
 * over its client port and prints both answers. Exit status 1 if the server cannot be reached.
 */
import { connect } from 'node:net';
import { parseAddress, parseFlags } from './flags.js';
import type { Output } from './output.js';
import { UsageError } from './usage-error.js';

/** How long one four-letter word may take. */
const WORD_TIMEOUT_MS = 5_000;
/** Bytes of answer read at most. */
const ANSWER_BYTES_MAX = 1024 * 1024;

/** Sends one four-letter word and reads the text answer until the server closes. */
export function fourLetterWord(host: string, port: number, word: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port }, () => socket.write(word));
    const chunks: Buffer[] = [];
    let bytes = 0;
    socket.setTimeout(WORD_TIMEOUT_MS, () =>
      socket.destroy(new Error(`no answer to ${word} within ${WORD_TIMEOUT_MS} ms`)),
    );
    socket.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > ANSWER_BYTES_MAX) socket.destroy(new Error(`answer to ${word} is too long`));
      else chunks.push(chunk);
    });
    socket.on('error', reject);
    socket.on('close', (hadError) => {
      if (!hadError) resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
}

export async function runStatus(argv: readonly string[], output: Output): Promise<number> {
  const { values, positionals } = parseFlags(argv, { server: 'string' });
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const { host, port } = parseAddress(
    'server',
    (values.get('server') as string | undefined) ?? '127.0.0.1:2181',
  );
  try {
    const srvr = await fourLetterWord(host, port, 'srvr');
    const mntr = await fourLetterWord(host, port, 'mntr');
    output.out(`${host}:${port}`);
    output.out(srvr.trimEnd());
    output.out(mntr.trimEnd());
    return 0;
  } catch (error) {
    output.err(`cairn status: ${host}:${port}: ${(error as Error).message}`);
    return 1;
  }
}
