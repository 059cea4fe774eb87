/**
 * Service discovery: an instance registers as an ephemeral znode `<base>/<service>/<id>` holding
 * its JSON description; `instances(service)` lists them; `cache(service)` keeps a local mirror
 * (a TreeCache) with change events. Guarantee: an instance is listed while its session lives;
 * on session expiry its znode, hence its registration, goes away, and every cache hears it.
 */
import type { Session } from '@cairn/node';
import { dec, enc, ensurePath, hasCode, join } from './internal/util.js';
import { TreeCache } from './tree-cache.js';

export interface ServiceInstance {
  readonly id: string;
  readonly address: string;
  readonly port: number;
  readonly payload?: unknown;
}

export class ServiceDiscovery {
  constructor(
    private readonly session: Session,
    readonly basePath: string,
  ) {}

  /** Registers `instance` under `service`; resolves with the unregister function. */
  async register(service: string, instance: ServiceInstance): Promise<() => Promise<void>> {
    const dir = join(this.basePath, service);
    await ensurePath(this.session, dir);
    const path = join(dir, instance.id);
    await this.session.create(path, enc(JSON.stringify(instance)), { mode: 'ephemeral' });
    return async () => {
      try {
        await this.session.delete(path);
      } catch (error) {
        if (!hasCode(error, 'NoNode') && !hasCode(error, 'SessionExpired')) throw error;
      }
    };
  }

  /** The registered instances of `service` (a local read), by id. */
  async instances(service: string): Promise<ServiceInstance[]> {
    const dir = join(this.basePath, service);
    let names: readonly string[];
    try {
      names = (await this.session.getChildren(dir)).children;
    } catch (error) {
      if (hasCode(error, 'NoNode')) return [];
      throw error;
    }
    const found: ServiceInstance[] = [];
    for (const name of [...names].sort()) {
      try {
        found.push(JSON.parse(dec((await this.session.getData(join(dir, name))).data)));
      } catch (error) {
        if (!hasCode(error, 'NoNode')) throw error;
      }
    }
    return found;
  }

  /** A local, watched mirror of `service`'s instances. */
  cache(service: string): ServiceCache {
    return new ServiceCache(this.session, join(this.basePath, service));
  }
}

export class ServiceCache {
  readonly tree: TreeCache;
  constructor(
    session: Session,
    readonly path: string,
  ) {
    this.tree = new TreeCache(session, path);
  }

  start(): Promise<void> {
    return this.tree.start();
  }

  instances(): ServiceInstance[] {
    return this.tree
      .children(this.path)
      .map((name) => this.tree.get(join(this.path, name)))
      .flatMap((node) =>
        node === undefined ? [] : [JSON.parse(dec(node.data)) as ServiceInstance],
      );
  }

  onChange(listener: () => void): () => void {
    return this.tree.onEvent((event) => {
      if (event.type !== 'initialized') listener();
    });
  }

  close(): void {
    this.tree.close();
  }
}
