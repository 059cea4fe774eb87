import { ipAclMatches, isValidIpAcl } from './acl-ip.js';
import { type Acl, type Id, type OpError, PERMS } from './types.js';

/**
 * ACLs as ZooKeeper decides them: `validateAndFixAcl` is PrepRequestProcessor.fixupACL (what a
 * create or setACL may store), `checkPermission` is ZooKeeperServer.checkACL (what a session
 * may do), `maskAclForRead` is FinalRequestProcessor's getACL masking. All pure, so every
 * replica decides the same at apply time (RELIABILITY.md §7.2: check ACLs in the state machine).
 *
 * Schemes Cairn knows: `world` (id `anyone` only), `auth` (expanded at fixup, never stored),
 * `digest` (`user:base64(sha1(user:password))`), `ip` (`addr[/bits]`, IPv4 or IPv6) and `x509`
 * (a certificate's X.500 name). `super` is an identity a session may hold, never an ACL scheme.
 */

/** `internAcl`'s table: canonical key → the one frozen list; and the lists it handed out. */
const interned = new Map<string, readonly Acl[]>();
const internedLists = new WeakSet<readonly Acl[]>();

/** `world:anyone`, the identity every session has. */
export const ANYONE_ID_UNSAFE: Id = Object.freeze({ scheme: 'world', id: 'anyone' });
/** `auth:`, replaced at fixup by the creating session's authenticated ids. */
export const AUTH_IDS: Id = Object.freeze({ scheme: 'auth', id: '' });
/** Anyone may do anything. */
export const OPEN_ACL_UNSAFE: readonly Acl[] = internAcl([
  { perms: PERMS.ALL, id: ANYONE_ID_UNSAFE },
]);
/** The creator's authenticated ids may do anything; InvalidACL for a session without one. */
export const CREATOR_ALL_ACL: readonly Acl[] = internAcl([{ perms: PERMS.ALL, id: AUTH_IDS }]);
/** Anyone may read. */
export const READ_ACL_UNSAFE: readonly Acl[] = internAcl([
  { perms: PERMS.READ, id: ANYONE_ID_UNSAFE },
]);

/** Schemes whose ids prove who a session is, so `auth` expands to them (`isAuthenticated()`). */
const AUTHENTICATED_SCHEMES: ReadonlySet<string> = new Set(['digest', 'x509']);

export type FixedAcl =
  | { readonly ok: true; readonly acl: Acl[] }
  | { readonly ok: false; readonly error: OpError };

const INVALID_ACL: FixedAcl = Object.freeze({
  ok: false,
  error: Object.freeze({ code: 'InvalidACL' }),
});

/**
 * What a create or setACL stores, or InvalidACL (no path; the caller adds it). InvalidACL for:
 * an empty list; an unknown scheme (including `super`); `world` with an id other than `anyone`;
 * `auth` when the session has no digest or x509 id; a `digest` id that Java's `id.split(":")`
 * does not cut in exactly two; an `ip` id that is not `addr[/bits]`; an empty `x509` id or one
 * with no `=`; perms that are not an integer in 0–31 (0 is allowed, as in ZooKeeper). Each
 * `auth` entry becomes one entry per authenticated id of the session, with the same perms.
 * Duplicates go, first one kept, and the result is a new list of new entries.
 */
export function validateAndFixAcl(acl: readonly Acl[], authIds: readonly Id[]): FixedAcl {
  if (!Array.isArray(acl) || acl.length === 0) return INVALID_ACL;
  const fixed: Acl[] = [];
  const seen = new Set<string>();
  for (const entry of acl as readonly unknown[]) {
    const expanded = fixEntry(entry, authIds);
    if (expanded === null) return INVALID_ACL;
    for (const candidate of expanded) {
      const key = entryKey(candidate);
      if (seen.has(key)) continue;
      seen.add(key);
      fixed.push(candidate);
    }
  }
  return { ok: true, acl: fixed };
}

/**
 * Whether a session with `authIds` may do `perm` (one or more PERMS bits: any one suffices, as
 * ZooKeeper tests `perms & perm`) on a node with `acl`. Super users pass: `superUser`, or any
 * id of scheme `super`. An empty ACL lets everyone through (ZooKeeper's rule; fixup never
 * stores one). Else an entry carrying the bit must match: `world:anyone`; or an id of the same
 * scheme, equal for `digest`/`x509`, inside the prefix for `ip`.
 */
