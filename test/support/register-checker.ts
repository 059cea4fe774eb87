// A linear-time linearizability check for versioned registers, for test/jepsen.test.ts.
//
// Each key is a znode written with setData (blind, or conditional on a version) and read with
// getData. ZooKeeper's version is a per-znode write counter, so every write that took effect
// owns exactly one version, and the versions totally order the writes of a key. That turns the
// NP-hard search into checks of what the history itself says:
//
// - every version is produced by one write at most, and a read of version v returns the value
//   that write wrote (v = 0: the initial value);
// - a write with an unknown outcome (timed out, connection lost, its member killed) may own a
//   version (then a read saw its unique value) or none;
// - the versions are gapless: versions nobody acknowledged are no more than the unknown writes;
// - a conditional write on version e that succeeded produced e + 1; one refused with BadVersion
//   did not run while e stood for its whole interval;
// - real time: if A returned before B was invoked, B's position is not before A's (a read's
//   position is the version it saw, a write's the version it made, which must be greater);
// - per session (the `session` field), reads that are only sequentially consistent (local
//   reads) never go back in version, and not behind the session's own acknowledged writes.
//
// Linearizability is local (Herlihy & Wing), so keys are checked one by one. Only operations
// with `linearizable: true` take part in the real-time rule; local reads get the session rule.

export interface RegisterOp {
  readonly id: number;
  readonly key: string;
  readonly session: string;
  readonly kind: 'read' | 'write';
  /** For a write: the version it was conditional on (-1: blind). */
  readonly expected: number;
  /** For a write: the value written (unique per write). For a read: the value read. */
  readonly value: string | null;
  /** Reads: linearizable (ReadIndex) or local (sequentially consistent); writes are linearizable. */
  readonly linearizable: boolean;
  readonly invokeMs: number;
  /** null when the outcome is unknown. */
  readonly returnMs: number | null;
  readonly outcome: 'ok' | 'fail' | 'unknown';
  /** ok write: the version made; ok read: the version seen; fail: the error code. */
  readonly version: number | null;
  readonly code: string | null;
}

export interface RegisterCheck {
  readonly violations: string[];
  readonly keys: number;
  readonly ops: number;
}

const describeOp = (op: RegisterOp): string =>
  `#${op.id} ${op.session} ${op.kind} ${op.key}${op.kind === 'write' ? ` expected=${op.expected}` : ''} value=${op.value} -> ${op.outcome}${op.version === null ? '' : ` v${op.version}`}${op.code === null ? '' : ` ${op.code}`} [${op.invokeMs.toFixed(1)}, ${op.returnMs === null ? '∞' : op.returnMs.toFixed(1)}]`;

/** Checks every key's history; `initial` is the value each key held at version 0. */
export function checkRegisters(ops: readonly RegisterOp[], initial: string): RegisterCheck {
  const byKey = new Map<string, RegisterOp[]>();
  for (const op of ops) {
    const list = byKey.get(op.key) ?? [];
    list.push(op);
    byKey.set(op.key, list);
  }
  const violations: string[] = [];
  for (const [key, list] of byKey) violations.push(...checkKey(key, list, initial));
  return { violations, keys: byKey.size, ops: ops.length };
}

function checkKey(key: string, ops: readonly RegisterOp[], initial: string): string[] {
  const violations: string[] = [];
  const writes = ops.filter((op) => op.kind === 'write');
  const writeByValue = new Map<string, RegisterOp>();
  for (const w of writes) {
    if (w.value === null) continue;
    if (writeByValue.has(w.value)) violations.push(`${key}: two writes of ${w.value}`);
    writeByValue.set(w.value, w);
  }
  // The write that made each version, and the version each write made.
  const maker = new Map<number, RegisterOp>();
  const made = new Map<RegisterOp, number>();
  const own = (w: RegisterOp, version: number, why: string): void => {
    const other = maker.get(version);
    if (other !== undefined && other !== w)
      violations.push(
        `${key} v${version}: made by ${describeOp(other)} and by ${describeOp(w)} (${why})`,
      );
    const before = made.get(w);
    if (before !== undefined && before !== version)
      violations.push(`${key}: ${describeOp(w)} made v${before} and v${version} (${why})`);
    maker.set(version, w);
    made.set(w, version);
  };
  for (const w of writes) {
    if (w.outcome !== 'ok' || w.version === null) continue;
    if (w.version < 1) violations.push(`${key}: ${describeOp(w)} made version ${w.version}`);
    if (w.expected >= 0 && w.version !== w.expected + 1)
      violations.push(`${key}: ${describeOp(w)} was conditional on v${w.expected}`);
    own(w, w.version, 'acknowledged');
  }
  // Reads name the write they saw.
  const reads = ops.filter((op) => op.kind === 'read' && op.outcome === 'ok');
  for (const r of reads) {
    const version = r.version as number;
    if (version === 0) {
      if (r.value !== initial)
        violations.push(`${key}: ${describeOp(r)} saw v0 but not ${initial}`);
      continue;
    }
    const w = r.value === null ? undefined : writeByValue.get(r.value);
    if (w === undefined) {
      violations.push(`${key}: ${describeOp(r)} saw a value nobody wrote`);
      continue;
    }
    if (w.outcome === 'fail') {
      violations.push(`${key}: ${describeOp(r)} saw the value of a refused write ${describeOp(w)}`);
      continue;
    }
    if (w.invokeMs > (r.returnMs ?? Number.POSITIVE_INFINITY))
      violations.push(`${key}: ${describeOp(r)} saw ${describeOp(w)} before it was invoked`);
    own(w, version, `read by #${r.id}`);
  }
  for (const [w, version] of made)
    if (w.expected >= 0 && version !== w.expected + 1)
      violations.push(`${key}: ${describeOp(w)} made v${version}, conditional on v${w.expected}`);
  // Gapless: each version up to the highest made is owned by a write, or by an unknown one.
  const top = Math.max(0, ...maker.keys());
  let unowned = 0;
  for (let v = 1; v <= top; v++) if (!maker.has(v)) unowned++;
  const unknownFree = writes.filter((w) => w.outcome === 'unknown' && !made.has(w)).length;
  if (unowned > unknownFree)
    violations.push(
      `${key}: ${unowned} versions up to v${top} have no write (${unknownFree} unknown writes could own them)`,
    );
  violations.push(...realTime(key, ops, made));
  violations.push(...refusals(key, writes, maker, top));
  violations.push(...sessions(key, ops));
  return violations;
}

