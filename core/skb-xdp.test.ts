import { describe, expect, test } from "bun:test";
import { NetDevice, napiRun, onCpu } from "./netdev.ts";
import { PagePool } from "./page-pool.ts";
import {
  allocSkb,
  buildSkb,
  GRO_ETOOMANYREFS,
  kfreeSkb,
  napiPpPutPage,
  putNetmemRef,
  skbAddRxFrag,
  skbClone,
  skbFragRef,
  skbGroReceive,
  skbMarkForRecycle,
} from "./skb.ts";
import { S_CACHED, S_RELEASED_REFCNT, S_RING } from "./stats.ts";
import { expectAudit, expectCode, mkDev } from "./testing.ts";
import { ManualTimers } from "./timers.ts";
import {
  MEM_TYPE_PAGE_POOL,
  XdpFrameBulk,
  XdpRxqInfo,
  xdpDropDirect,
  xdpMemPool,
  xdpReturnFrame,
} from "./xdp.ts";

function rig() {
  const dev = mkDev(512);
  const netdev = new NetDevice({ dev });
  const napi = netdev.rxQueue(0).napi;
  const timers = new ManualTimers();
  const pool = PagePool.create({ netdev, napi, timers, log: () => {} });
  const rx = () => napiRun(napi, () => pool.allocNetmem());
  return { dev, netdev, napi, pool, timers, rx };
}

describe("skb recycling", () => {
  test("a recycled skb's frags go back to their pool; from the pool's NAPI they land in the cache", () => {
    const { pool, napi, rx } = rig();
    const skb = allocSkb();
    skbAddRxFrag(skb, rx(), 0, 1500);
    skbAddRxFrag(skb, rx(), 0, 1500);
    skbMarkForRecycle(skb);
    const cached = pool.st[S_CACHED];
    napiRun(napi, () => kfreeSkb(skb)); // napi_consume_skb in the rx poll
    expect(pool.st[S_CACHED]).toBe(cached + 2);
    expectAudit(pool);
    expectCode(() => kfreeSkb(skb), "EINVAL"); // double free
  });

  test("freed from process context on another CPU: through the ring", () => {
    const { pool, rx } = rig();
    const skb = allocSkb();
    skbAddRxFrag(skb, rx(), 0, 100);
    skbMarkForRecycle(skb);
    onCpu(1, () => kfreeSkb(skb));
    expect(pool.st[S_RING]).toBe(1);
    expectAudit(pool);
  });

  test("a page that is not a pool page fails the pp_magic check and is put_page()d", () => {
    const { dev, pool, rx } = rig();
    const plain = dev.pages.allocPages(0);
    expect(napiPpPutPage(plain)).toBe(false);
    const skb = allocSkb();
    skbAddRxFrag(skb, rx(), 0, 100);
    skbAddRxFrag(skb, plain, 0, 100);
    skbMarkForRecycle(skb);
    const free = dev.pages.freePages;
    onCpu(1, () => kfreeSkb(skb));
    expect(dev.pages.freePages).toBe(free + 1); // the plain page was freed
    expect(pool.st[S_RING]).toBe(1);
    expectAudit(pool);
  });

  test("skb_frag_ref raises the page refcount: the pool cannot recycle it, the other holder frees it", () => {
    const { dev, pool, rx } = rig();
    const ref = rx();
    const skb = allocSkb();
    skbAddRxFrag(skb, ref, 0, 100);
    skbMarkForRecycle(skb);
    const held = skbFragRef(skb, 0); // e.g. a second skb shares the page
    onCpu(1, () => kfreeSkb(skb));
    expect(pool.st[S_RELEASED_REFCNT]).toBe(1);
    expect(pool.st[S_RING]).toBe(0);
    const free = dev.pages.freePages;
    putNetmemRef(held);
    expect(dev.pages.freePages).toBe(free + 1);
    expectAudit(pool);
  });

  test("clones share the data: frags are released once, by the last skb freed", () => {
    const { pool, rx } = rig();
    const skb = allocSkb();
    skbAddRxFrag(skb, rx(), 0, 100);
    skbMarkForRecycle(skb);
    const clone = skbClone(skb);
    expect(clone.ppRecycle).toBe(true);
    onCpu(1, () => kfreeSkb(skb));
    expect(pool.st[S_RING]).toBe(0);
    onCpu(1, () => kfreeSkb(clone));
    expect(pool.st[S_RING]).toBe(1);
    expectAudit(pool);
  });

  test("GRO merges frags and a page head into the held skb; a pp_recycle mismatch is refused", () => {
    const { dev, pool, napi, rx } = rig();
    const p = allocSkb();
    skbAddRxFrag(p, rx(), 0, 1000);
    skbMarkForRecycle(p);
    const s = buildSkb(rx(), 64, 1400);
    skbAddRxFrag(s, rx(), 0, 600);
    skbMarkForRecycle(s);
    expect(skbGroReceive(p, s)).toBe(0);
    expect(p.shinfo.nrFrags).toBe(3);
    expect(p.len).toBe(3000);
    const plain = allocSkb();
    const page = dev.pages.allocPages(0);
    skbAddRxFrag(plain, page, 0, 10);
    expect(skbGroReceive(p, plain)).toBe(GRO_ETOOMANYREFS);
    expect(p.shinfo.nrFrags).toBe(3);
    kfreeSkb(plain);
    const cached = pool.st[S_CACHED];
    napiRun(napi, () => kfreeSkb(p));
    expect(pool.st[S_CACHED]).toBe(cached + 3);
    expectAudit(pool);
  });
});

