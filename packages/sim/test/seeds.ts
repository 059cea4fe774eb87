/**
 * Seeds for the per-shape simulation tests: CAIRN_SIM_SEEDS=n runs seeds 1..n per configuration
 * (default 1: the CI batch in batch-*.test.ts runs 500 seeds), CAIRN_SIM_SEED=s runs just seed s
 * (to replay a failure).
 */
export function simSeeds(): number[] {
  const one = process.env.CAIRN_SIM_SEED;
  if (one !== undefined && one !== '') return [integer('CAIRN_SIM_SEED', one)];
  const count = process.env.CAIRN_SIM_SEEDS;
  const n = count === undefined || count === '' ? 1 : integer('CAIRN_SIM_SEEDS', count);
  return Array.from({ length: n }, (_, i) => i + 1);
}

function integer(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1)
    throw new Error(`${name} must be a positive integer, got ${text}`);
  return value;
}
