/**
 * The main job: one Cairn member on the embedded default (level storage in a local folder),
 * running until Ctrl-C. It opens a session, records its start under /cairn/starts (a
 * persistent-sequential znode, so restarts accumulate and show the data survives), prints what
 * the tree holds and the node's status, then keeps serving and prints a status line every few
 * seconds.
 *
 *   npx -y pnpm@10 start                    # data in ./data
 *   npx -y pnpm@10 start -- --data ./elsewhere --once
 *
 * `--once` exits after the first status (what the smoke test runs).
 */
import { createNode, isCairnError } from '@cairn/node';

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
};
const dataDir = flag('--data') ?? './data';
const once = args.includes('--once');
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

const node = await createNode({ id: 1, dataDir });
const zk = await node.session({ timeoutMs: 10_000 });
/** Creates `path` unless it exists (ZooKeeper's NodeExists is the expected failure). */
async function ensure(path: string): Promise<void> {
  try {
    await zk.create(path);
  } catch (error) {
    if (!(isCairnError(error) && error.code === 'NodeExists')) throw error;
  }
}
await ensure('/cairn');
await ensure('/cairn/starts');
const started = await zk.create('/cairn/starts/start-', enc(new Date().toISOString()), {
  mode: 'persistent-sequential',
});
const { children } = await zk.getChildren('/cairn/starts');
const { data } = await zk.getData(started, { linearizable: true });
console.log(
  `cairn node 1 on ${dataDir}: this is start #${children.length} (${started} = ${dec(data)})`,
);
const line = (): string => {
  const s = node.status();
  return `role=${s.role} term=${s.term} commit=${s.commit} applied=${s.applied} znodes=${s.znodes} sessions=${s.sessions}`;
};
console.log(`status: ${line()}`);

async function stop(): Promise<void> {
  await zk.close().catch(() => {});
  await node.close();
}

if (once) {
  await stop();
} else {
  const timer = setInterval(() => console.log(`status: ${line()}`), 5_000);
  const shutdown = (): void => {
    clearInterval(timer);
    void stop().then(() => process.exit(0));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
  console.log('serving; Ctrl-C to stop');
}
