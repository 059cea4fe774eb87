/**
 * The core's only source of randomness: election timeout jitter. It is injected so that one
 * seed reproduces a whole run (STYLE.md §6).
 */
export interface Random {
  /** An integer uniformly drawn from [0, maxExclusive). */
  nextInt(maxExclusive: number): number;
}

/**
 * A small, fast, seeded generator (SplitMix32 state step, xorshift-multiply output). Not for
 * cryptography; good enough to spread election timeouts and to drive simulations.
 */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return {
    nextInt(maxExclusive: number): number {
      state = (state + 0x9e3779b9) >>> 0;
      let z = state;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      z = (z ^ (z >>> 16)) >>> 0;
      return Math.floor((z / 0x1_0000_0000) * maxExclusive);
    },
  };
}
