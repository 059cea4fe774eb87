// Proves the replicated sessions table and ACL enforcement (ZOOKEEPER.md §1.6, §1.7;
// RELIABILITY.md §3.4, §4.4). createSession refuses duplicates and ids that would read as
// something other than a session owner; closeSession (close or expire) deletes the session's
// ephemerals in sorted order in the same txn, firing their events, and every later txn of the
// session is SessionExpired. addAuth adds identities that the `auth` scheme expands to. Reads
// check READ (exists too, as ZooKeeper 3.8.4+), getACL masks digest hashes for callers without
// ADMIN, and ids listed in options.superIds pass every check.
import { type Acl, PERMS, type SessionId, sessionId, ttlOwner } from '@cairn/znode';
import { describe, expect, it } from 'vitest';
import { bytes, eventLines, Harness, OPEN, okOp, opError, sessionError } from './harness.js';

const BOB = { scheme: 'digest', id: 'bob:GuOI5jBhZ0cxFRHiiMa0jJpLdOM=' };
const CERT = { scheme: 'x509', id: 'CN=carol,O=cairn' };
const AUTH_ALL: readonly Acl[] = [{ perms: PERMS.ALL, id: { scheme: 'auth', id: '' } }];
const BOB_ONLY: readonly Acl[] = [{ perms: PERMS.ALL, id: BOB }];

function setup(options: ConstructorParameters<typeof Harness>[0] = {}): {
  h: Harness;
  s1: SessionId;
  s2: SessionId;
} {
  const h = new Harness(options);
  const s1 = h.openSession(0x0100_0000_0000_0001n);
  const s2 = h.openSession(0x0100_0000_0000_0002n);
  h.mustCreate(s1, '/app');
  return { h, s1, s2 };
}

describe('sessions: createSession', () => {
  it('records the session with its timeout and password', () => {
    const { h, s1 } = setup();
    expect(h.tree.session(s1)).toMatchObject({ timeoutMs: 10_000, authIds: [] });
    expect(h.tree.sessionIds()).toEqual([0x0100_0000_0000_0001n, 0x0100_0000_0000_0002n]);
  });

  it('refuses a session id that is already live, changing nothing', () => {
    const { h, s1 } = setup();
    const digest = h.tree.digest();
    const outcome = h.apply({
      type: 'createSession',
      sessionId: s1,
      timeoutMs: 5,
      password: new Uint8Array(16),
    });
    expect(sessionError(outcome).code).toBe('BadArguments');
    expect(h.tree.session(s1)?.timeoutMs).toBe(10_000);
    expect(h.tree.digest()).toBe(digest);
  });

  const reserved: ReadonlyArray<[string, bigint]> = [
    ['0 (no owner)', 0n],
    ['Long.MIN_VALUE (the container marker)', -(2n ** 63n)],
    ['one with high byte 0xFF (a TTL marker)', ttlOwner(42)],
    ['-1 (also high byte 0xFF)', -1n],
    ['one beyond 64 bits', 2n ** 64n],
    ['one below -2^63', -(2n ** 63n) - 1n],
  ];
  for (const [what, id] of reserved) {
    it(`refuses the session id ${what}, which ephemeralOwner could not name`, () => {
      const { h } = setup();
      const outcome = h.apply({
        type: 'createSession',
        sessionId: sessionId(id),
        timeoutMs: 1000,
        password: new Uint8Array(16),
      });
      expect(sessionError(outcome).code).toBe('BadArguments');
      expect(h.tree.session(sessionId(id))).toBeNull();
    });
  }

  it('accepts a negative id whose high byte is a server id up to 0xFE', () => {
    const { h } = setup();
    const id = BigInt.asIntN(64, 0xfe00_0000_0000_0001n);
    const session = h.openSession(id);
    expect(h.mustCreate(session, '/app/e', { mode: 'ephemeral' }).stat.ephemeralOwner).toBe(id);
  });

  it('refuses a timeout that is not a positive integer', () => {
    const { h } = setup();
    for (const timeoutMs of [0, -1, 1.5, Number.NaN]) {
      const outcome = h.apply({
        type: 'createSession',
        sessionId: sessionId(9n),
        timeoutMs,
        password: new Uint8Array(16),
      });
      expect(sessionError(outcome).code).toBe('BadArguments');
    }
  });
});

