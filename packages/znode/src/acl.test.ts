// Proves that acl.ts decides as ZooKeeper does: validateAndFixAcl follows
// PrepRequestProcessor.fixupACL (InvalidACL for every malformed input, `auth` expanded to the
// session's digest and x509 ids only, duplicates removed, a fresh list returned), checkPermission
// follows ZooKeeperServer.checkACL (super users, empty ACLs, perm bits, world, digest, x509, ip
// prefixes), and maskAclForRead hides digest hashes from callers without ADMIN as
// FinalRequestProcessor does (Java's `replaceAll(":.*", ":x")`, line terminators included).
// Properties (seeded) show checkPermission is monotonic: more ACL entries or more session ids
// never take a permission away, and a session that passes for a bit passes for any request
// containing that bit. internAcl is shown to give one frozen list per distinct ACL, and
// fixAndInternAcl (its cache by input) to answer exactly as validateAndFixAcl then internAcl.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ACL_INPUT_CACHE_ENTRIES_MAX,
  aclKey,
  CREATOR_ALL_ACL,
  checkPermission,
  fixAndInternAcl,
  internAcl,
  internedAclCount,
  maskAclForRead,
  OPEN_ACL_UNSAFE,
  READ_ACL_UNSAFE,
  validateAndFixAcl,
} from './acl.js';
import { type Acl, type Id, PERMS } from './types.js';

const seed = Number(process.env.CAIRN_SEED ?? 1);

const { READ, WRITE, CREATE, DELETE, ADMIN, ALL } = PERMS;
const id = (scheme: string, name: string): Id => ({ scheme, id: name });
const entry = (perms: number, scheme: string, name: string): Acl => ({
  perms,
  id: id(scheme, name),
});

const BOB = id('digest', 'bob:Ad4x7cVqHMlm6yqD1Zs5pZuRe3c=');
const EVE = id('digest', 'eve:Vvpxzt6Gz5NDcGq+1JP+0lVvGWA=');
const CERT = id('x509', 'CN=client,O=Cairn');
const LOCAL_IP = id('ip', '10.1.2.3');
const SUPER = id('super', '');

function fixed(acl: readonly Acl[], authIds: readonly Id[] = []): Acl[] {
  const result = validateAndFixAcl(acl, authIds);
  if (!result.ok) throw new Error(`expected a valid ACL, got ${result.error.code}`);
  return result.acl;
}

function invalid(acl: readonly unknown[], authIds: readonly Id[] = []): boolean {
  const result = validateAndFixAcl(acl as readonly Acl[], authIds);
  return !result.ok && result.error.code === 'InvalidACL' && result.error.path === undefined;
}

describe('built-in ACLs', () => {
  it('match ZooKeeper: open, creator-all and read-only', () => {
    expect(OPEN_ACL_UNSAFE).toEqual([entry(ALL, 'world', 'anyone')]);
    expect(CREATOR_ALL_ACL).toEqual([entry(ALL, 'auth', '')]);
    expect(READ_ACL_UNSAFE).toEqual([entry(READ, 'world', 'anyone')]);
  });

  it('are frozen and already interned', () => {
    expect(Object.isFrozen(OPEN_ACL_UNSAFE)).toBe(true);
    expect(Object.isFrozen(OPEN_ACL_UNSAFE[0])).toBe(true);
    expect(internAcl(OPEN_ACL_UNSAFE)).toBe(OPEN_ACL_UNSAFE);
    expect(internAcl([entry(ALL, 'world', 'anyone')])).toBe(OPEN_ACL_UNSAFE);
  });
});