export function checkPermission(
  acl: readonly Acl[],
  perm: number,
  authIds: readonly Id[],
  superUser: boolean,
): boolean {
  if (superUser || acl.length === 0) return true;
  if (authIds.some((id) => id.scheme === 'super')) return true;
  for (const entry of acl) {
    if ((entry.perms & perm) === 0) continue;
    if (entry.id.scheme === 'world' && entry.id.id === 'anyone') return true;
    if (authIds.some((id) => idMatches(id, entry.id))) return true;
  }
  return false;
}

/**
 * The ACL as getACL shows it. A caller without ADMIN sees each `digest` id with everything from
 * its first `:` replaced by `:x` (`bob:x`), so password hashes do not leak. This is ZooKeeper's
 * rule since CVE-2019-0201 (3.4.14/3.5.5, FinalRequestProcessor: `id.replaceAll(":.*", ":x")`);
 * Java's `.` stops at line terminators, and the class below copies that. The 3.8.4/3.9.2
 * change is a different one (exists() needs READ) and lives with the reads in tree.ts.
 * Returns `acl` itself when nothing needs masking.
 */
export function maskAclForRead(acl: readonly Acl[], canAdmin: boolean): readonly Acl[] {
  if (canAdmin || !acl.some((entry) => entry.id.scheme === 'digest')) return acl;
  return acl.map((entry) =>
    entry.id.scheme === 'digest'
      ? {
          perms: entry.perms,
          id: { scheme: 'digest', id: entry.id.id.replace(DIGEST_SECRET, ':x') },
        }
      : entry,
  );
}

/** Java's `:.*` without DOTALL: `.` matches anything but \n, \r, U+0085, U+2028, U+2029. */
const DIGEST_SECRET = /:[^\n\r\u0085\u2028\u2029]*/g;

/**
 * The one frozen copy of every ACL list equal to `acl` (same entries in the same order), so the
 * many znodes that share an ACL share one array, and equal ACLs are one object: the snapshot
 * writer numbers ACLs by identity. The cache lives for the process and is not bounded: it holds
 * one entry per distinct list ever interned, which real trees keep small. Evicting would break
 * "equal means identical" for lists still in use, so there is no limit to exceed.
 */
export function internAcl(acl: readonly Acl[]): readonly Acl[] {
  if (internedLists.has(acl)) return acl;
  const key = aclKey(acl);
  const known = interned.get(key);
  if (known !== undefined) return known;
  const frozen = Object.freeze(acl.map(copyEntry).map((entry) => Object.freeze(entry)));
  interned.set(key, frozen);
  internedLists.add(frozen);
  return frozen;
}

/** What `fixAndInternAcl` answers: the interned list a create or setACL stores, or InvalidACL. */
export type InternedAcl =
  | { readonly ok: true; readonly acl: readonly Acl[] }
  | { readonly ok: false; readonly error: OpError };

/**
 * How many inputs `fixAndInternAcl` remembers. A cache, not a table (the intern table keeps
 * identity), so when it is full it is simply emptied: a workload with more distinct ACL inputs
 * than this pays the full fixup again, and memory stays bounded whatever clients send.
 */
export const ACL_INPUT_CACHE_ENTRIES_MAX = 1024;

/** `fixAndInternAcl`'s cache: input key → the frozen answer for that input. */
const fixedByInput = new Map<string, InternedAcl>();

/**
 * `validateAndFixAcl` then `internAcl`, remembered by the input's content. Nearly every create
 * sends one of a few ACLs, decoded afresh each time, and the full fixup (copy each entry, key
 * it as JSON, dedupe, key the list again to intern it) cost a fifth of a create. The answer is
 * a pure function of the entries unless one uses the `auth` scheme, which expands to the
 * session's ids; such inputs, and malformed ones, are never remembered.
 */
export function fixAndInternAcl(acl: readonly Acl[], authIds: readonly Id[]): InternedAcl {
  const key = inputKey(acl);
  if (key !== null) {
    const known = fixedByInput.get(key);
    if (known !== undefined) return known;
  }
  const fixed = validateAndFixAcl(acl, authIds);
  if (!fixed.ok) return fixed;
  const answer: InternedAcl = Object.freeze({ ok: true, acl: internAcl(fixed.acl) });
  if (key !== null) {
    if (fixedByInput.size >= ACL_INPUT_CACHE_ENTRIES_MAX) fixedByInput.clear();
    fixedByInput.set(key, answer);
  }
  return answer;
}

