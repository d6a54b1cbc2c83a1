/**
 * The simulator's backends by provider name. Providers are imported lazily so a run pays only for
 * what it binds. `none` is a queue with no provider: the pool's own page-allocator slow path.
 */
import { PagePoolError } from "../../core/errors.ts";
import { PAGE_SIZE } from "../../core/netmem.ts";
import { BasicProvider, basicOps } from "../../plugins/basic/provider.ts";
import { StackBackend } from "./stack.ts";
import type { Backend, BackendEnv, BackendFactory } from "./types.ts";

const pagesMemory = {
  memory: (pool: { pages: { memory: Uint8Array } }) => pool.pages.memory,
  byteOffset: (pool: { pages: { offsetOf(ref: number): number } }, ref: number) => pool.pages.offsetOf(ref),
};

function optInt(env: BackendEnv, key: string, def: number): number {
  const v = env.opts[key];
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n <= 0)
    throw new PagePoolError("EINVAL", `--opt ${key} must be a positive integer, got ${v}`);
  return n;
}

/** Half-page buffers for host pages (two 2 KiB fragments per page, like most NIC drivers). */
const HOST_BUF_LEN = 2048;

const factories: Record<string, BackendFactory> = {
  async none(env) {
    return new StackBackend("none", env, {
      ops: null,
      priv: null,
      bufLen: optInt(env, "none.bufLen", HOST_BUF_LEN),
      frags: true,
      readable: true,
      ...pagesMemory,
      counters: () => ({}),
      lifecycle: () => ({ inits: 0, destroys: 0 }),
      shortfall: () => 0,
    });
  },
  async basic(env) {
    const priv = new BasicProvider();
    return new StackBackend("basic", env, {
      ops: basicOps,
      priv,
      // basic hands out whole pages (one per slow-path call): a 4 KiB buffer per descriptor.
      bufLen: optInt(env, "basic.bufLen", PAGE_SIZE),
      frags: true,
      readable: true,
      ...pagesMemory,
      counters: () => ({
        allocs: priv.allocs,
        releases: priv.releases,
        inits: priv.inits,
        destroys: priv.destroys,
      }),
      lifecycle: () => ({ inits: priv.inits, destroys: priv.destroys }),
      // Every page basic allocated must have been released back to the page allocator.
      shortfall: () => priv.allocs - priv.releases,
    });
  },
  async limited(env) {
    const { LimitedProvider, limitedOps } = await import("../../plugins/limited/provider.ts");
    const priv = new LimitedProvider({ quotaBytes: optInt(env, "limited.quotaBytes", 4 << 20) });
    return new StackBackend("limited", env, {
      ops: limitedOps,
      priv,
      bufLen: optInt(env, "limited.bufLen", PAGE_SIZE),
      frags: false,
      readable: true,
      ...pagesMemory,
      counters: () => ({
        quotaBytes: priv.quotaBytes,
        usedBytes: priv.usedBytes,
        peakBytes: priv.peakBytes,
        quotaFailures: priv.quotaFailures,
        allocFailures: priv.allocFailures,
        allocs: priv.allocs,
        releases: priv.releases,
      }),
      lifecycle: () => ({ inits: priv.inits, destroys: priv.destroys }),
      // Charged bytes are pages still held by a pool of this provider.
      shortfall: () => priv.usedBytes / PAGE_SIZE,
      dispose: () => priv.dispose(),
    });
  },
  async huge(env) {
    const { HugeProvider, hugeOps } = await import("../../plugins/huge/provider.ts");
    const priv = new HugeProvider({
      dev: env.dev,
      chunkSize: optInt(env, "huge.chunkSize", 4096),
      maxFolios: optInt(env, "huge.maxFolios", 8),
    });
    return new StackBackend("huge", env, {
      ops: hugeOps,
      priv,
      // Chunks are whole buffers: a 2 KiB chunk cannot be carved further by the page frag API.
      bufLen: priv.chunkSize,
      frags: false,
      readable: true,
      memory: () => priv.memory,
      byteOffset: (_pool, ref) => priv.chunkOffset(ref),
      counters: () => ({
        chunkSize: priv.chunkSize,
        liveFolios: priv.liveFolios,
        chunksOut: priv.chunksOut,
        folioAllocs: priv.folioAllocs,
        folioFrees: priv.folioFrees,
        allocFailures: priv.allocFailures,
      }),
      lifecycle: () => ({ inits: priv.inits, destroys: priv.destroys }),
      shortfall: () => priv.chunksOut,
      // Gives the remaining (all-free) folios back to the page allocator.
      dispose: () => priv.dispose(),
    });
  },
  async devmem(env) {
    const { DevmemBackend } = await import("./devmem.ts");
    return new DevmemBackend(env);
  },
  async zcrx(env) {
    const { ZcrxBackend } = await import("./zcrx.ts");
    return new ZcrxBackend(env);
  },
};

/** Registers (or replaces) a backend factory; tests use this for fault-injecting providers. */
export function registerBackend(name: string, f: BackendFactory): void {
  factories[name] = f;
}

export function backendNames(): string[] {
  return Object.keys(factories).sort();
}

export async function makeBackend(name: string, env: BackendEnv): Promise<Backend> {
  const f = factories[name];
  if (!f)
    throw new PagePoolError("ENOENT", `unknown provider "${name}" (known: ${backendNames().join(", ")})`);
  return f(env);
}
