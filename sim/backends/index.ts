/**
 * The simulator's backends: one per rx queue generation, built from the provider's fixture
 * (plugins/<name>/fixture.ts, found through the generated fixture registry). The fixture's user
 * side picks the shared backend: the stack return path, the zcrx refill ring or devmem's
 * dontneed. Nothing here names a provider. `none` is a queue with no provider: the pool's own
 * page-allocator slow path.
 */

import { PagePoolError } from "../../core/errors.ts";
import { FIXTURES, fixtureFor } from "../../core/generated/fixtures.generated.ts";
import { type ProviderFixture, resolveOptions } from "../../plugins/fixture.ts";
import { StackBackend } from "./stack.ts";
import type { Backend, BackendEnv, BackendFactory } from "./types.ts";

/** The queue without a provider. */
export const NO_PROVIDER = "none";

/** Half-page buffers for host pages (two 2 KiB fragments per page, like most NIC drivers). */
const HOST_BUF_LEN = 2048;

/** Factories registered by tests (fault-injecting providers); looked up before the fixtures. */
const extra = new Map<string, BackendFactory>();

/** Registers (or replaces) a backend factory under a name of its own; tests use this. */
export function registerBackend(name: string, f: BackendFactory): void {
  extra.set(name, f);
}

export function backendNames(): string[] {
  return [NO_PROVIDER, ...FIXTURES.map((f) => f.name), ...extra.keys()].sort();
}

/** `--opt <name>.key=value` entries of one provider, keys without the prefix. */
function optionsOf(env: BackendEnv, name: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env.opts))
    if (k.startsWith(`${name}.`)) out[k.slice(name.length + 1)] = v;
  return out;
}

/** The backend for `fixture`'s user side, its options resolved from `env.opts` (unknown keys refused). */
export async function fixtureBackend(fixture: ProviderFixture, env: BackendEnv): Promise<Backend> {
  const opts = resolveOptions(fixture, optionsOf(env, fixture.name));
  const shape = fixture.buffers(opts);
  const world = () => ({ netdev: env.netdev, queueIdx: env.queueIdx, dev: env.dev, pages: env.dev.pages });
  switch (fixture.userSide) {
    case "stack":
      return new StackBackend(fixture.name, env, shape, () => fixture.bind(world(), opts));
    case "zcrx": {
      const { ZcrxBackend } = await import("./zcrx.ts");
      return new ZcrxBackend(fixture.name, env, shape, () => fixture.bind(world(), opts), opts);
    }
    case "devmem": {
      const { DevmemBackend } = await import("./devmem.ts");
      return new DevmemBackend(fixture.name, env, shape, () => fixture.bind(world(), opts));
    }
  }
}

export async function makeBackend(name: string, env: BackendEnv): Promise<Backend> {
  const f = extra.get(name);
  if (f) return f(env);
  if (name === NO_PROVIDER) {
    const o = optionsOf(env, NO_PROVIDER);
    for (const k of Object.keys(o))
      if (k !== "bufLen")
        throw new PagePoolError("EINVAL", `${NO_PROVIDER}: unknown option "${k}" (valid: bufLen)`);
    const bufLen = o.bufLen === undefined ? HOST_BUF_LEN : Number(o.bufLen);
    if (!Number.isSafeInteger(bufLen))
      throw new PagePoolError("EINVAL", `${NO_PROVIDER}.bufLen must be an integer, got ${o.bufLen}`);
    return new StackBackend(NO_PROVIDER, env, { bufLen, frags: true, readable: true }, null);
  }
  return fixtureBackend(fixtureFor(name), env);
}

/** Refuses `--opt` keys whose provider part names no backend (a typo would otherwise be ignored). */
export function checkOptionPrefixes(opts: Readonly<Record<string, string>>): void {
  const names = backendNames();
  for (const k of Object.keys(opts)) {
    const p = k.slice(0, k.indexOf("."));
    if (!names.includes(p))
      throw new PagePoolError("EINVAL", `--opt ${k}: no provider "${p}" (known: ${names.join(", ")})`);
  }
}
