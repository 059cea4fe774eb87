// Proves that create fails with ZooKeeper's codes (ZOOKEEPER.md §1.3, RELIABILITY.md §3.2-3.4)
// and, where two apply, with the one ZooKeeper checks first (PrepRequestProcessor
// .pRequest2TxnCreate: Unimplemented and the TTL range, then the path, InvalidACL from fixupACL,
// NoNode for the parent, NoAuth for CREATE on the parent, NodeExists, NoChildrenForEphemerals).
// Cairn checks the session first (a txn of an unknown session is SessionExpired whatever it
// holds), and data size with the path, before any lookup. Every failure is shown to change
// nothing: same digest, same parent Stat, no events.
import { type Acl, PERMS, type SessionId, sessionId, TTL_MS_MAX } from '@cairn/znode';
import { describe, expect, it } from 'vitest';
import { bytes, Harness, opError } from './harness.js';

const BOB = { scheme: 'digest', id: 'bob:GuOI5jBhZ0cxFRHiiMa0jJpLdOM=' };
const NO_CREATE: readonly Acl[] = [
  { perms: PERMS.ALL & ~PERMS.CREATE, id: { scheme: 'world', id: 'anyone' } },
];

function setup(options: ConstructorParameters<typeof Harness>[0] = {}): {
  h: Harness;
  s1: SessionId;
} {
  const h = new Harness(options);
  const s1 = h.openSession(1n);
  h.mustCreate(s1, '/app');
  return { h, s1 };
}

/** Applies a create that must fail; checks that it changed nothing and returns the error. */
function failCreate(
  h: Harness,
  ...args: Parameters<Harness['create']>
): { code: string; path?: string } {
  const digest = h.tree.digest();
  const size = h.tree.size();
  const outcome = h.create(...args);
  const error = opError(outcome);
  expect(h.tree.digest()).toBe(digest);
  expect(h.tree.size()).toBe(size);
  return error;
}