/**
 * A text equal for inputs with equal entries (perms, scheme and id, in order), or null when
 * the answer may depend on more than that (an `auth` entry) or the input is not a list of
 * well-formed entries. Lengths go first, so no two distinct inputs share a key. `${perms}`
 * names -0 and 0 alike, which fixup treats alike too.
 */
function inputKey(acl: readonly Acl[]): string | null {
  if (!Array.isArray(acl)) return null;
  let key = '';
  for (const entry of acl as readonly unknown[]) {
    if (!isWellFormed(entry) || entry.id.scheme === 'auth') return null;
    const { scheme, id } = entry.id;
    key += `${entry.perms}:${scheme.length}:${scheme}${id.length}:${id};`;
  }
  return key;
}

/** How many distinct ACL lists `internAcl` holds. */
export function internedAclCount(): number {
  return interned.size;
}

/** A text equal for equal lists and different for different ones (order counts). */
export function aclKey(acl: readonly Acl[]): string {
  return JSON.stringify(acl.map((entry) => [entry.perms, entry.id.scheme, entry.id.id]));
}

function entryKey(entry: Acl): string {
  return JSON.stringify([entry.perms, entry.id.scheme, entry.id.id]);
}

/** One entry fixed up: a list (an `auth` entry may become several), or `null` if invalid. */
function fixEntry(entry: unknown, authIds: readonly Id[]): Acl[] | null {
  if (!isWellFormed(entry)) return null;
  const { perms, id } = entry;
  if (!Number.isInteger(perms) || perms < 0 || perms > PERMS.ALL) return null;
  if (id.scheme === 'auth') {
    const authenticated = authIds.filter(
      (authId) => AUTHENTICATED_SCHEMES.has(authId.scheme) && typeof authId.id === 'string',
    );
    if (authenticated.length === 0) return null;
    return authenticated.map((authId) => copyEntry({ perms, id: authId }));
  }
  return isValidId(id) ? [copyEntry(entry)] : null;
}

/** ZooKeeper's per-scheme `isValid` for the schemes Cairn knows. */
function isValidId(id: Id): boolean {
  switch (id.scheme) {
    case 'world':
      return id.id === 'anyone';
    case 'digest':
      return javaSplitLength(id.id, ':') === 2;
    case 'ip':
      return isValidIpAcl(id.id);
    case 'x509':
      // ZooKeeper parses an X.500 name (`new X500Principal(id)`); Cairn only asks for something
      // shaped like one (`CN=…`). A malformed name can do no harm: it matches no certificate.
      return id.id.length > 0 && id.id.includes('=');
    default:
      return false;
  }
}

/** Whether a session id grants an ACL entry's id (the provider's `matches`). */
function idMatches(authId: Id, aclId: Id): boolean {
  if (authId.scheme !== aclId.scheme || typeof authId.id !== 'string') return false;
  switch (aclId.scheme) {
    case 'digest':
    case 'x509':
      return authId.id === aclId.id;
    case 'ip':
      return ipAclMatches(authId.id, aclId.id);
    default:
      return false;
  }
}

/** `text.split(separator).length` in Java, which drops trailing empty strings. */
function javaSplitLength(text: string, separator: string): number {
  const parts = text.split(separator);
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts.length;
}

/** A fresh plain entry, so stored ACLs never alias a caller's objects; -0 becomes 0. */
function copyEntry(entry: Acl): Acl {
  const perms = entry.perms === 0 ? 0 : entry.perms;
  return { perms, id: Object.freeze({ scheme: entry.id.scheme, id: entry.id.id }) };
}

/** The shape of an ACL entry, checked at run time: entries may come from a decoded log entry. */
function isWellFormed(entry: unknown): entry is Acl {
  if (typeof entry !== 'object' || entry === null) return false;
  const { perms, id } = entry as { perms?: unknown; id?: unknown };
  if (typeof perms !== 'number' || typeof id !== 'object' || id === null) return false;
  const { scheme, id: name } = id as { scheme?: unknown; id?: unknown };
  return typeof scheme === 'string' && typeof name === 'string';
}