describe("XDP return paths", () => {
  test("reg_mem_model makes the model a pool user; the last of driver and model tears down; disconnect retires the id", () => {
    const { netdev, napi, pool, timers, rx } = rig();
    const xrq = new XdpRxqInfo();
    expectCode(() => xrq.regMemModel(MEM_TYPE_PAGE_POOL, pool), "EFAULT");
    xrq.reg(netdev, 0, napi.id);
    expectCode(() => xrq.regMemModel(MEM_TYPE_PAGE_POOL, null), "EINVAL");
    expectCode(() => xrq.regMemModel(9, pool), "EOPNOTSUPP");
    xrq.regMemModel(MEM_TYPE_PAGE_POOL, pool);
    expect(pool.userCnt).toBe(2);
    expect(xdpMemPool(xrq.memId)).toBe(pool);
    const id = xrq.memId;
    const held = rx();
    pool.destroy(); // the driver's
    expect(pool.state).toBe("live");
    xrq.unreg(); // the model's user goes: teardown (deferred while `held` is out)
    expect(pool.state).toBe("detached");
    expect(xdpMemPool(id)).toBe(pool);
    onCpu(1, () => xdpReturnFrame(held));
    timers.advance(1000);
    expect(pool.state).toBe("freed");
    expect(xdpMemPool(id)).toBeUndefined();
  });

  test("XDP_DROP recycles straight into the cache", () => {
    const { pool, napi, rx } = rig();
    const ref = rx();
    const cached = pool.st[S_CACHED];
    napiRun(napi, () => xdpDropDirect(ref));
    expect(pool.st[S_CACHED]).toBe(cached + 1);
    expectAudit(pool);
  });

  test("TX completion in the rx NAPI bulk-recycles into the cache; a redirect completed elsewhere goes to the ring in chunks of 16", () => {
    const { pool, napi, rx } = rig();
    const bq = new XdpFrameBulk();
    const tx: number[] = [];
    for (let i = 0; i < 20; i++) tx.push(rx());
    const cached = pool.st[S_CACHED];
    napiRun(napi, () => {
      for (const r of tx) bq.add(r);
      bq.flush();
    });
    expect(pool.st[S_CACHED]).toBe(cached + 20);
    const redirected: number[] = [];
    for (let i = 0; i < 40; i++) redirected.push(rx());
    const other = new NetDevice({ dev: pool.dev }).rxQueue(0).napi;
    onCpu(2, () =>
      napiRun(other, () => {
        for (const r of redirected) bq.add(r);
        bq.flush();
      }),
    );
    expect(pool.st[S_RING]).toBe(40);
    expectAudit(pool);
  });

  test("a bulk of frames from two pools is put pool by pool", () => {
    const a = rig();
    const b = rig();
    const bq = new XdpFrameBulk();
    const refs = [a.rx(), b.rx(), a.rx(), b.rx(), a.rx()];
    onCpu(1, () => {
      for (const r of refs) bq.add(r);
      bq.flush();
    });
    expect(a.pool.st[S_RING]).toBe(3);
    expect(b.pool.st[S_RING]).toBe(2);
    expectAudit(a.pool);
    expectAudit(b.pool);
  });
});