describe('create: each error code', () => {
  it('NoNode when the parent is missing, reporting the parent path', () => {
    const { h, s1 } = setup();
    expect(failCreate(h, s1, '/app/missing/child')).toEqual({
      code: 'NoNode',
      path: '/app/missing',
    });
    expect(failCreate(h, s1, '/nope/x-', { mode: 'persistent-sequential' })).toEqual({
      code: 'NoNode',
      path: '/nope',
    });
  });

  it('NodeExists for an existing path, leaving the parent untouched', () => {
    const { h, s1 } = setup();
    h.mustCreate(s1, '/app/a');
    const parent = h.stat('/app');
    expect(failCreate(h, s1, '/app/a')).toEqual({ code: 'NodeExists', path: '/app/a' });
    expect(h.stat('/app')).toEqual(parent);
  });

  it('NodeExists when a sequential name is already taken', () => {
    const { h, s1 } = setup();
    h.mustCreate(s1, '/app/x-0000000001');
    // cversion is 1 now, so the next sequential name is taken.
    expect(failCreate(h, s1, '/app/x-', { mode: 'persistent-sequential' })).toEqual({
      code: 'NodeExists',
      path: '/app/x-0000000001',
    });
  });

  it('NoChildrenForEphemerals under an ephemeral, in every mode', () => {
    const { h, s1 } = setup();
    h.mustCreate(s1, '/app/e', { mode: 'ephemeral' });
    for (const mode of ['persistent', 'ephemeral', 'container', 'persistent-sequential'] as const) {
      expect(failCreate(h, s1, '/app/e/c', { mode }).code).toBe('NoChildrenForEphemerals');
    }
    expect(failCreate(h, s1, '/app/e/c', { mode: 'persistent-with-ttl', ttlMs: 5 }).code).toBe(
      'NoChildrenForEphemerals',
    );
  });

  it('allows children under containers and TTL nodes (only session ephemerals are barren)', () => {
    const { h, s1 } = setup();
    h.mustCreate(s1, '/app/c', { mode: 'container' });
    h.mustCreate(s1, '/app/t', { mode: 'persistent-with-ttl', ttlMs: 5 });
    h.mustCreate(s1, '/app/c/x');
    h.mustCreate(s1, '/app/t/x', { mode: 'ephemeral' });
  });

  const badAcls: ReadonlyArray<[string, readonly Acl[]]> = [
    ['an empty ACL', []],
    ['an unknown scheme', [{ perms: PERMS.ALL, id: { scheme: 'kerberos', id: 'bob' } }]],
    [
      'world with an id other than anyone',
      [{ perms: PERMS.ALL, id: { scheme: 'world', id: 'bob' } }],
    ],
    [
      'auth from a session with no authenticated id',
      [{ perms: PERMS.ALL, id: { scheme: 'auth', id: '' } }],
    ],
    ['a digest id without a hash', [{ perms: PERMS.ALL, id: { scheme: 'digest', id: 'bob' } }]],
    ['perms above ALL', [{ perms: 32, id: { scheme: 'world', id: 'anyone' } }]],
  ];
  for (const [what, acl] of badAcls) {
    it(`InvalidACL for ${what}`, () => {
      const { h, s1 } = setup();
      expect(failCreate(h, s1, '/app/a', { acl })).toEqual({ code: 'InvalidACL', path: '/app/a' });
    });
  }

  it('NoAuth without CREATE on the parent, whatever else the parent grants', () => {
    const { h, s1 } = setup();
    h.mustCreate(s1, '/app/locked', { acl: NO_CREATE });
    expect(failCreate(h, s1, '/app/locked/a')).toEqual({ code: 'NoAuth', path: '/app/locked' });
  });

  it('needs CREATE on the parent only: the new node’s own ACL may deny the creator everything', () => {
    const { h, s1 } = setup();
    h.mustCreate(s1, '/app/a', { acl: [{ perms: PERMS.ALL, id: BOB }] });
  });

  const badPaths = [
    '',
    'app',
    '/app/',
    '//app',
    '/app//x',
    '/app/./x',
    '/app/../x',
    '/app/\u0000',
    '/app/\u0001',
  ];
  for (const path of badPaths) {
    it(`BadArguments for the invalid path ${JSON.stringify(path)}`, () => {
      const { h, s1 } = setup();
      expect(failCreate(h, s1, path).code).toBe('BadArguments');
    });
  }

  for (const path of ['/zookeeper', '/zookeeper/config', '/zookeeper/quota', '/zookeeper/new']) {
    it(`BadArguments for the reserved path ${path}, even though the node may exist`, () => {
      const { h, s1 } = setup();
      expect(failCreate(h, s1, path)).toEqual({ code: 'BadArguments', path });
    });
  }

  it('NodeExists for a plain create of / (the root exists), as ZooKeeper answers', () => {
    const { h, s1 } = setup();
    expect(failCreate(h, s1, '/')).toEqual({ code: 'NodeExists', path: '/' });
  });

  it('BadArguments for data over dataBytesMax; exactly the limit is fine', () => {
    const { h, s1 } = setup({ dataBytesMax: 4 });
    expect(failCreate(h, s1, '/app/big', { data: bytes('12345') })).toEqual({
      code: 'BadArguments',
      path: '/app/big',
    });
    expect(h.mustCreate(s1, '/app/fits', { data: bytes('1234') }).stat.dataLength).toBe(4);
  });

  it('limits data to 1 MiB by default', () => {
    const { h, s1 } = setup();
    expect(failCreate(h, s1, '/app/big', { data: new Uint8Array(1024 * 1024 + 1) }).code).toBe(
      'BadArguments',
    );
    expect(
      h.mustCreate(s1, '/app/fits', { data: new Uint8Array(1024 * 1024) }).stat.dataLength,
    ).toBe(1024 * 1024);
  });

  for (const ttlMs of [0, -1, TTL_MS_MAX + 1, 1.5, Number.NaN, undefined]) {
    it(`BadArguments for a TTL of ${String(ttlMs)} ms (EphemeralType.TTL accepts 1..2^40-1)`, () => {
      const { h, s1 } = setup();
      const options = ttlMs === undefined ? {} : { ttlMs };
      expect(failCreate(h, s1, '/app/t', { mode: 'persistent-with-ttl', ...options }).code).toBe(
        'BadArguments',
      );
      expect(
        failCreate(h, s1, '/app/t-', { mode: 'persistent-sequential-with-ttl', ...options }).code,
      ).toBe('BadArguments');
    });
  }

  it('BadArguments for a TTL given to a mode without one (EphemeralType.validateTTL)', () => {
    const { h, s1 } = setup();
    for (const mode of ['persistent', 'ephemeral', 'persistent-sequential', 'container'] as const) {
      expect(failCreate(h, s1, '/app/x', { mode, ttlMs: 1000 }).code).toBe('BadArguments');
    }
    // -1 is what a plain create carries on the wire: no TTL.
    h.mustCreate(s1, '/app/x', { ttlMs: -1 });
  });

  it('Unimplemented for the TTL modes when ttlEnabled is false; other modes still work', () => {
    const { h, s1 } = setup({ ttlEnabled: false });
    expect(failCreate(h, s1, '/app/t', { mode: 'persistent-with-ttl', ttlMs: 10 })).toEqual({
      code: 'Unimplemented',
      path: '/app/t',
    });
    expect(
      failCreate(h, s1, '/app/t-', { mode: 'persistent-sequential-with-ttl', ttlMs: 10 }).code,
    ).toBe('Unimplemented');
    h.mustCreate(s1, '/app/c', { mode: 'container' });
  });

  it('SessionExpired for a session the tree does not know, or one that closed', () => {
    const { h, s1 } = setup();
    expect(failCreate(h, sessionId(99n), '/app/a')).toEqual({ code: 'SessionExpired' });
    h.apply({ type: 'closeSession', sessionId: s1, reason: 'close' });
    expect(failCreate(h, s1, '/app/a')).toEqual({ code: 'SessionExpired' });
  });
});