describe('sessions: closeSession', () => {
  for (const reason of ['close', 'expire'] as const) {
    it(`deletes the session's ephemerals in sorted order in the same txn (${reason})`, () => {
      const { h, s1, s2 } = setup();
      h.mustCreate(s1, '/app/z', { mode: 'ephemeral' });
      h.mustCreate(s1, '/b', { mode: 'ephemeral' });
      h.mustCreate(s1, '/app/a', { mode: 'ephemeral' });
      h.mustCreate(s1, '/app/kept');
      h.mustCreate(s2, '/app/other', { mode: 'ephemeral' });
      const outcome = h.apply({ type: 'closeSession', sessionId: s1, reason });
      expect(outcome.result).toEqual({ ok: true, type: 'closeSession' });
      expect(eventLines(outcome)).toEqual([
        'NodeDeleted /app/a',
        'NodeChildrenChanged /app',
        'NodeDeleted /app/z',
        'NodeChildrenChanged /app',
        'NodeDeleted /b',
        'NodeChildrenChanged /',
      ]);
      expect(outcome.events.every((event) => event.zxid === h.zxid)).toBe(true);
      expect(h.tree.getChildren('/app', s2)).toMatchObject({
        ok: true,
        value: { children: ['kept', 'other'] },
      });
      expect(h.stat('/app').pzxid).toBe(h.zxid);
      expect(h.tree.session(s1)).toBeNull();
      expect(h.tree.getEphemerals(s2, '/')).toEqual(['/app/other']);
    });
  }

  it('refuses every later txn of the closed session with SessionExpired', () => {
    const { h, s1 } = setup();
    h.mustCreate(s1, '/app/x');
    h.apply({ type: 'closeSession', sessionId: s1, reason: 'expire' });
    expect(opError(h.create(s1, '/app/y'))).toEqual({ code: 'SessionExpired' });
    expect(opError(h.setData(s1, '/app/x', bytes('1'))).code).toBe('SessionExpired');
    expect(opError(h.delete(s1, '/app/x')).code).toBe('SessionExpired');
    expect(opError(h.setACL(s1, '/app/x', OPEN)).code).toBe('SessionExpired');
    expect(h.multi(s1, []).result).toMatchObject({ ok: false, error: { code: 'SessionExpired' } });
    expect(
      sessionError(h.apply({ type: 'closeSession', sessionId: s1, reason: 'close' })).code,
    ).toBe('SessionExpired');
    expect(sessionError(h.apply({ type: 'addAuth', sessionId: s1, id: BOB })).code).toBe(
      'SessionExpired',
    );
  });

  it('closes a session without ephemerals with no events', () => {
    const { h, s2 } = setup();
    expect(h.apply({ type: 'closeSession', sessionId: s2, reason: 'close' }).events).toEqual([]);
  });

  it('does not resurrect: a recreated session id starts with no ephemerals', () => {
    const { h, s1 } = setup();
    h.mustCreate(s1, '/app/e', { mode: 'ephemeral' });
    h.apply({ type: 'closeSession', sessionId: s1, reason: 'close' });
    h.openSession(s1);
    expect(h.tree.getEphemerals(s1, '/')).toEqual([]);
    expect(h.tree.node('/app/e')).toBeUndefined();
  });
});

