/**
 * Service discovery: an instance registers as an ephemeral znode `<base>/<service>/<id>` holding
 * its JSON description; `instances(service)` lists them; `cache(service)` keeps a local mirror
 * (a TreeCache) with change events. Guarantee: an instance is listed while its session lives.
 *
 * On session expiry the instance's znode goes with the session. Given `renewSession`, discovery
 * then re-registers every instance it registered (and not unregistered) on the new session, as
 * Curator's ServiceDiscovery does on reconnection, and its caches move to the same new session;
 * a stale znode of ours still there (the old session closed with its member and the cluster has
 * not expired it yet) is deleted and created again. Every cache hears the instance go and come
 * back. Without `renewSession` (or when renewal fails) discovery ends: `onEvent` hears `ended`
 * with a typed error, and the registrations stay gone.
 */
import type { CairnError, Session } from '@cairn/node';
import {
  RENEWALS_IN_A_ROW_MAX,
  type RenewSession,
  shareSessionRenewal,
} from './internal/renewal.js';
import { asCairnError, dec, enc, endedError, ensurePath, hasCode, join } from './internal/util.js';
import { TreeCache } from './tree-cache.js';

export interface ServiceInstance {
  readonly id: string;
  readonly address: string;
  readonly port: number;
  readonly payload?: unknown;
}

export interface ServiceDiscoveryOptions {
  /** Makes a new session when this one ends; discovery re-registers its instances there. */
  readonly renewSession?: RenewSession;
}

export type ServiceDiscoveryEvent =
  /** Every registration was made again on a new session. */
  | { readonly type: 'reregistered'; readonly session: Session; readonly paths: readonly string[] }
  /** The session ended and was not renewed: the registrations are gone for good. */
  | { readonly type: 'ended'; readonly error: CairnError };

export class ServiceDiscovery {
  private session_: Session;
  /** Registered instances by znode path (what to re-register on a new session). */
  private readonly registered = new Map<string, ServiceInstance>();
  private readonly listeners = new Set<(event: ServiceDiscoveryEvent) => void>();
  private readonly renew: RenewSession | undefined;
  private offState: () => void = () => {};
  private closed = false;
  private ended_: CairnError | null = null;

  constructor(
    session: Session,
    readonly basePath: string,
    options: ServiceDiscoveryOptions = {},
  ) {
    this.session_ = session;
    this.renew =
      options.renewSession === undefined ? undefined : shareSessionRenewal(options.renewSession);
    this.follow();
  }

  /** The session registrations live on now (a renewed one after an expiry). */
  get session(): Session {
    return this.session_;
  }

  /** Why discovery stopped for good, or null while it runs. */
  get ended(): CairnError | null {
    return this.ended_;
  }

  onEvent(listener: (event: ServiceDiscoveryEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Registers `instance` under `service`; resolves with the unregister function. */
  async register(service: string, instance: ServiceInstance): Promise<() => Promise<void>> {
    const path = join(join(this.basePath, service), instance.id);
    await this.create(this.session_, path, instance, false);
    this.registered.set(path, instance);
    return async () => {
      this.registered.delete(path);
      try {
        await this.session_.delete(path);
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
      names = (await this.session_.getChildren(dir)).children;
    } catch (error) {
      if (hasCode(error, 'NoNode')) return [];
      throw error;
    }
    const found: ServiceInstance[] = [];
    for (const name of [...names].sort()) {
      try {
        found.push(JSON.parse(dec((await this.session_.getData(join(dir, name))).data)));
      } catch (error) {
        if (!hasCode(error, 'NoNode')) throw error;
      }
    }
    return found;
  }

  /** A local, watched mirror of `service`'s instances (renewed along with discovery). */
  cache(service: string): ServiceCache {
    return new ServiceCache(
      this.session_,
      join(this.basePath, service),
      this.renew === undefined ? {} : { renewSession: this.renew },
    );
  }

  /** Stops re-registering (the registrations stay until unregistered or the session ends). */
  close(): void {
    this.closed = true;
    this.offState();
  }

  /** Creates the ephemeral `path`; `replace` deletes a stale one of ours in the way first. */
  private async create(
    session: Session,
    path: string,
    instance: ServiceInstance,
    replace: boolean,
  ): Promise<void> {
    await ensurePath(session, path.slice(0, path.lastIndexOf('/')));
    const data = enc(JSON.stringify(instance));
    for (let attempt = 0; ; attempt++) {
      try {
        await session.create(path, data, { mode: 'ephemeral' });
        return;
      } catch (error) {
        if (!replace || !hasCode(error, 'NodeExists') || attempt >= RENEWALS_IN_A_ROW_MAX)
          throw error;
      }
      try {
        await session.delete(path);
      } catch (error) {
        if (!hasCode(error, 'NoNode')) throw error;
      }
    }
  }

  private follow(): void {
    const session = this.session_;
    const onState = (): void => {
      if (this.closed || endedError(session) === null) return;
      this.offState();
      void this.moveOn(session);
    };
    this.offState = session.onStateChange(onState);
    onState();
  }

  /** The session ended: renew and re-register, or end. Bounded by RENEWALS_IN_A_ROW_MAX. */
  private async moveOn(ended: Session): Promise<void> {
    const error = endedError(ended) as CairnError;
    if (this.renew === undefined) {
      this.end(error);
      return;
    }
    let from = ended;
    for (let attempt = 0; attempt < RENEWALS_IN_A_ROW_MAX; attempt++) {
      let session: Session;
      try {
        session = await this.renew(from);
      } catch (failure) {
        this.end(asCairnError(failure));
        return;
      }
      if (this.closed) return;
      try {
        for (const [path, instance] of [...this.registered])
          await this.create(session, path, instance, true);
      } catch (failure) {
        if (endedError(session) === null) {
          this.end(asCairnError(failure));
          return;
        }
        from = session; // It ended before the registrations were back: renew again.
        continue;
      }
      this.session_ = session;
      this.follow();
      this.emit({ type: 'reregistered', session, paths: [...this.registered.keys()] });
      return;
    }
    this.end(error);
  }

  private end(error: CairnError): void {
    this.ended_ = error;
    this.closed = true;
    this.emit({ type: 'ended', error });
  }

  private emit(event: ServiceDiscoveryEvent): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch {
        // A listener's failure is its own.
      }
    }
  }
}

export class ServiceCache {
  readonly tree: TreeCache;
  constructor(
    session: Session,
    readonly path: string,
    options: { readonly renewSession?: RenewSession } = {},
  ) {
    this.tree = new TreeCache(session, path, options);
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

  /** Calls `listener` whenever an instance is added, changed or removed. */
  onChange(listener: () => void): () => void {
    return this.tree.onEvent((event) => {
      if (event.type === 'added' || event.type === 'updated' || event.type === 'removed')
        listener();
    });
  }

  close(): void {
    this.tree.close();
  }
}