/** The position of an op in version order: what it saw or made; null when it has none. */
function position(op: RegisterOp, made: ReadonlyMap<RegisterOp, number>): number | null {
  if (op.kind === 'read') return op.outcome === 'ok' ? (op.version as number) : null;
  return made.get(op) ?? null;
}

/**
 * A returned before B was invoked => pos(B) >= pos(A), and > when B is a write. Checked in
 * O(n log n): sweep B by invocation time, keeping the highest position among ops returned so far.
 */
function realTime(
  key: string,
  ops: readonly RegisterOp[],
  made: ReadonlyMap<RegisterOp, number>,
): string[] {
  const violations: string[] = [];
  const linear = ops.filter((op) => op.linearizable && position(op, made) !== null);
  const byReturn = linear
    .filter((op) => op.returnMs !== null)
    .sort((a, b) => (a.returnMs as number) - (b.returnMs as number));
  const byInvoke = [...linear].sort((a, b) => a.invokeMs - b.invokeMs);
  let next = 0;
  let highest: RegisterOp | null = null;
  for (const b of byInvoke) {
    while (
      next < byReturn.length &&
      ((byReturn[next] as RegisterOp).returnMs as number) < b.invokeMs
    ) {
      const a = byReturn[next] as RegisterOp;
      if (highest === null || (position(a, made) as number) > (position(highest, made) as number))
        highest = a;
      next++;
    }
    if (highest === null) continue;
    const before = position(highest, made) as number;
    const mine = position(b, made) as number;
    const ok = b.kind === 'write' ? mine > before : mine >= before;
    if (!ok)
      violations.push(
        `${key}: ${describeOp(b)} is ordered before ${describeOp(highest)}, which returned before it was invoked`,
      );
  }
  return violations;
}

/**
 * A conditional write refused with BadVersion on version e is wrong if e stood for its whole
 * interval: the write that made e returned before it was invoked, and the write making e + 1
 * was invoked after it returned (or never came).
 */
function refusals(
  key: string,
  writes: readonly RegisterOp[],
  maker: ReadonlyMap<number, RegisterOp>,
  top: number,
): string[] {
  const violations: string[] = [];
  for (const w of writes) {
    if (w.outcome !== 'fail' || w.code !== 'BadVersion' || w.returnMs === null) continue;
    const e = w.expected;
    if (e > 0) {
      // Version e stood from the return of the write that made it (unknown: cannot tell).
      const before = maker.get(e);
      if (before === undefined || before.returnMs === null || before.returnMs >= w.invokeMs)
        continue;
    }
    const after = maker.get(e + 1);
    // With no known maker of e + 1, an unknown write invoked in time may have made it unseen.
    const stood =
      after === undefined
        ? e === top &&
          !writes.some((u) => u.outcome === 'unknown' && u.invokeMs < (w.returnMs as number))
        : after.invokeMs > w.returnMs;
    if (stood)
      violations.push(`${key}: ${describeOp(w)} refused while v${e} stood for its whole interval`);
  }
  return violations;
}

/** Local reads never go back, nor behind the session's own acknowledged writes. */
function sessions(key: string, ops: readonly RegisterOp[]): string[] {
  const violations: string[] = [];
  const seen = new Map<string, { version: number; op: RegisterOp }>();
  const ordered = ops
    .filter((op) => op.outcome === 'ok' && op.version !== null && op.returnMs !== null)
    .sort((a, b) => a.invokeMs - b.invokeMs);
  for (const op of ordered) {
    const version = op.version as number;
    const last = seen.get(op.session);
    if (last !== undefined && version < last.version && (last.op.returnMs as number) < op.invokeMs)
      violations.push(
        `${key}: session ${op.session} went back from v${last.version} (${describeOp(last.op)}) to v${version} (${describeOp(op)})`,
      );
    if (last === undefined || version > last.version) seen.set(op.session, { version, op });
  }
  return violations;
}
