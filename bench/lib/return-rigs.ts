/**
 * The zero-copy return-path legs of return-paths.bench.ts: one per fixture whose user side is not
 * the stack, stood up by the fixture (its `small` options) and driven through the user-side API
 * its kind names, as the provider's README shows, one batch of `n` buffers per iteration:
 *   zcrx:   in NAPI, allocate, post the buffer to the user (ifq.recvFrag: a completion), drop the
 *           stack's reference; the user reads each completion and returns the buffer through the
 *           refill ring (ZcrxUser.returnBuffer). The allocator drains the ring on its next miss.
 *   devmem: in NAPI, allocate and deliver each fragment to a socket (the skb's reference); the
 *           user recvmsg()s the batch (a token per fragment) and gives the tokens back with one
 *           SO_DEVMEM_DONTNEED of (token, 1) ranges; the buffers go back through the ptr_ring.
 * A leg that cannot be built (a fixture or plugin API moved) becomes a bench that fails with the reason,
 * so the run fails loudly instead of silently losing the figure.
 */
import { do_not_optimize } from "mitata";
import { FIXTURES } from "../../core/generated/fixtures.generated.ts";
import { type Napi, NetDevice, napiRun } from "../../core/netdev.ts";
import { GFP_ATOMIC, PagePool } from "../../core/page-pool.ts";
import * as devmem from "../../plugins/devmem/index.ts";
import { type FixtureInstance, type ProviderFixture, resolveOptions } from "../../plugins/fixture.ts";
import * as zcrx from "../../plugins/zcrx/index.ts";
import { assertAudited, type BenchDef, type ScenarioContext } from "./harness.ts";
import { packetSizes, SEQ_LEN } from "./rng.ts";
import { makeHost, PROVIDER_POOL_FLAGS } from "./world.ts";

const MASK = SEQ_LEN - 1;

function failing(id: string, path: string, label: string, err: unknown): BenchDef {
  const msg = `${id}: could not build the leg: ${(err as Error)?.message ?? String(err)}`;
  return {
    id,
    path,
    degree: 0,
    ops: 1,
    label,
    gen: function* () {
      yield {
        bench() {
          throw new Error(msg);
        },
      };
    },
  };
}

/**
 * A one-queue device on a private host with `f` stood up on queue 0 (small options), and the
 * driver's pool of that queue, which takes the provider.
 */
function stand(f: ProviderFixture): { inst: FixtureInstance; napi: Napi; pool: PagePool } {
  const netdev = new NetDevice({ rxQueues: 1, dev: makeHost(2048) });
  const inst = f.bind(
    { netdev, queueIdx: 0, dev: netdev.dev, pages: netdev.dev.pages },
    resolveOptions(f, f.small ?? {}),
  );
  const napi = netdev.rxQueue(0).napi;
  const pool = PagePool.create({
    netdev,
    queueIdx: 0,
    napi,
    flags: PROVIDER_POOL_FLAGS,
    dmaDir: "from-device",
    maxLen: 4096,
  });
  return { inst, napi, pool };
}

function zcrxLeg(ctx: ScenarioContext, f: ProviderFixture, n: number): BenchDef {
  const { inst, napi, pool } = stand(f);
  if (inst.user.kind !== "zcrx") throw new Error(`${f.name}: user side ${inst.user.kind}, not zcrx`);
  const ifq = inst.user.ifq;
  const user = new zcrx.ZcrxUser(ifq.userDescriptor());
  const sizes = packetSizes(ctx.seed);
  let cursor = 0;
  let lost = 0;
  const kernel = () => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      const ref = pool.allocNetmem(GFP_ATOMIC);
      const len = sizes[(cursor + i) & MASK];
      if (ifq.recvFrag(ref, 0, len) !== len) lost++;
      pool.recycleDirect(ref); // the skb is freed; the user's reference keeps the buffer
      s = (s + ref) | 0;
    }
    cursor = (cursor + n) & MASK;
    return s;
  };
  const userSide = () => {
    let s = 0;
    while (user.readCompletion()) {
      s = (s + user.area[user.off]) | 0; // the user looks at its data in place
      if (!user.returnBuffer()) lost++;
    }
    return s;
  };
  let c = 0;
  const nextC = () => (c = (c + 1) & 0xff);
  return {
    id: f.name,
    path: `return:${f.name}`,
    degree: 0,
    ops: n,
    label: `${f.name}: completion + refill ring return`,
    providers: [f.name],
    gen: function* () {
      yield {
        0: nextC,
        bench(k: number) {
          return do_not_optimize(napiRun(napi, kernel) + userSide() + k);
        },
      };
    },
    after: () => {
      assertAudited(pool, f.name);
      if (lost > 0) throw new Error(`${f.name}: ${lost} buffers could not be posted or returned`);
      return {};
    },
  };
}

function devmemLeg(ctx: ScenarioContext, f: ProviderFixture, n: number): BenchDef {
  const { inst, napi, pool } = stand(f);
  if (inst.user.kind !== "devmem") throw new Error(`${f.name}: user side ${inst.user.kind}, not devmem`);
  const sock = new devmem.DevmemSocket();
  const cmsgs = new devmem.DevmemCmsgBuffer(n);
  const ranges = new Uint32Array(2 * n);
  const sizes = packetSizes(ctx.seed);
  let cursor = 0;
  let short = 0;
  const kernel = () => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      const ref = pool.allocNetmem(GFP_ATOMIC);
      sock.deliver(ref, 0, sizes[(cursor + i) & MASK]);
      s = (s + ref) | 0;
    }
    cursor = (cursor + n) & MASK;
    return s;
  };
  const userSide = () => {
    sock.recvmsg(cmsgs);
    let r = 0;
    for (let i = 0; i < cmsgs.count; i++) {
      if (cmsgs.type[i] !== devmem.SO_DEVMEM_DMABUF) continue;
      ranges[r++] = cmsgs.fragToken[i];
      ranges[r++] = 1;
    }
    const freed = sock.dontneed(ranges, r >> 1);
    if (freed !== r >> 1) short++;
    return freed;
  };
  let c = 0;
  const nextC = () => (c = (c + 1) & 0xff);
  return {
    id: f.name,
    path: `return:${f.name}`,
    degree: 0,
    ops: n,
    label: `${f.name}: recvmsg tokens + SO_DEVMEM_DONTNEED`,
    providers: [f.name],
    gen: function* () {
      yield {
        0: nextC,
        bench(k: number) {
          return do_not_optimize(napiRun(napi, kernel) + userSide() + k);
        },
      };
    },
    after: () => {
      assertAudited(pool, f.name);
      if (short > 0) throw new Error(`${f.name}: ${short} dontneed calls freed fewer tokens than returned`);
      return {};
    },
  };
}

/** The legs by user-side kind; a stack user side has no zero-copy return path to measure. */
const LEGS: Partial<Record<string, (ctx: ScenarioContext, f: ProviderFixture, n: number) => BenchDef>> = {
  zcrx: zcrxLeg,
  devmem: devmemLeg,
};

export async function returnRigs(ctx: ScenarioContext, n: number): Promise<BenchDef[]> {
  const defs: BenchDef[] = [];
  for (const f of FIXTURES) {
    const leg = LEGS[f.userSide];
    if (!leg) continue;
    try {
      defs.push(leg(ctx, f, n));
    } catch (e) {
      defs.push(failing(f.name, `return:${f.name}`, `${f.name} ${f.userSide} return path`, e));
    }
  }
  return defs;
}