describe('validateAndFixAcl', () => {
  it('keeps a valid list as it is', () => {
    const acl = [
      entry(READ, 'world', 'anyone'),
      entry(ALL, 'digest', BOB.id),
      entry(ADMIN, 'ip', '10.0.0.0/8'),
    ];
    expect(fixed(acl)).toEqual(acl);
  });

  it('rejects an empty list, and anything that is not a list', () => {
    expect(invalid([])).toBe(true);
    expect(invalid(null as unknown as unknown[])).toBe(true);
    expect(invalid('world:anyone' as unknown as unknown[])).toBe(true);
  });

  it.each([
    ['an unknown scheme', entry(ALL, 'kerberos', 'bob')],
    ['super, which is no ACL scheme', entry(ALL, 'super', '')],
    ['sasl, which Cairn does not support', entry(ALL, 'sasl', 'bob@REALM')],
    ['a scheme in the wrong case', entry(ALL, 'World', 'anyone')],
    ['world with another id', entry(ALL, 'world', 'everyone')],
    ['world with an empty id', entry(ALL, 'world', '')],
    ['a digest without a colon', entry(ALL, 'digest', 'bob')],
    ['a digest ending in a colon', entry(ALL, 'digest', 'bob:')],
    ['a digest with three parts', entry(ALL, 'digest', 'a:b:c')],
    ['a digest of two colons after a name', entry(ALL, 'digest', 'a::')],
    ['an empty digest', entry(ALL, 'digest', '')],
    ['a lone colon as digest', entry(ALL, 'digest', ':')],
    ['an ip without dots', entry(ALL, 'ip', '10')],
    ['an ip with a mask too wide', entry(ALL, 'ip', '10.0.0.0/33')],
    ['an ip octet over 255', entry(ALL, 'ip', '10.0.0.256')],
    ['an empty x509 name', entry(ALL, 'x509', '')],
    ['an x509 name with no attribute', entry(ALL, 'x509', 'client')],
    ['perms above ALL', entry(32, 'world', 'anyone')],
    ['negative perms', entry(-1, 'world', 'anyone')],
    ['fractional perms', entry(1.5, 'world', 'anyone')],
    ['NaN perms', entry(Number.NaN, 'world', 'anyone')],
  ])('rejects %s with InvalidACL', (_, bad) => {
    expect(invalid([bad])).toBe(true);
    expect(invalid([entry(ALL, 'world', 'anyone'), bad])).toBe(true);
  });

  it.each([
    ['a null entry', null],
    ['an entry without an id', { perms: ALL }],
    ['an id without a scheme', { perms: ALL, id: { id: 'anyone' } }],
    ['an id that is a number', { perms: ALL, id: { scheme: 'world', id: 7 } }],
    ['perms as a string', { perms: '31', id: { scheme: 'world', id: 'anyone' } }],
  ])('rejects %s from a decoded entry without throwing', (_, bad) => {
    expect(invalid([bad])).toBe(true);
  });

  it.each([
    ['user:hash', 'bob:hash'],
    ['an empty user name', ':hash'],
    ['a trailing colon after two parts (Java drops it)', 'a:b:'],
  ])('accepts a digest id with %s', (_, digest) => {
    expect(fixed([entry(ALL, 'digest', digest)])).toEqual([entry(ALL, 'digest', digest)]);
  });

  it('accepts perms 0, which grants nothing, as ZooKeeper does', () => {
    expect(fixed([entry(0, 'world', 'anyone')])).toEqual([entry(0, 'world', 'anyone')]);
  });

  it('accepts IPv6 and x509 entries', () => {
    expect(fixed([entry(READ, 'ip', 'fe80::/10'), entry(ALL, 'x509', CERT.id)])).toHaveLength(2);
  });

  it("expands auth to the session's digest and x509 ids, in session order, with the same perms", () => {
    const acl = fixed([entry(READ | WRITE, 'auth', 'ignored')], [LOCAL_IP, BOB, SUPER, CERT, EVE]);
    expect(acl).toEqual([
      { perms: READ | WRITE, id: BOB },
      { perms: READ | WRITE, id: CERT },
      { perms: READ | WRITE, id: EVE },
    ]);
  });

  it('expands CREATOR_ALL_ACL for an authenticated session', () => {
    expect(fixed(CREATOR_ALL_ACL, [BOB])).toEqual([{ perms: ALL, id: BOB }]);
  });

  it.each([
    ['no ids at all', []],
    ['only an ip id (ip does not authenticate)', [LOCAL_IP]],
    ['only a super id', [SUPER]],
    ['only world', [id('world', 'anyone')]],
    ['only an id of an unknown scheme', [id('kerberos', 'bob')]],
  ])('rejects auth for a session with %s', (_, authIds) => {
    expect(invalid([entry(ALL, 'auth', '')], authIds)).toBe(true);
  });

  it('removes duplicates, keeping the first of each', () => {
    const acl = fixed([
      entry(READ, 'world', 'anyone'),
      entry(ALL, 'digest', BOB.id),
      entry(READ, 'world', 'anyone'),
      entry(ADMIN, 'digest', BOB.id),
      entry(ALL, 'digest', BOB.id),
    ]);
    expect(acl).toEqual([
      entry(READ, 'world', 'anyone'),
      entry(ALL, 'digest', BOB.id),
      entry(ADMIN, 'digest', BOB.id),
    ]);
  });

  it('removes duplicates that auth expansion creates', () => {
    const acl = fixed(
      [entry(ALL, 'digest', BOB.id), entry(ALL, 'auth', ''), entry(ALL, 'auth', 'x')],
      [BOB],
    );
    expect(acl).toEqual([entry(ALL, 'digest', BOB.id)]);
  });

  it('returns a new list of new entries and leaves the input alone', () => {
    const input = [entry(ALL, 'world', 'anyone'), entry(ALL, 'auth', '')];
    const before = structuredClone(input);
    const acl = fixed(input, [BOB]);
    expect(acl).not.toBe(input);
    expect(acl[0]).not.toBe(input[0]);
    expect(acl[0]?.id).not.toBe(input[0]?.id);
    expect(acl[1]?.id).not.toBe(BOB);
    expect(input).toEqual(before);
  });

  it('drops fields that are not part of an ACL entry', () => {
    const decorated = { perms: READ, id: { scheme: 'world', id: 'anyone', extra: 1 }, note: 'x' };
    expect(fixed([decorated as unknown as Acl])).toEqual([entry(READ, 'world', 'anyone')]);
  });
});

