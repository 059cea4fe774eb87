import type { OpError } from './types.js';

/**
 * Znode paths, with ZooKeeper's rules to the letter (`PathUtils.validatePath`, RELIABILITY.md
 * §3.1). Paths are scanned as UTF-16 code units, as Java's `char` is: every character outside
 * the BMP is rejected because its surrogate halves fall in U+D800–U+DFFF.
 *
 * Only `validatePath` checks its input. The other helpers expect a path it accepted (or, for
 * `parentOf`/`nameOf`, the sequential prefix it accepted) and stay total on anything else.
 */

/** The root of the tree, and the only path that may end in `/`. */
export const ROOT_PATH = '/';
/** Holds `/zookeeper/config` and `/zookeeper/quota`; clients may not create or delete there. */
export const RESERVED_PATH = '/zookeeper';
/** The sequence counter is a Java `int` kept per parent (its `cversion`), so it wraps here. */
export const SEQUENCE_COUNTER_MAX = 2_147_483_647;

/**
 * `null` if ZooKeeper accepts `path`, else `{ code: 'BadArguments', path }` (the server's
 * answer, PrepRequestProcessor.validatePath → BADARGUMENTS). A sequential create checks
 * `path + '1'`, as ZooKeeper does, so its prefix may end in `/` (`/q/` makes `/q/0000000001`).
 * Total: any value, even one that is not a string, gives a verdict rather than a throw, because
 * the state machine re-validates entries that another version may have written.
 */
export function validatePath(path: string, isSequential: boolean): OpError | null {
  if (typeof path !== 'string') return { code: 'BadArguments' };
  return explainInvalidPath(path, isSequential) === null ? null : { code: 'BadArguments', path };
}

/**
 * Why ZooKeeper rejects `path`, in its own words ("Path must start with / character"), or
 * `null` if it accepts it. For the messages of the client API; decisions use `validatePath`.
 */
export function explainInvalidPath(path: string, isSequential: boolean): string | null {
  if (typeof path !== 'string') return 'Path cannot be null';
  const checked = isSequential ? `${path}1` : path;
  if (checked.length === 0) return 'Path length must be > 0';
  if (checked.charCodeAt(0) !== SLASH) return 'Path must start with / character';
  if (checked.length === 1) return null;
  if (checked.charCodeAt(checked.length - 1) === SLASH) return 'Path must not end with / character';
  const at = firstInvalidUnit(checked);
  return at === null ? null : `Invalid path string "${checked}" caused by ${at}`;
}

/** The parent of a valid path; the root is its own parent. `/q/` (a sequential prefix) → `/q`. */
export function parentOf(path: string): string {
  const lastSlash = path.lastIndexOf('/');
  return lastSlash <= 0 ? ROOT_PATH : path.slice(0, lastSlash);
}

/** The last segment of a valid path: `/a/b` → `b`; the root's name is `''`. */
export function nameOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** The child `name` of `parent`: `joinPath('/', 'a')` → `/a`, `joinPath('/a', 'b')` → `/a/b`. */
export function joinPath(parent: string, name: string): string {
  return parent === ROOT_PATH ? `/${name}` : `${parent}/${name}`;
}

/**
 * The path a sequential create makes: `path` plus Java's `String.format("%010d", counter)`.
 * The counter is reduced to a signed 32-bit int first, as Java's `int` arithmetic would, so
 * after 2147483647 comes -2147483648. Java pads negatives after the sign to width 10 in all:
 * -5 → `-000000005`, and -2147483648 (11 characters) is not padded.
 */
export function sequentialName(path: string, counter: number): string {
  return path + formatSequence(counter);
}

/** `%010d` of `counter` as a Java `int`; see `sequentialName`. */
export function formatSequence(counter: number): string {
  const value = counter | 0;
  if (value >= 0) return String(value).padStart(SEQUENCE_WIDTH, '0');
  return `-${String(-value).padStart(SEQUENCE_WIDTH - 1, '0')}`;
}

/**
 * `/zookeeper` and everything under it. Stricter than ZooKeeper, which refuses to create or
 * delete only `/zookeeper`, `/zookeeper/quota` and `/zookeeper/config` themselves (its
 * `isSpecialPath`); Cairn keeps the whole subtree for its own use.
 */
export function isReservedPath(path: string): boolean {
  return path === RESERVED_PATH || path.startsWith(`${RESERVED_PATH}/`);
}

/** Whether `path` is `ancestor` or lies under it (segment-wise: `/ab` is not under `/a`). */
export function isAncestorOrSelf(ancestor: string, path: string): boolean {
  if (ancestor === path) return true;
  if (ancestor === ROOT_PATH) return path.startsWith(ROOT_PATH);
  return path.startsWith(`${ancestor}/`);
}

const SLASH = 0x2f;
const DOT = 0x2e;
const SEQUENCE_WIDTH = 10;

/**
 * The scan of `PathUtils.validatePath` after the first `/`: the first offending unit as
 * ZooKeeper words it, or `null`. `path` starts with `/`, has 2+ units and no trailing `/`.
 */
function firstInvalidUnit(path: string): string | null {
  for (let i = 1; i < path.length; i++) {
    const c = path.charCodeAt(i);
    const previous = path.charCodeAt(i - 1);
    if (c === 0) return `null character not allowed @${i}`;
    if (c === SLASH) {
      if (previous === SLASH) return `empty node name specified @${i}`;
    } else if (c === DOT) {
      if (isDotSegmentEnd(path, i)) return `relative paths not allowed @${i}`;
    } else if (isForbiddenUnit(c)) {
      return `invalid character @${i}`;
    }
  }
  return null;
}

/** `path[i]` is a `.` that ends a `.` or `..` segment. */
function isDotSegmentEnd(path: string, i: number): boolean {
  const segmentEnds = i + 1 === path.length || path.charCodeAt(i + 1) === SLASH;
  if (!segmentEnds) return false;
  const previous = path.charCodeAt(i - 1);
  if (previous === SLASH) return true;
  return previous === DOT && path.charCodeAt(i - 2) === SLASH;
}

/** U+0001–U+001F, U+007F–U+009F, U+D800–U+F8FF (surrogates, private use), U+FFF0–U+FFFF. */
function isForbiddenUnit(c: number): boolean {
  return (
    (c >= 0x01 && c <= 0x1f) ||
    (c >= 0x7f && c <= 0x9f) ||
    (c >= 0xd800 && c <= 0xf8ff) ||
    (c >= 0xfff0 && c <= 0xffff)
  );
}
