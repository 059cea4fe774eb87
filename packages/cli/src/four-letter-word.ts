/** One four-letter word over a client port: send it, read the text answer until the server closes. */
import { connect } from 'node:net';

/** How long one four-letter word may take by default. */
export const WORD_TIMEOUT_MS = 5_000;
/** Bytes of answer read at most. */
const ANSWER_BYTES_MAX = 1024 * 1024;

export function fourLetterWord(
  host: string,
  port: number,
  word: string,
  timeoutMs = WORD_TIMEOUT_MS,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port }, () => socket.write(word));
    const chunks: Buffer[] = [];
    let bytes = 0;
    socket.setTimeout(timeoutMs, () =>
      socket.destroy(new Error(`no answer to ${word} within ${timeoutMs} ms`)),
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

/** `mntr`'s `name<TAB>value` lines as a map (later lines win). */
export function parseMntr(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const tab = line.indexOf('\t');
    if (tab > 0) values.set(line.slice(0, tab), line.slice(tab + 1));
  }
  return values;
}