describe('checkPermission', () => {
  const world = [entry(READ, 'world', 'anyone')];
  const bobAll = [entry(ALL, 'digest', BOB.id)];

  it('lets the super user through whatever the ACL', () => {
    expect(checkPermission(bobAll, WRITE, [], true)).toBe(true);
    expect(checkPermission(bobAll, WRITE, [SUPER], false)).toBe(true);
    expect(checkPermission(bobAll, WRITE, [EVE, SUPER], false)).toBe(true);
  });

  it('lets everyone through an empty ACL', () => {
    expect(checkPermission([], ADMIN, [], false)).toBe(true);
  });

  it('grants world:anyone only the bits it carries', () => {
    expect(checkPermission(world, READ, [], false)).toBe(true);
    expect(checkPermission(world, WRITE, [], false)).toBe(false);
    expect(checkPermission(world, CREATE, [BOB], false)).toBe(false);
  });

  it('passes a request of several bits when any one is granted, and never a request of none', () => {
    const adminOnly = [entry(ADMIN, 'world', 'anyone')];
    expect(checkPermission(adminOnly, READ | ADMIN, [], false)).toBe(true);
    expect(checkPermission(adminOnly, READ | WRITE, [], false)).toBe(false);
    expect(checkPermission(OPEN_ACL_UNSAFE, 0, [], false)).toBe(false);
    expect(checkPermission(OPEN_ACL_UNSAFE, 0, [], true)).toBe(true);
  });

  it('matches digest ids exactly', () => {
    expect(checkPermission(bobAll, DELETE, [BOB], false)).toBe(true);
    expect(checkPermission(bobAll, DELETE, [EVE], false)).toBe(false);
    expect(checkPermission(bobAll, DELETE, [id('digest', 'bob:other')], false)).toBe(false);
    expect(checkPermission(bobAll, DELETE, [id('digest', 'bob')], false)).toBe(false);
  });

  it('matches only within the same scheme', () => {
    expect(checkPermission(bobAll, READ, [id('x509', BOB.id)], false)).toBe(false);
    expect(checkPermission([entry(ALL, 'x509', CERT.id)], READ, [CERT], false)).toBe(true);
    expect(
      checkPermission([entry(ALL, 'x509', CERT.id)], READ, [id('digest', CERT.id)], false),
    ).toBe(false);
  });

  it('matches ip entries by prefix against the session address', () => {
    const lan = [entry(READ, 'ip', '10.0.0.0/8')];
    expect(checkPermission(lan, READ, [LOCAL_IP], false)).toBe(true);
    expect(checkPermission(lan, READ, [id('ip', '11.0.0.1')], false)).toBe(false);
    expect(checkPermission(lan, READ, [id('digest', '10.1.2.3')], false)).toBe(false);
    expect(checkPermission([entry(READ, 'ip', '10.1.2.3/32')], READ, [LOCAL_IP], false)).toBe(true);
    expect(checkPermission([entry(READ, 'ip', '10.1.2.4')], READ, [LOCAL_IP], false)).toBe(false);
    expect(checkPermission([entry(READ, 'ip', '10.0.0.0/40')], READ, [LOCAL_IP], false)).toBe(
      false,
    );
  });

  it('finds the matching entry anywhere in the list', () => {
    const acl = [
      entry(READ, 'digest', EVE.id),
      entry(WRITE, 'ip', '192.168.0.0/16'),
      entry(WRITE, 'digest', BOB.id),
    ];
    expect(checkPermission(acl, WRITE, [LOCAL_IP, BOB], false)).toBe(true);
    expect(checkPermission(acl, WRITE, [LOCAL_IP, EVE], false)).toBe(false);
  });

  it('never matches auth entries, unknown schemes, or a malformed session id', () => {
    expect(checkPermission([entry(ALL, 'auth', '')], READ, [BOB], false)).toBe(false);
    expect(
      checkPermission([entry(ALL, 'kerberos', 'bob')], READ, [id('kerberos', 'bob')], false),
    ).toBe(false);
    expect(
      checkPermission([entry(ALL, 'ip', '0.0.0.0/0')], READ, [{ scheme: 'ip' } as Id], false),
    ).toBe(false);
  });
});