describe('sessions: addAuth and the auth scheme', () => {
  it('expands auth to the digest id the session added', () => {
    const { h, s1, s2 } = setup();
    expect(h.apply({ type: 'addAuth', sessionId: s1, id: BOB }).result).toEqual({
      ok: true,
      type: 'addAuth',
    });
    h.mustCreate(s1, '/app/mine', { acl: AUTH_ALL, data: bytes('secret') });
    expect(h.tree.getACL('/app/mine', s1)).toMatchObject({ ok: true, value: { acl: BOB_ONLY } });
    expect(h.tree.getData('/app/mine', s1).ok).toBe(true);
    expect(h.tree.getData('/app/mine', s2)).toEqual({
      ok: false,
      error: { code: 'NoAuth', path: '/app/mine' },
    });
    expect(opError(h.setData(s2, '/app/mine', bytes('x'))).code).toBe('NoAuth');
  });

  it('grants a second session that authenticates as the same id', () => {
    const { h, s1, s2 } = setup();
    h.apply({ type: 'addAuth', sessionId: s1, id: BOB });
    h.mustCreate(s1, '/app/mine', { acl: AUTH_ALL });
    h.apply({ type: 'addAuth', sessionId: s2, id: BOB });
    expect(h.setData(s2, '/app/mine', bytes('x')).result.ok).toBe(true);
  });

  it('expands auth to every authenticated id (digest and x509), keeping each once', () => {
    const { h, s1 } = setup();
    h.apply({ type: 'addAuth', sessionId: s1, id: BOB });
    h.apply({ type: 'addAuth', sessionId: s1, id: CERT });
    h.apply({ type: 'addAuth', sessionId: s1, id: BOB });
    expect(h.tree.session(s1)?.authIds).toEqual([BOB, CERT]);
    h.mustCreate(s1, '/app/mine', { acl: AUTH_ALL });
    expect(h.tree.getACL('/app/mine', s1)).toMatchObject({
      ok: true,
      value: {
        acl: [
          { perms: PERMS.ALL, id: BOB },
          { perms: PERMS.ALL, id: CERT },
        ],
      },
    });
  });

  it('does not expand auth to an ip id, which proves nothing about who the caller is', () => {
    const { h, s1 } = setup();
    h.apply({ type: 'addAuth', sessionId: s1, id: { scheme: 'ip', id: '10.0.0.1' } });
    expect(opError(h.create(s1, '/app/mine', { acl: AUTH_ALL })).code).toBe('InvalidACL');
  });

  it('refuses world, auth and an empty scheme as identities with AuthFailed', () => {
    const { h, s1 } = setup();
    for (const id of [
      { scheme: 'world', id: 'anyone' },
      { scheme: 'auth', id: '' },
      { scheme: '', id: 'x' },
    ]) {
      expect(sessionError(h.apply({ type: 'addAuth', sessionId: s1, id })).code).toBe('AuthFailed');
    }
    expect(h.tree.session(s1)?.authIds).toEqual([]);
  });
});

