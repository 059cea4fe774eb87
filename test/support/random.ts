// mulberry32: a small seeded generator for the cross-package tests, so one seed gives one run
// of choices (test/zk-differential.test.ts, test/jepsen.test.ts).

/** A generator of numbers in [0, 1) from `seed`. */
export function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