const schemes = fc.constantFrom('world', 'digest', 'ip', 'x509', 'auth', 'other');
const names = fc.constantFrom(
  'anyone',
  BOB.id,
  EVE.id,
  '10.0.0.0/8',
  '10.1.2.3',
  '0.0.0.0/0',
  CERT.id,
  '',
);
const anyId = fc.record({ scheme: fc.oneof(schemes, fc.constant('super')), id: names });
const anyEntry = fc.record({
  perms: fc.integer({ min: 0, max: ALL }),
  id: fc.record({ scheme: schemes, id: names }),
});
const anyAcl = fc.array(anyEntry, { maxLength: 5 });
const anyIds = fc.array(anyId, { maxLength: 4 });
const anyPerm = fc.integer({ min: 0, max: ALL });

describe(`checkPermission properties (seed ${seed})`, () => {
  it('never takes a permission away when the ACL gains an entry', () => {
    fc.assert(
      fc.property(anyAcl, anyEntry, anyIds, anyPerm, (acl, extra, authIds, perm) => {
        if (acl.length === 0) return;
        if (checkPermission(acl, perm, authIds, false)) {
          expect(checkPermission([...acl, extra], perm, authIds, false)).toBe(true);
          expect(checkPermission([extra, ...acl], perm, authIds, false)).toBe(true);
        }
      }),
      { seed, numRuns: 1000 },
    );
  });

  it('never takes a permission away when the session gains an id', () => {
    fc.assert(
      fc.property(anyAcl, anyIds, anyId, (acl, authIds, extra) => {
        for (const perm of [READ, WRITE, CREATE, DELETE, ADMIN]) {
          if (checkPermission(acl, perm, authIds, false)) {
            expect(checkPermission(acl, perm, [...authIds, extra], false)).toBe(true);
          }
        }
      }),
      { seed, numRuns: 1000 },
    );
  });

  it('passes a request of several bits exactly when it passes one of them', () => {
    fc.assert(
      fc.property(anyAcl, anyIds, anyPerm, (acl, authIds, perm) => {
        const bits = [READ, WRITE, CREATE, DELETE, ADMIN].filter((bit) => (perm & bit) !== 0);
        const anyBit = bits.some((bit) => checkPermission(acl, bit, authIds, false));
        expect(checkPermission(acl, perm, authIds, false)).toBe(
          acl.length === 0 || authIds.some((i) => i.scheme === 'super') || anyBit,
        );
      }),
      { seed, numRuns: 1000 },
    );
  });

  it('grants what fixup stored for the creating session under auth', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(BOB, EVE, CERT, LOCAL_IP), { maxLength: 4 }),
        anyPerm,
        (authIds, perms) => {
          const result = validateAndFixAcl([entry(perms, 'auth', '')], authIds);
          const authenticated = authIds.some((i) => i.scheme !== 'ip');
          expect(result.ok).toBe(authenticated);
          if (result.ok && perms !== 0)
            expect(checkPermission(result.acl, perms, authIds, false)).toBe(true);
        },
      ),
      { seed, numRuns: 500 },
    );
  });
});