describe('create: when two errors apply, the one ZooKeeper checks first wins', () => {
  it('SessionExpired beats everything else', () => {
    const { h } = setup({ ttlEnabled: false });
    expect(
      failCreate(h, sessionId(99n), '/missing/x', { acl: [], mode: 'persistent-with-ttl' }).code,
    ).toBe('SessionExpired');
  });

  it('Unimplemented beats an invalid path and a missing parent', () => {
    const { h, s1 } = setup({ ttlEnabled: false });
    expect(failCreate(h, s1, '/missing//x', { mode: 'persistent-with-ttl', ttlMs: 5 }).code).toBe(
      'Unimplemented',
    );
  });

  it('a TTL out of range (BadArguments) beats InvalidACL and NoNode', () => {
    const { h, s1 } = setup();
    expect(
      failCreate(h, s1, '/missing/x', { mode: 'persistent-with-ttl', ttlMs: 0, acl: [] }).code,
    ).toBe('BadArguments');
  });

  it('an invalid path beats InvalidACL', () => {
    const { h, s1 } = setup();
    expect(failCreate(h, s1, '/app//x', { acl: [] }).code).toBe('BadArguments');
  });

  it('data over the limit (BadArguments) beats InvalidACL and NoNode', () => {
    const { h, s1 } = setup({ dataBytesMax: 1 });
    expect(failCreate(h, s1, '/missing/x', { data: bytes('ab'), acl: [] }).code).toBe(
      'BadArguments',
    );
  });

  it('InvalidACL beats NoNode (fixupACL runs before the parent lookup)', () => {
    const { h, s1 } = setup();
    expect(failCreate(h, s1, '/missing/x', { acl: [] })).toEqual({
      code: 'InvalidACL',
      path: '/missing/x',
    });
  });

  it('InvalidACL beats NoAuth', () => {
    const { h, s1 } = setup();
    h.mustCreate(s1, '/app/locked', { acl: NO_CREATE });
    expect(failCreate(h, s1, '/app/locked/x', { acl: [] }).code).toBe('InvalidACL');
  });

  it('NoAuth beats NodeExists, so a caller without CREATE cannot probe for children', () => {
    const { h, s1 } = setup();
    h.mustCreate(s1, '/app/locked');
    h.mustCreate(s1, '/app/locked/x');
    expect(h.setACL(s1, '/app/locked', NO_CREATE).result.ok).toBe(true);
    expect(failCreate(h, s1, '/app/locked/x').code).toBe('NoAuth');
  });

  it('NoAuth beats NoChildrenForEphemerals', () => {
    const { h, s1 } = setup();
    h.mustCreate(s1, '/app/e', { mode: 'ephemeral', acl: NO_CREATE });
    expect(failCreate(h, s1, '/app/e/x').code).toBe('NoAuth');
  });

  it('a reserved path (BadArguments) beats NodeExists', () => {
    const { h, s1 } = setup();
    expect(failCreate(h, s1, '/zookeeper/quota').code).toBe('BadArguments');
  });

  it('lets a super user past NoAuth but not past NodeExists', () => {
    const h = new Harness({ superIds: [{ scheme: 'digest', id: 'root:hash' }] });
    const s1 = h.openSession(1n);
    h.mustCreate(s1, '/locked', { acl: NO_CREATE });
    h.apply({ type: 'addAuth', sessionId: s1, id: { scheme: 'digest', id: 'root:hash' } });
    h.mustCreate(s1, '/locked/x');
    expect(failCreate(h, s1, '/locked/x').code).toBe('NodeExists');
  });
});
