/**
 * The fixture contract: how to stand one provider up, in one declarative place per plugin
 * (`plugins/<name>/fixture.ts`). Conformance, the differential workload, the bench's worlds and
 * the simulator build their worlds from fixtures only; none of them names a provider.
 *
 * A fixture says:
 * - its options, each with a default and a parser that validates (unknown keys are refused);
 * - its buffers (size, whether the driver may carve them with the page frag API, whether the CPU
 *   can read them), known from the options before anything is bound;
 * - how to create the memory and objects it needs and bind them to an rx queue of a NetDevice
 *   (`bind`), returning an instance with its user side, memory view, counters, lifecycle,
 *   shortfall, unbind and dispose.
 *
 * Import graph: this file imports the core's leaf modules and, for types only, the plugins whose
 * user sides it names. Fixtures import their plugin, the core and this file. Nothing imports a
 * fixture except bench/, sim/, tests, and the generated fixture registry
 * (core/generated/fixtures.generated.ts, emitted by codegen from the plugins it found).
 */
import { PagePoolError } from "../core/errors.ts";
import type { NetDevice } from "../core/netdev.ts";
import type { DmaDevice, PageAllocator } from "../core/page-alloc.ts";
import type { MemoryProviderOps, PoolView } from "../core/provider.ts";
import type { DevmemBinding, DevmemNetlink } from "./devmem/index.ts";
import type { ZcrxIfq } from "./zcrx/index.ts";

/** Where a fixture is stood up: the device, its host memory, and the queue to bind. */
export interface FixtureWorld {
  netdev: NetDevice;
  queueIdx: number;
  dev: DmaDevice;
  /** `dev.pages`: the host page allocator. */
  pages: PageAllocator;
}

/**
 * How buffers come back from the user. `stack`: the packet becomes an skb, the user reads it and
 * the skb is freed (kfree_skb -> page_pool put), so the provider has no user protocol of its own.
 * `zcrx`: completions to the user, buffers back through the ifq's refill ring. `devmem`: tokens
 * through recvmsg, back with SO_DEVMEM_DONTNEED. The simulator and the bench pick the shared
 * backend for the kind (sim/backends/{stack,zcrx,devmem}.ts), never by provider name.
 */
export type UserSide =
  | { kind: "stack" }
  | { kind: "zcrx"; ifq: ZcrxIfq }
  | { kind: "devmem"; binding: DevmemBinding; netlink: DevmemNetlink };

/** The driver's view of the provider's buffers (what the simulator's rx ring posts). */
export interface BufferShape {
  /** Bytes one rx descriptor's buffer holds (4..4096). */
  bufLen: number;
  /** Whether the driver may carve buffers with the page frag API (host pages) or takes whole netmems. */
  frags: boolean;
  /** Whether the CPU can read the buffers (the simulator then stamps each packet and checks it). */
  readable: boolean;
}

/** One provider stood up and bound to one queue. */
export interface FixtureInstance {
  /** The provider state bound to the queue (becomes `pool.mpPriv`). */
  priv: unknown;
  user: UserSide;
  /** How many netmems the provider can hand out in total, from fresh. */
  capacity: number;
  /** How many it could hand out now (equals `capacity` when no pool holds any of its memory). */
  available(): number;
  /** Readable memory only: the backing bytes of `ref` and the byte offset where `ref` starts. */
  memory(pool: PoolView, ref: number): Uint8Array;
  byteOffset(pool: PoolView, ref: number): number;
  /** The provider's own counters (JSON-able). */
  counters(): Record<string, unknown>;
  /** Pools the provider's init accepted and destroy calls it saw (equal once every pool is gone). */
  lifecycle(): { inits: number; destroys: number };
  /** After unbind and every pool gone: buffers not back with the provider (0 when all are home). */
  shortfall(): number;
  /** Unbinds from the queue the way the provider's user-facing API does (the queue restarts). */
  unbind(): void;
  /**
   * Frees what the instance owns (folios, areas, bindings) once every pool is gone; a provider
   * whose memory is not all home throws PagePoolError. Safe after `unbind`, and without it.
   */
  dispose(): void;
}