describe('maskAclForRead', () => {
  const acl = [
    entry(ALL, 'digest', BOB.id),
    entry(READ, 'world', 'anyone'),
    entry(ADMIN, 'ip', '10.0.0.0/8'),
  ];

  it('shows everything to a caller with ADMIN, as the same list', () => {
    expect(maskAclForRead(acl, true)).toBe(acl);
  });

  it('hides digest hashes from a caller without ADMIN and leaves other entries alone', () => {
    const masked = maskAclForRead(acl, false);
    expect(masked).toEqual([entry(ALL, 'digest', 'bob:x'), acl[1], acl[2]]);
    expect(masked[1]).toBe(acl[1]);
    expect(acl[0]?.id.id).toBe(BOB.id);
  });

  it('returns the same list when there is no digest entry', () => {
    expect(maskAclForRead(OPEN_ACL_UNSAFE, false)).toBe(OPEN_ACL_UNSAFE);
  });

  it.each([
    ['user:hash', 'user:x'],
    [':hash', ':x'],
    ['a:b:', 'a:x'],
    ['nocolon', 'nocolon'],
    ['a:b\nc:d', 'a:x\nc:x'],
    ['a:b\rc', 'a:x\rc'],
    ['a:b\u0085c:d', 'a:x\u0085c:x'],
    ['a:b\u2028c', 'a:x\u2028c'],
    ['a:b\u2029c', 'a:x\u2029c'],
    ['a:b\u000bc', 'a:x'],
  ])('masks %j as Java\'s replaceAll(":.*", ":x") does: %j', (digest, shown) => {
    expect(maskAclForRead([entry(READ, 'digest', digest)], false)).toEqual([
      entry(READ, 'digest', shown),
    ]);
  });
});