describe('ACLs on reads', () => {
  function sealed(): { h: Harness; s1: SessionId; s2: SessionId } {
    const fixture = setup();
    fixture.h.apply({ type: 'addAuth', sessionId: fixture.s1, id: BOB });
    fixture.h.mustCreate(fixture.s1, '/app/sealed', { acl: BOB_ONLY, data: bytes('s') });
    fixture.h.mustCreate(fixture.s1, '/app/sealed/child');
    return fixture;
  }

  it('NoAuth on getData, getChildren, exists and getACL without READ', () => {
    const { h, s2 } = sealed();
    const noAuth = { ok: false, error: { code: 'NoAuth', path: '/app/sealed' } };
    expect(h.tree.getData('/app/sealed', s2)).toEqual(noAuth);
    expect(h.tree.getChildren('/app/sealed', s2)).toEqual(noAuth);
    expect(h.tree.exists('/app/sealed', s2)).toEqual(noAuth);
    expect(h.tree.getACL('/app/sealed', s2)).toEqual(noAuth);
    expect(h.tree.getAllChildrenNumber('/app/sealed', s2)).toEqual(noAuth);
    expect(h.tree.canRead(s2, '/app/sealed')).toBe(false);
  });

  it('treats a null or unknown reader as world:anyone', () => {
    const { h } = sealed();
    expect(h.tree.getData('/app/sealed', null).ok).toBe(false);
    expect(h.tree.getData('/app/sealed', sessionId(12345n)).ok).toBe(false);
    expect(h.tree.getData('/app', null).ok).toBe(true);
  });

  it('exists on a missing node is null, whatever the parent’s ACL', () => {
    const { h, s2 } = sealed();
    expect(h.tree.exists('/app/sealed/none', s2)).toEqual({ ok: true, value: null });
  });

  it('lets the owner read everything', () => {
    const { h, s1 } = sealed();
    expect(h.tree.getData('/app/sealed', s1).ok).toBe(true);
    expect(h.tree.getChildren('/app/sealed', s1)).toMatchObject({
      ok: true,
      value: { children: ['child'] },
    });
    expect(h.tree.canRead(s1, '/app/sealed')).toBe(true);
  });

  it('masks digest hashes in getACL for a reader with READ but not ADMIN', () => {
    const { h, s1, s2 } = setup();
    h.apply({ type: 'addAuth', sessionId: s1, id: BOB });
    const acl: Acl[] = [
      { perms: PERMS.READ, id: { scheme: 'world', id: 'anyone' } },
      { perms: PERMS.ALL, id: BOB },
    ];
    h.mustCreate(s1, '/app/mixed', { acl });
    expect(h.tree.getACL('/app/mixed', s2)).toMatchObject({
      ok: true,
      value: { acl: [acl[0], { perms: PERMS.ALL, id: { scheme: 'digest', id: 'bob:x' } }] },
    });
    expect(h.tree.getACL('/app/mixed', s1)).toMatchObject({ ok: true, value: { acl } });
  });

  it('answers getACL with ADMIN alone, unmasked', () => {
    const { h, s1, s2 } = setup();
    const acl: Acl[] = [
      { perms: PERMS.ADMIN, id: { scheme: 'world', id: 'anyone' } },
      { perms: PERMS.ALL, id: BOB },
    ];
    h.mustCreate(s1, '/app/admin', { acl });
    expect(h.tree.getACL('/app/admin', s2)).toMatchObject({ ok: true, value: { acl } });
    expect(h.tree.getData('/app/admin', s2).ok).toBe(false);
  });
});

describe('super users (options.superIds)', () => {
  it('pass every check once they hold a listed id, and only then', () => {
    const root = { scheme: 'digest', id: 'root:cm9vdA==' };
    const { h, s1, s2 } = setup({ superIds: [root] });
    h.apply({ type: 'addAuth', sessionId: s1, id: BOB });
    h.mustCreate(s1, '/app/sealed', { acl: BOB_ONLY, data: bytes('s') });
    expect(opError(h.setData(s2, '/app/sealed', bytes('x'))).code).toBe('NoAuth');
    h.apply({ type: 'addAuth', sessionId: s2, id: root });
    expect(h.tree.getData('/app/sealed', s2).ok).toBe(true);
    expect(h.tree.getACL('/app/sealed', s2)).toMatchObject({ ok: true, value: { acl: BOB_ONLY } });
    expect(okOp(h.setData(s2, '/app/sealed', bytes('x')))).toMatchObject({ stat: { version: 1 } });
    expect(h.create(s2, '/app/sealed/c').result.ok).toBe(true);
    expect(h.delete(s2, '/app/sealed/c').result.ok).toBe(true);
    expect(h.setACL(s2, '/app/sealed', OPEN).result.ok).toBe(true);
  });

  it('do not pass NodeExists, NotEmpty, BadVersion or the read-only /zookeeper subtree', () => {
    const root = { scheme: 'digest', id: 'root:cm9vdA==' };
    const { h, s1 } = setup({ superIds: [root] });
    h.apply({ type: 'addAuth', sessionId: s1, id: root });
    h.mustCreate(s1, '/app/x');
    expect(opError(h.create(s1, '/app/x')).code).toBe('NodeExists');
    expect(opError(h.delete(s1, '/app')).code).toBe('NotEmpty');
    expect(opError(h.setData(s1, '/app', bytes('1'), 4)).code).toBe('BadVersion');
    expect(opError(h.setData(s1, '/zookeeper/config', bytes('1'))).code).toBe('BadArguments');
  });
});
