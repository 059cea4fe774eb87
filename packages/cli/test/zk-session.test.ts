/**
 * `ZkSession` against an in-process member: it records the watches the server arms and forgets
 * one-shot ones when they fire while persistent ones stay (what it re-registers after a move);
 * when its only host goes away for good it reports the loss, retries for the session timeout,
 * then reports the session expired and fails every later request with SessionExpired; a
 * connect string whose hosts all refuse fails to open with each host's reason.
 */
import { OP_CODES } from '@cairn/zk-server';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SESSION_EXPIRED, ZkReplyError } from '../src/zk-client.js';
import { type SessionState, ZkSession } from '../src/zk-session.js';
import { type InProcessServer, startInProcessServer } from './in-process-server.js';

let server: InProcessServer | null;
beforeEach(async () => {
  server = await startInProcessServer();
});
afterEach(async () => {
  await server?.close();
});

const acl = (w: import('@cairn/zk-server').JuteWriter) =>
  w.vector([0], (e) => e.int(31).string('world').string('anyone'));

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('ZkSession', () => {
  it('forgets one-shot watches once they fire and keeps persistent ones', async () => {
    const port = server?.port ?? 0;
    const events: string[] = [];
    const session = await ZkSession.open([{ host: '127.0.0.1', port }], {
      onEvent: (e) => events.push(`${e.type} ${e.path}`),
    });
    try {
      await session.request(OP_CODES.create, '/w', (w) => {
        w.string('/w').buffer(Buffer.from('0'));
        acl(w).int(0);
      });
      await session.request(OP_CODES.getData, '/w', (w) => w.string('/w').boolean(true));
      session.noteWatch('data', '/w');
      await session.request(OP_CODES.addWatch, '/w', (w) => w.string('/w').int(0));
      session.noteWatch('persistent', '/w');
      session.noteWatch('exist', '/none');
      expect(session.watched('data')).toEqual(['/w']);
      await session.request(OP_CODES.setData, '/w', (w) =>
        w.string('/w').buffer(Buffer.from('1')).int(-1),
      );
      // Both watches fire (ZooKeeper sends one notification per watcher kind that matched).
      await until(() => events.length >= 1, 'the data change');
      expect(events[0]).toBe('3 /w');
      expect(session.watched('data')).toEqual([]);
      expect(session.watched('persistent')).toEqual(['/w']);
      expect(session.watched('exist')).toEqual(['/none']);
    } finally {
      await session.close();
    }
  });

  it('reports the loss, then the expiry once the session timeout passes with no host', async () => {
    const port = server?.port ?? 0;
    const states: SessionState[] = [];
    const session = await ZkSession.open([{ host: '127.0.0.1', port }], {
      sessionTimeoutMs: 600,
      connectTimeoutMs: 200,
      onState: (s) => states.push(s),
    });
    expect(session.timeoutMs).toBe(600);
    await server?.close();
    server = null;
    // A request sent before the loss is noticed fails with ConnectionLoss; one sent after waits.
    await until(() => states.length > 0, 'the loss to be noticed');
    const failed = await session
      .request(OP_CODES.exists, '/', (w) => w.string('/').boolean(false))
      .then(
        () => null,
        (error: unknown) => error,
      );
    expect(failed).toBeInstanceOf(ZkReplyError);
    expect((failed as ZkReplyError).code).toBe(SESSION_EXPIRED);
    expect(states.map((s) => s.type)).toEqual(['disconnected', 'expired']);
    expect(states[1]).toMatchObject({
      reason: expect.stringContaining('no host took the session back within its timeout of 600 ms'),
    });
    // Every later request fails the same way, at once.
    await expect(
      session.request(OP_CODES.exists, '/', (w) => w.string('/').boolean(false)),
    ).rejects.toMatchObject({ code: SESSION_EXPIRED });
    await session.close();
  });

  it('fails to open when no host answers, naming each', async () => {
    await expect(
      ZkSession.open(
        [
          { host: '127.0.0.1', port: 1 },
          { host: '127.0.0.1', port: 2 },
        ],
        { connectTimeoutMs: 500 },
      ),
    ).rejects.toThrow(
      /no host of the connect string answered \(127\.0\.0\.1:1: .*; 127\.0\.0\.1:2: /,
    );
  });
});
