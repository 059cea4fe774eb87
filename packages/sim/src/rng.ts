import { seededRandom } from '@cairn/raft';

/**
 * The simulator's randomness: one seed, forked per subsystem (network, disks, faults, each
 * client) so that a draw added in one place does not reshuffle the others (RELIABILITY §1.4).
 */
export class Rng {
  private readonly random;

  constructor(readonly seed: number) {
    this.random = seededRandom(seed);
  }

  /** A generator for `label`, derived from this seed only (not from the draws made so far). */
  fork(label: string): Rng {
    return new Rng(mix(this.seed, label));
  }

  /** An integer in [0, maxExclusive). */
  int(maxExclusive: number): number {
    return this.random.nextInt(maxExclusive);
  }

  /** An integer in [min, max]. */
  between(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  chance(probability: number): boolean {
    return this.int(1_000_000) < probability * 1_000_000;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[this.int(items.length)] as T;
  }
}

/** FNV-1a over the seed and the label: a stable 32-bit sub-seed. */
export function mix(seed: number, label: string): number {
  let hash = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < label.length; i++) {
    hash ^= label.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** One kept trace line: when (virtual ms since the start) and what. */
export interface TraceLine {
  readonly atMs: number;
  readonly text: string;
}

/**
 * A running FNV-1a hash over text: the trace hash that proves a seed replays exactly. With
 * `keep` set it also keeps every line with its virtual time (a readable timeline to replay a
 * seed with); the hash is the same either way.
 */
export class TraceHash {
  private hash = 0x811c9dc5;
  private count = 0;
  /** Kept lines, when `keep` is set. */
  readonly lines: TraceLine[] = [];
  keep = false;
  /** Virtual milliseconds since the start, for kept lines. */
  clock: () => number = () => 0;

  add(text: string): void {
    this.count++;
    if (this.keep) this.lines.push({ atMs: this.clock(), text });
    for (let i = 0; i < text.length; i++) {
      this.hash ^= text.charCodeAt(i);
      this.hash = Math.imul(this.hash, 0x01000193) >>> 0;
    }
    this.hash ^= 0x0a;
    this.hash = Math.imul(this.hash, 0x01000193) >>> 0;
  }

  digest(): string {
    return `${this.hash.toString(16).padStart(8, '0')}/${this.count}`;
  }
}
