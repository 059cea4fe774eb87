// The part of `node-zookeeper-client` (the pure-JS npm client, no types shipped) the
// differential tests drive, with a connect helper bounded in time.
import { createRequire } from 'node:module';

export interface NpmStat {
  readonly czxid: Buffer;
  readonly mzxid: Buffer;
  readonly ctime: Buffer;
  readonly mtime: Buffer;
  readonly version: number;
  readonly cversion: number;
  readonly aversion: number;
  readonly ephemeralOwner: Buffer;
  readonly dataLength: number;
  readonly numChildren: number;
  readonly pzxid: Buffer;
}

export interface NpmEvent {
  getName(): string;
  getPath(): string;
}

export interface NpmError extends Error {
  getCode(): number;
}

export type Watcher = (event: NpmEvent) => void;
export type Callback<T> = (error: NpmError | null, value: T, extra?: NpmStat) => void;

export interface NpmTransaction {
  create(path: string, data: Buffer, acls: unknown, mode: number): NpmTransaction;
  setData(path: string, data: Buffer, version: number): NpmTransaction;
  check(path: string, version: number): NpmTransaction;
  remove(path: string, version: number): NpmTransaction;
  commit(callback: (error: NpmError | null, results: NpmOpResult[] | undefined) => void): void;
}

export interface NpmOpResult {
  readonly type: number;
  readonly err?: number;
  readonly path?: string;
  readonly stat?: NpmStat;
}

export interface NpmClient {
  once(event: 'connected', listener: () => void): void;
  connect(): void;
  close(): void;
  getSessionId(): Buffer;
  create(path: string, data: Buffer, acls: unknown, mode: number, callback: Callback<string>): void;
  remove(path: string, version: number, callback: (error: NpmError | null) => void): void;
  setData(path: string, data: Buffer, version: number, callback: Callback<NpmStat>): void;
  exists(path: string, watcher: Watcher | undefined, callback: Callback<NpmStat | null>): void;
  getData(path: string, watcher: Watcher | undefined, callback: Callback<Buffer>): void;
  getChildren(path: string, watcher: Watcher | undefined, callback: Callback<string[]>): void;
  transaction(): NpmTransaction;
}

export interface NpmModule {
  createClient(
    connect: string,
    options?: { sessionTimeout?: number; retries?: number; spinDelay?: number },
  ): NpmClient;
  ACL: { OPEN_ACL_UNSAFE: unknown };
  CreateMode: Record<
    'PERSISTENT' | 'PERSISTENT_SEQUENTIAL' | 'EPHEMERAL' | 'EPHEMERAL_SEQUENTIAL',
    number
  >;
}

export const zookeeper = createRequire(import.meta.url)('node-zookeeper-client') as NpmModule;

export async function connectNpm(connectString: string, timeoutMs = 20_000): Promise<NpmClient> {
  const client = zookeeper.createClient(connectString, { sessionTimeout: 10_000, retries: 0 });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      client.close();
      reject(new Error(`no connection to ${connectString} within ${timeoutMs} ms`));
    }, timeoutMs);
    client.once('connected', () => {
      clearTimeout(timer);
      resolve();
    });
    client.connect();
  });
  return client;
}