describe('internAcl', () => {
  it('gives one frozen list for equal ACLs', () => {
    const a = internAcl([entry(READ, 'digest', 'intern:a'), entry(ALL, 'world', 'anyone')]);
    const b = internAcl([entry(READ, 'digest', 'intern:a'), entry(ALL, 'world', 'anyone')]);
    expect(b).toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
    expect(a.every((e) => Object.isFrozen(e) && Object.isFrozen(e.id))).toBe(true);
    expect(internAcl(a)).toBe(a);
  });

  it('tells apart lists that differ in order, perms or id', () => {
    const base = [entry(READ, 'digest', 'intern:b'), entry(ALL, 'world', 'anyone')];
    const lists = [
      base,
      [base[1] as Acl, base[0] as Acl],
      [entry(WRITE, 'digest', 'intern:b'), entry(ALL, 'world', 'anyone')],
      [entry(READ, 'digest', 'intern:c'), entry(ALL, 'world', 'anyone')],
      [entry(READ, 'digest', 'intern:b')],
    ];
    expect(new Set(lists.map(internAcl)).size).toBe(lists.length);
  });

  it('keeps a copy, not the caller list or entries', () => {
    const input = [entry(READ, 'digest', 'intern:d')];
    const interned = internAcl(input);
    expect(interned).not.toBe(input);
    expect(interned[0]).not.toBe(input[0]);
    expect(interned).toEqual(input);
  });

  it('holds one entry per distinct list', () => {
    const before = internedAclCount();
    internAcl([entry(READ, 'digest', 'intern:e')]);
    internAcl([entry(READ, 'digest', 'intern:e')]);
    internAcl([entry(WRITE, 'digest', 'intern:e')]);
    expect(internedAclCount()).toBe(before + 2);
  });

  it('treats -0 perms as 0', () => {
    const zero = internAcl([entry(0, 'digest', 'intern:f')]);
    expect(internAcl([entry(-0, 'digest', 'intern:f')])).toBe(zero);
    expect(Object.is(zero[0]?.perms, 0)).toBe(true);
    expect(Object.is(internAcl([entry(-0, 'digest', 'intern:g')])[0]?.perms, 0)).toBe(true);
  });

  it('keys lists unambiguously, whatever characters ids hold', () => {
    expect(aclKey([entry(1, 'a', 'b","c')])).not.toBe(
      aclKey([entry(1, 'a', 'b'), entry(1, 'c', '')]),
    );
  });
});

describe(`fixAndInternAcl (seed ${seed})`, () => {
  /** The uncached answer: fixup, then the interned list. */
  const direct = (acl: readonly Acl[], authIds: readonly Id[]): unknown => {
    const result = validateAndFixAcl(acl, authIds);
    return result.ok ? { ok: true, acl: internAcl(result.acl) } : result;
  };

  it('answers as validateAndFixAcl then internAcl, first time, cached, and for other sessions', () => {
    fc.assert(
      fc.property(anyAcl, anyIds, anyIds, (acl, authIds, otherIds) => {
        for (const ids of [authIds, authIds, otherIds]) {
          const answer = fixAndInternAcl(acl, ids);
          const expected = direct(acl, ids) as { ok: boolean; acl?: readonly Acl[] };
          expect(answer).toEqual(expected);
          // The very list internAcl hands out: snapshots number ACLs by identity.
          if (answer.ok) expect(answer.acl).toBe(expected.acl);
        }
      }),
      { seed, numRuns: 500 },
    );
  });

  it('expands auth per session, never from a cached answer', () => {
    const acl = [entry(ALL, 'auth', '')];
    expect(fixAndInternAcl(acl, [BOB])).toEqual({ ok: true, acl: [entry(ALL, 'digest', BOB.id)] });
    expect(fixAndInternAcl(acl, [EVE])).toEqual({ ok: true, acl: [entry(ALL, 'digest', EVE.id)] });
    expect(fixAndInternAcl(acl, []).ok).toBe(false);
  });

  it('treats -0 perms as 0 and malformed input as InvalidACL', () => {
    const zero = fixAndInternAcl([entry(0, 'digest', 'cache:a')], []);
    expect(fixAndInternAcl([entry(-0, 'digest', 'cache:a')], [])).toBe(zero);
    expect(fixAndInternAcl([{ perms: 1 } as unknown as Acl], []).ok).toBe(false);
    expect(fixAndInternAcl(null as unknown as Acl[], []).ok).toBe(false);
  });

  it('keeps answering right after its cache fills and is emptied', () => {
    const first = fixAndInternAcl([entry(READ, 'digest', 'cache:first')], []);
    for (let i = 0; i <= ACL_INPUT_CACHE_ENTRIES_MAX; i++)
      fixAndInternAcl([entry(READ, 'digest', `cache:${i}`)], []);
    const again = fixAndInternAcl([entry(READ, 'digest', 'cache:first')], []);
    expect(again).toEqual(first);
    expect(again.ok && first.ok && again.acl).toBe(first.ok && first.acl);
  });
});