/** One option: a default and a parser from a command-line string or a value given in code. */
export interface OptionSpec<T> {
  default: T;
  /** One line for `--help` and the error messages. */
  doc: string;
  /** Validates `v`; throws PagePoolError EINVAL naming `key` when it does not fit. */
  parse(v: unknown, key: string): T;
}

export type OptionSpecs<O> = { readonly [K in keyof O]: OptionSpec<O[K]> };

export interface ProviderFixture<O extends Record<string, unknown> = Record<string, unknown>> {
  /** The provider's name (= `ops.name`, = its folder under plugins/). */
  name: string;
  ops: MemoryProviderOps;
  options: OptionSpecs<O>;
  /**
   * How the user gives buffers back (the kind of every instance's `user`), known before binding
   * so the simulator can pick the shared backend for it.
   */
  userSide: UserSide["kind"];
  /** Option overrides for a small world (bench sweep pools, quick tests): little memory each. */
  small?: NoInfer<Partial<O>>;
  /** The buffers the driver posts, from the options alone (known before anything is bound). */
  buffers(opts: O): BufferShape;
  /** Creates what the provider needs over `world` and binds it to `world.queueIdx`. */
  bind(world: FixtureWorld, opts: O): FixtureInstance;
}

/** Lets a fixture module declare its option type once (inference helper; returns `f`). */
export function defineFixture<O extends Record<string, unknown>>(f: ProviderFixture<O>): ProviderFixture<O> {
  return f;
}

/**
 * Resolves `raw` (strings from the command line or values from code) against the fixture's
 * options: defaults for what is not given, each given value parsed, unknown keys refused with
 * PagePoolError EINVAL naming the key and listing the valid ones.
 */
export function resolveOptions<O extends Record<string, unknown>>(
  f: ProviderFixture<O>,
  raw: Readonly<Record<string, unknown>> = {},
): O {
  const specs = f.options as Record<string, OptionSpec<unknown>>;
  const valid = Object.keys(specs);
  for (const k of Object.keys(raw))
    if (!Object.hasOwn(specs, k))
      throw new PagePoolError(
        "EINVAL",
        `${f.name}: unknown option "${k}" (valid: ${valid.length ? valid.join(", ") : "none"})`,
      );
  const out: Record<string, unknown> = {};
  for (const k of valid) {
    const v = raw[k];
    out[k] = v === undefined ? specs[k].default : specs[k].parse(v, `${f.name}.${k}`);
  }
  return out as O;
}

/** An integer option in [min, max]; accepts a number or its decimal string. */
export function intOption(
  def: number,
  doc: string,
  min = 1,
  max = Number.MAX_SAFE_INTEGER,
): OptionSpec<number> {
  return {
    default: def,
    doc,
    parse(v, key) {
      const n = typeof v === "string" && v.trim() !== "" ? Number(v) : v;
      if (typeof n !== "number" || !Number.isSafeInteger(n) || n < min || n > max)
        throw new PagePoolError("EINVAL", `${key} must be an integer in [${min}, ${max}], got ${String(v)}`);
      return n;
    },
  };
}

/** One of a fixed set of values; a string is matched by its text (`"true"`, `"2048"`). */
export function enumOption<T extends string | number | boolean>(
  def: T,
  values: readonly T[],
  doc: string,
): OptionSpec<T> {
  return {
    default: def,
    doc,
    parse(v, key) {
      const hit = values.find((x) => x === v || String(x) === v);
      if (hit === undefined)
        throw new PagePoolError("EINVAL", `${key} must be one of ${values.join(", ")}, got ${String(v)}`);
      return hit;
    },
  };
}

/** The memory view of host pages: the page allocator's bytes at the page's offset. */
export const hostPagesMemory = {
  memory: (pool: PoolView, _ref: number): Uint8Array => pool.pages.memory,
  byteOffset: (pool: PoolView, ref: number): number => pool.pages.offsetOf(ref),
};
