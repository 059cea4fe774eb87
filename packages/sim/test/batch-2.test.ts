/**
 * Shard 2 of the CI simulation batch (see batch.ts): its share of the fixed and fresh seeds,
 * each run with faults then healed and checked (Raft invariants, model, reads, watches,
 * liveness), and the shard's coverage counters required to be > 0.
 */
import { runShard } from './batch.js';

runShard(2);
