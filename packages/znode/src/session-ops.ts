import type { SessionId } from './ids.js';
import type { ZTree } from './tree.js';
import type { Txn, TxnResult } from './types.js';
import { type DeleteContext, deleteNode } from './write-ops.js';
import { kindOf } from './znode.js';

type SessionTxn = Extract<Txn, { type: 'createSession' | 'closeSession' | 'addAuth' }>;

/**
 * Session txns. Sessions are replicated: creating and closing one are log entries, and closing
 * (by the client or by the leader's expiry decision) deletes the session's ephemerals in the
 * same txn, firing their watches, so no ephemeral outlives its session on any replica.
 */
export function applySessionTxn(tree: ZTree, txn: SessionTxn, ctx: DeleteContext): TxnResult {
  switch (txn.type) {
    case 'createSession': {
      if (tree.sessionState(txn.sessionId) !== undefined || !isSessionOwner(txn.sessionId)) {
        return { ok: false, type: 'session', error: { code: 'BadArguments' } };
      }
      if (!Number.isSafeInteger(txn.timeoutMs) || txn.timeoutMs <= 0)
        return { ok: false, type: 'session', error: { code: 'BadArguments' } };
      tree.putSession({
        id: txn.sessionId,
        timeoutMs: txn.timeoutMs,
        password: txn.password,
        authIds: [],
        ephemerals: new Set(),
      });
      return { ok: true, type: 'createSession' };
    }
    case 'closeSession': {
      const session = tree.sessionState(txn.sessionId);
      if (session === undefined)
        return { ok: false, type: 'session', error: { code: 'SessionExpired' } };
      // Sorted, so every replica deletes (and fires events) in the same order.
      for (const path of [...session.ephemerals].sort()) deleteNode(tree, path, ctx);
      tree.dropSession(txn.sessionId);
      return { ok: true, type: 'closeSession' };
    }
    case 'addAuth': {
      const session = tree.sessionState(txn.sessionId);
      if (session === undefined)
        return { ok: false, type: 'session', error: { code: 'SessionExpired' } };
      if (txn.id.scheme === '' || txn.id.scheme === 'world' || txn.id.scheme === 'auth') {
        return { ok: false, type: 'session', error: { code: 'AuthFailed' } };
      }
      if (!session.authIds.some((id) => id.scheme === txn.id.scheme && id.id === txn.id.id))
        tree.addAuthId(session, txn.id);
      return { ok: true, type: 'addAuth' };
    }
  }
}

/**
 * Whether `id` can own ephemerals: a signed 64-bit value that `ephemeralOwner` reads back as a
 * session, not 0, the container marker or a TTL marker (high byte 0xFF, which is why ZooKeeper
 * caps server ids at 254 with extended types on). Any other id would leave its ephemerals
 * unowned, outliving the session.
 */
function isSessionOwner(id: SessionId): boolean {
  return BigInt.asIntN(64, id) === id && kindOf(id) === 'ephemeral';
}
