// @bun
// bench/child.ts
import { writeFileSync } from "fs";

// core/errors.ts
class PagePoolError extends Error {
  code;
  constructor(code, message) {
    super(`${code}: ${message}`);
    this.name = "PagePoolError";
    this.code = code;
  }
}

// core/netmem.ts
var NET_IOV = 1;
var PAGE_SHIFT = 12;
var PAGE_SIZE = 1 << PAGE_SHIFT;
var LOC_FREE = 0;
var LOC_CACHE = 1;
var LOC_RING = 2;
var LOC_INFLIGHT = 3;
var LOC_USER = 4;
var LOC_NAMES = ["free", "cache", "ring", "inflight", "user"];
var NET_IOV_DMABUF = 1;
var NET_IOV_IOURING = 2;
var NET_IOV_OTHER = 3;
var INITIAL = 1 << 12;
var nm = {
  pp: new Int32Array(INITIAL),
  ppRef: new Int32Array(INITIAL),
  dma: new Float64Array(INITIAL),
  owner: new Int32Array(INITIAL),
  idx: new Int32Array(INITIAL),
  pageRef: new Int32Array(INITIAL),
  loc: new Uint8Array(INITIAL)
};
var highWater = 1;
var freeRanges = [];
function grow(min) {
  let cap = nm.pp.length;
  while (cap < min)
    cap *= 2;
  if (cap > 1 << 30)
    throw new PagePoolError("ENOMEM", "netmem descriptor space exhausted");
  const g = (a, mk) => {
    const b = mk(cap);
    b.set(a);
    return b;
  };
  nm.pp = g(nm.pp, (n) => new Int32Array(n));
  nm.ppRef = g(nm.ppRef, (n) => new Int32Array(n));
  nm.dma = g(nm.dma, (n) => new Float64Array(n));
  nm.owner = g(nm.owner, (n) => new Int32Array(n));
  nm.idx = g(nm.idx, (n) => new Int32Array(n));
  nm.pageRef = g(nm.pageRef, (n) => new Int32Array(n));
  nm.loc = g(nm.loc, (n) => new Uint8Array(n));
}
function reserveDescriptors(n) {
  if (!Number.isInteger(n) || n <= 0)
    throw new PagePoolError("EINVAL", `descriptor count must be > 0, got ${n}`);
  for (let i = 0;i < freeRanges.length; i++) {
    const r = freeRanges[i];
    if (r.n >= n) {
      const base = r.base;
      r.base += n;
      r.n -= n;
      if (r.n === 0)
        freeRanges.splice(i, 1);
      clearRange(base, n);
      return base;
    }
  }
  const base = highWater;
  if (base + n > nm.pp.length)
    grow(base + n);
  highWater += n;
  clearRange(base, n);
  return base;
}
function releaseDescriptors(base, n) {
  clearRange(base, n);
  let i = 0;
  while (i < freeRanges.length && freeRanges[i].base < base)
    i++;
  freeRanges.splice(i, 0, { base, n });
  for (let j = freeRanges.length - 1;j > 0; j--) {
    const a = freeRanges[j - 1];
    const b = freeRanges[j];
    if (a.base + a.n === b.base) {
      a.n += b.n;
      freeRanges.splice(j, 1);
    }
  }
  const last = freeRanges[freeRanges.length - 1];
  if (last && last.base + last.n === highWater) {
    highWater = last.base;
    freeRanges.pop();
  }
}
function clearRange(base, n) {
  nm.pp.fill(0, base, base + n);
  nm.ppRef.fill(0, base, base + n);
  nm.dma.fill(0, base, base + n);
  nm.owner.fill(0, base, base + n);
  nm.idx.fill(0, base, base + n);
  nm.pageRef.fill(0, base, base + n);
  nm.loc.fill(LOC_FREE, base, base + n);
}
function descriptorLimit() {
  return highWater;
}
class NetIovArea {
  id;
  base;
  numNiovs;
  type;
  readable;
  owner;
  #disposed = false;
  constructor(id, base, numNiovs, type, readable, owner) {
    this.id = id;
    this.base = base;
    this.numNiovs = numNiovs;
    this.type = type;
    this.readable = readable;
    this.owner = owner;
  }
  niov(i) {
    return this.base + i << 1 | NET_IOV;
  }
  indexOf(ref) {
    if (!(ref & NET_IOV))
      return -1;
    const i = (ref >>> 1) - this.base;
    return i >= 0 && i < this.numNiovs ? i : -1;
  }
  get disposed() {
    return this.#disposed;
  }
  dispose() {
    if (this.#disposed)
      return;
    for (let i = 0;i < this.numNiovs; i++) {
      if (nm.pp[this.base + i] !== 0)
        throw new PagePoolError("EBUSY", `net_iov area ${this.id}: net_iov ${i} still held by pool ${nm.pp[this.base + i]}`);
    }
    this.#disposed = true;
    areas.delete(this.id);
    releaseDescriptors(this.base, this.numNiovs);
  }
}
var areas = new Map;
var nextAreaId = 1;
function createNetIovArea(numNiovs, opts) {
  if (!Number.isInteger(numNiovs) || numNiovs <= 0)
    throw new PagePoolError("EINVAL", `net_iov area size must be a positive integer, got ${numNiovs}`);
  const base = reserveDescriptors(numNiovs);
  const id = nextAreaId++;
  const area = new NetIovArea(id, base, numNiovs, opts.type, opts.readable, opts.owner);
  for (let i = 0;i < numNiovs; i++) {
    nm.owner[base + i] = id;
    nm.idx[base + i] = i;
  }
  areas.set(id, area);
  return area;
}
function netIovArea(ref) {
  if (!(ref & NET_IOV))
    return;
  return areas.get(nm.owner[ref >>> 1]);
}

// core/provider.ts
var mpStaticKey = { count: 0 };
function netmemSetPagePool(pool, ref) {
  const d = ref >>> 1;
  if (nm.pp[d] !== 0)
    throw new PagePoolError("EFAULT", `${pool.mpOps?.name ?? "provider"}: netmem ${ref} already belongs to pool ${nm.pp[d]}`);
  nm.pp[d] = pool.id;
  nm.ppRef[d] = 1;
  nm.loc[d] = LOC_INFLIGHT;
  pool.holdCount++;
}
function netmemClearPagePool(ref) {
  const d = ref >>> 1;
  nm.pp[d] = 0;
  nm.ppRef[d] = 0;
  nm.loc[d] = LOC_FREE;
}
function netmemPlaceInCache(pool, ref) {
  if (pool.cacheCount >= pool.cache.length)
    throw new PagePoolError("ENOSPC", `${pool.mpOps?.name ?? "provider"}: placed a netmem in a full alloc cache`);
  nm.loc[ref >>> 1] = LOC_CACHE;
  pool.cache[pool.cacheCount++] = ref;
}
function niovSetDmaAddr(ref, addr) {
  nm.dma[ref >>> 1] = addr;
}

// plugins/basic/provider.ts
function priv(pool) {
  return pool.mpPriv;
}
function basicAllocNetmems(pool, _gfp) {
  const ref = pool.pages.allocPages(pool.order, pool.nid);
  if (ref === 0)
    return 0;
  const addr = pool.dev.mapPage(ref);
  if (addr === 0) {
    pool.pages.putPage(ref);
    return 0;
  }
  niovSetDmaAddr(ref, addr);
  netmemSetPagePool(pool, ref);
  priv(pool).allocs++;
  return ref;
}
function basicReleaseNetmem(pool, netmem) {
  pool.dev.unmapPage(netmem);
  nm.dma[netmem >>> 1] = 0;
  priv(pool).releases++;
  return true;
}
function basicInit(pool) {
  const p = priv(pool);
  if (p.failInit)
    throw p.failInit;
  p.inits++;
}
function basicDestroy(pool) {
  priv(pool).destroys++;
}
function basicNlFill(priv, _rxq) {
  const p = priv;
  return { basic: { allocs: p.allocs, releases: p.releases } };
}
function basicUninstall(priv, _rxq) {
  priv.uninstalls++;
}
var basicOps = Object.freeze({
  name: "basic",
  allocNetmems: basicAllocNetmems,
  releaseNetmem: basicReleaseNetmem,
  init: basicInit,
  destroy: basicDestroy,
  nlFill: basicNlFill,
  uninstall: basicUninstall
});

// plugins/devmem/provider.ts
function devmemAllocNetmems(pool, _gfp) {
  const binding = pool.mpPriv;
  const ref = binding.allocNiov();
  if (ref === 0)
    return 0;
  netmemSetPagePool(pool, ref);
  return ref;
}
function devmemReleaseNetmem(pool, netmem) {
  const binding = pool.mpPriv;
  if (!(netmem & NET_IOV))
    throw new PagePoolError("EFAULT", `devmem: pool ${pool.id} released page ${netmem}, not a net_iov`);
  const refcount = nm.ppRef[netmem >>> 1];
  if (refcount !== 1)
    throw new PagePoolError("EFAULT", `devmem: pool ${pool.id} released net_iov ${netmem} with pp_ref_count ${refcount} (want 1; the kernel WARNs and leaks it)`);
  if (binding.niovIndex(netmem) < 0)
    throw new PagePoolError("EFAULT", `devmem: net_iov ${netmem} does not belong to binding ${binding.id} of pool ${pool.id}`);
  netmemClearPagePool(netmem);
  binding.freeNiov(netmem);
  return false;
}
function devmemInit(pool) {
  const binding = pool.mpPriv;
  if (!binding)
    throw new PagePoolError("EINVAL", "devmem: pool has no binding");
  pool.dmaSync = false;
  if (pool.order !== 0)
    throw new PagePoolError("E2BIG", `devmem: only order-0 pools are supported, got order ${pool.order}`);
  binding.get();
  binding.poolInits++;
}
function devmemDestroy(pool) {
  const binding = pool.mpPriv;
  binding.poolDestroys++;
  binding.put();
}
function devmemNlFill(priv, _rxq) {
  return { dmabuf: priv.id };
}
function devmemUninstall(priv, rxq) {
  priv.boundRxqs.delete(rxq);
}
var devmemOps = Object.freeze({
  name: "devmem",
  allocNetmems: devmemAllocNetmems,
  releaseNetmem: devmemReleaseNetmem,
  init: devmemInit,
  destroy: devmemDestroy,
  nlFill: devmemNlFill,
  uninstall: devmemUninstall
});

// core/page-alloc.ts
var MAX_PAGE_ORDER = 10;
var NUMA_NO_NODE = -1;
var nextAllocatorId = 1;

class PageAllocator {
  id;
  numPages;
  nodes;
  base;
  memory;
  physBase = 4294967296;
  #next;
  #prev;
  #freeOrder;
  #allocOrder;
  #heads;
  #zoneStart;
  #zoneEnd;
  #freeCount = 0;
  #disposed = false;
  constructor(opts = {}) {
    const pages = opts.pages ?? 16384;
    const nodes = opts.nodes ?? 1;
    if (!Number.isInteger(pages) || pages < 1 || pages > 1 << 22)
      throw new PagePoolError("EINVAL", `pages must be an integer in [1, 4194304], got ${pages}`);
    if (!Number.isInteger(nodes) || nodes < 1 || nodes > 64 || nodes > pages)
      throw new PagePoolError("EINVAL", `nodes must be an integer in [1, min(64, pages)], got ${nodes}`);
    this.id = nextAllocatorId++;
    this.numPages = pages;
    this.nodes = nodes;
    this.memory = new Uint8Array(new ArrayBuffer(pages * PAGE_SIZE));
    this.base = reserveDescriptors(pages);
    this.#next = new Int32Array(pages).fill(-1);
    this.#prev = new Int32Array(pages).fill(-1);
    this.#freeOrder = new Int8Array(pages).fill(-1);
    this.#allocOrder = new Int8Array(pages).fill(-1);
    this.#heads = new Int32Array(nodes * (MAX_PAGE_ORDER + 1)).fill(-1);
    this.#zoneStart = new Int32Array(nodes);
    this.#zoneEnd = new Int32Array(nodes);
    for (let n = 0;n < nodes; n++) {
      const start = Math.floor(n * pages / nodes);
      const end = Math.floor((n + 1) * pages / nodes);
      this.#zoneStart[n] = start;
      this.#zoneEnd[n] = end;
      let p = start;
      while (p < end) {
        let o = MAX_PAGE_ORDER;
        while (o > 0 && ((p - start) % (1 << o) !== 0 || p + (1 << o) > end))
          o--;
        this.#push(n, o, p);
        p += 1 << o;
      }
    }
    for (let pfn = 0;pfn < pages; pfn++)
      nm.owner[this.base + pfn] = this.id;
    for (let pfn = 0;pfn < pages; pfn++)
      nm.idx[this.base + pfn] = pfn;
    this.#freeCount = pages;
  }
  get freePages() {
    return this.#freeCount;
  }
  pageNid(ref) {
    const pfn = (ref >>> 1) - this.base;
    for (let n = 0;n < this.nodes; n++)
      if (pfn < this.#zoneEnd[n])
        return n;
    return this.nodes - 1;
  }
  owns(ref) {
    if (ref & 1 || ref === 0)
      return false;
    const pfn = (ref >>> 1) - this.base;
    return pfn >= 0 && pfn < this.numPages;
  }
  allocPages(order, nid = NUMA_NO_NODE) {
    if (order < 0 || order > MAX_PAGE_ORDER)
      return 0;
    const first = nid < 0 || nid >= this.nodes ? 0 : nid;
    for (let i = 0;i < this.nodes; i++) {
      const node = (first + i) % this.nodes;
      const pfn = this.#allocFromNode(node, order);
      if (pfn >= 0) {
        this.#allocOrder[pfn] = order;
        nm.pageRef[this.base + pfn] = 1;
        this.#freeCount -= 1 << order;
        return this.base + pfn << 1;
      }
    }
    return 0;
  }
  allocPagesBulk(nid, n, out, off = 0) {
    let i = 0;
    for (;i < n; i++) {
      const ref = this.allocPages(0, nid);
      if (ref === 0)
        break;
      out[off + i] = ref;
    }
    return i;
  }
  getPage(ref) {
    this.#check(ref);
    nm.pageRef[ref >>> 1]++;
  }
  putPage(ref) {
    this.#check(ref);
    const d = ref >>> 1;
    const c = --nm.pageRef[d];
    if (c > 0)
      return;
    if (c < 0) {
      nm.pageRef[d] = 0;
      throw new PagePoolError("EFAULT", `put_page on a free page (ref ${ref}): refcount underflow`);
    }
    const pfn = d - this.base;
    const order = this.#allocOrder[pfn];
    this.#allocOrder[pfn] = -1;
    this.#freeCount += 1 << order;
    this.#freeBlock(pfn, order);
  }
  orderOf(ref) {
    this.#check(ref);
    return this.#allocOrder[(ref >>> 1) - this.base];
  }
  offsetOf(ref) {
    return (ref >>> 1) - this.base << PAGE_SHIFT;
  }
  physAddr(ref) {
    return this.physBase + this.offsetOf(ref);
  }
  bytes(ref) {
    this.#check(ref);
    const pfn = (ref >>> 1) - this.base;
    const order = this.#allocOrder[pfn];
    if (order < 0)
      throw new PagePoolError("EFAULT", `page ref ${ref} is not allocated`);
    return this.memory.subarray(pfn << PAGE_SHIFT, pfn + (1 << order) << PAGE_SHIFT);
  }
  dispose() {
    if (this.#disposed)
      return;
    if (this.#freeCount !== this.numPages)
      throw new PagePoolError("EBUSY", `page allocator ${this.id}: ${this.numPages - this.#freeCount} pages still allocated`);
    this.#disposed = true;
    releaseDescriptors(this.base, this.numPages);
  }
  checkInvariants() {
    let free = 0;
    const seen = new Uint8Array(this.numPages);
    for (let n = 0;n < this.nodes; n++) {
      for (let o = 0;o <= MAX_PAGE_ORDER; o++) {
        for (let p = this.#heads[n * (MAX_PAGE_ORDER + 1) + o];p >= 0; p = this.#next[p]) {
          if (this.#freeOrder[p] !== o)
            throw new Error(`buddy: pfn ${p} on order-${o} list has order ${this.#freeOrder[p]}`);
          if (p < this.#zoneStart[n] || p + (1 << o) > this.#zoneEnd[n])
            throw new Error(`buddy: block ${p} leaves node ${n}`);
          for (let q = p;q < p + (1 << o); q++) {
            if (seen[q])
              throw new Error(`buddy: pfn ${q} free twice`);
            if (this.#allocOrder[q] >= 0)
              throw new Error(`buddy: pfn ${q} both free and allocated`);
            seen[q] = 1;
          }
          free += 1 << o;
        }
      }
    }
    if (free !== this.#freeCount)
      throw new Error(`buddy: free lists hold ${free}, counter says ${this.#freeCount}`);
  }
  #check(ref) {
    if (!this.owns(ref))
      throw new PagePoolError("EFAULT", `ref ${ref} is not a page of allocator ${this.id}`);
  }
  #allocFromNode(node, order) {
    const H = MAX_PAGE_ORDER + 1;
    let o = order;
    while (o <= MAX_PAGE_ORDER && this.#heads[node * H + o] < 0)
      o++;
    if (o > MAX_PAGE_ORDER)
      return -1;
    const pfn = this.#heads[node * H + o];
    this.#unlink(node, o, pfn);
    while (o > order) {
      o--;
      this.#push(node, o, pfn + (1 << o));
    }
    return pfn;
  }
  #freeBlock(pfn, order) {
    let node = 0;
    while (pfn >= this.#zoneEnd[node])
      node++;
    const start = this.#zoneStart[node];
    const end = this.#zoneEnd[node];
    while (order < MAX_PAGE_ORDER) {
      const buddy = start + (pfn - start ^ 1 << order);
      if (buddy < start || buddy + (1 << order) > end || this.#freeOrder[buddy] !== order)
        break;
      this.#unlink(node, order, buddy);
      pfn = Math.min(pfn, buddy);
      order++;
    }
    this.#push(node, order, pfn);
  }
  #push(node, order, pfn) {
    const h = node * (MAX_PAGE_ORDER + 1) + order;
    const head = this.#heads[h];
    this.#next[pfn] = head;
    this.#prev[pfn] = -1;
    if (head >= 0)
      this.#prev[head] = pfn;
    this.#heads[h] = pfn;
    this.#freeOrder[pfn] = order;
  }
  #unlink(node, order, pfn) {
    const h = node * (MAX_PAGE_ORDER + 1) + order;
    const n = this.#next[pfn];
    const p = this.#prev[pfn];
    if (p >= 0)
      this.#next[p] = n;
    else
      this.#heads[h] = n;
    if (n >= 0)
      this.#prev[n] = p;
    this.#next[pfn] = -1;
    this.#prev[pfn] = -1;
    this.#freeOrder[pfn] = -1;
  }
}

class DmaDevice {
  name;
  pages;
  cacheAlignment;
  needSync;
  maps = 0;
  unmaps = 0;
  syncForDeviceBytes = 0;
  syncForDeviceCalls = 0;
  failNextMaps = 0;
  constructor(pages, opts = {}) {
    this.pages = pages;
    this.name = opts.name ?? "dev0";
    this.cacheAlignment = opts.cacheAlignment ?? 1;
    this.needSync = opts.needSync ?? true;
    if (!Number.isInteger(this.cacheAlignment) || this.cacheAlignment < 1 || (this.cacheAlignment & this.cacheAlignment - 1) !== 0)
      throw new PagePoolError("EINVAL", `cacheAlignment must be a power of two, got ${opts.cacheAlignment}`);
  }
  mapPage(ref) {
    if (this.failNextMaps > 0) {
      this.failNextMaps--;
      return 0;
    }
    this.maps++;
    return this.pages.physAddr(ref);
  }
  unmapPage(_ref) {
    this.unmaps++;
  }
  syncForDevice(_dmaAddr, len) {
    this.syncForDeviceCalls++;
    this.syncForDeviceBytes += len;
  }
}
var defaultDev;
function defaultDmaDevice() {
  if (!defaultDev)
    defaultDev = new DmaDevice(new PageAllocator, { name: "default" });
  return defaultDev;
}

// core/netdev.ts
var cpu = { id: 0, inSoftirq: false };
var nextNapiId = 1;

class Napi {
  id;
  listOwner = -1;
  constructor() {
    this.id = nextNapiId++;
  }
}
function napiRun(napi, fn) {
  const savedSoftirq = cpu.inSoftirq;
  const savedOwner = napi.listOwner;
  cpu.inSoftirq = true;
  napi.listOwner = cpu.id;
  try {
    return fn();
  } finally {
    cpu.inSoftirq = savedSoftirq;
    napi.listOwner = savedOwner;
  }
}

class RxQueue {
  netdev;
  index;
  napi;
  mpParams = { ops: null, priv: null };
  pools = new Set;
  restarts = 0;
  constructor(netdev, index) {
    this.netdev = netdev;
    this.index = index;
    this.napi = new Napi;
  }
}
var nextIfindex = 2;

class NetDevice {
  ifindex;
  name;
  dev;
  rxQueues;
  tcpDataSplit;
  registered = true;
  onQueueRestart = null;
  constructor(opts = {}) {
    const n = opts.rxQueues ?? 1;
    if (!Number.isInteger(n) || n < 1 || n > 1024)
      throw new PagePoolError("EINVAL", `rxQueues must be an integer in [1, 1024], got ${opts.rxQueues}`);
    this.ifindex = nextIfindex++;
    this.name = opts.name ?? `eth${this.ifindex - 2}`;
    this.dev = opts.dev ?? defaultDmaDevice();
    this.tcpDataSplit = opts.tcpDataSplit ?? true;
    this.rxQueues = Array.from({ length: n }, (_, i) => new RxQueue(this, i));
  }
  rxQueue(idx) {
    if (!Number.isInteger(idx) || idx < 0 || idx >= this.rxQueues.length)
      throw new PagePoolError("EINVAL", `${this.name}: rx queue ${idx} out of range [0, ${this.rxQueues.length})`);
    return this.rxQueues[idx];
  }
  bindRxQueue(queueIdx, ops, priv) {
    if (!this.registered)
      throw new PagePoolError("ENODEV", `${this.name} is unregistered`);
    const rxq = this.rxQueue(queueIdx);
    if (providerKind(ops) === 0)
      throw new PagePoolError("EFAULT", `provider "${ops?.name}" is not a registered provider (only plugins/ found by codegen can be bound)`);
    if (!this.tcpDataSplit)
      throw new PagePoolError("EINVAL", `${this.name}: tcp-data-split is disabled`);
    if (rxq.mpParams.ops)
      throw new PagePoolError("EEXIST", `${this.name} rx queue ${queueIdx}: designated queue already memory provider bound`);
    rxq.mpParams = { ops, priv };
    this.#restart(rxq);
    return rxq;
  }
  unbindRxQueue(queueIdx, priv) {
    const rxq = this.rxQueue(queueIdx);
    if (!rxq.mpParams.ops)
      throw new PagePoolError("ENOENT", `${this.name} rx queue ${queueIdx}: no memory provider bound`);
    if (priv !== undefined && rxq.mpParams.priv !== priv)
      throw new PagePoolError("EINVAL", `${this.name} rx queue ${queueIdx}: bound to a different provider instance`);
    rxq.mpParams = { ops: null, priv: null };
    if (this.registered)
      this.#restart(rxq);
  }
  unregister() {
    if (!this.registered)
      return;
    this.registered = false;
    for (const rxq of this.rxQueues) {
      const { ops, priv } = rxq.mpParams;
      if (ops) {
        ops.uninstall?.(priv, rxq);
        rxq.mpParams = { ops: null, priv: null };
      }
      for (const pool of rxq.pools)
        pool.netdevGone();
    }
  }
  #restart(rxq) {
    rxq.restarts++;
    this.onQueueRestart?.(rxq);
  }
}

// core/ptr-ring.ts
var SMP_CACHE_BYTES = 64;
var PTR_SIZE = 8;

class PtrRing {
  size;
  queue;
  batch;
  producer = 0;
  consumerHead = 0;
  consumerTail = 0;
  constructor(size) {
    this.size = size;
    this.queue = new Int32Array(size);
    let batch = SMP_CACHE_BYTES * 2 / PTR_SIZE;
    if (batch > size / 2 || batch === 0)
      batch = 1;
    this.batch = batch;
  }
  produce(ref) {
    const q = this.queue;
    if (this.size === 0 || q[this.producer] !== 0)
      return false;
    q[this.producer++] = ref;
    if (this.producer >= this.size)
      this.producer = 0;
    return true;
  }
  isEmpty() {
    return this.size === 0 || this.queue[this.consumerHead] === 0;
  }
  consume() {
    if (this.size === 0)
      return 0;
    const q = this.queue;
    const ref = q[this.consumerHead];
    if (ref === 0)
      return 0;
    let consumerHead = this.consumerHead;
    let head = consumerHead++;
    if (consumerHead - this.consumerTail >= this.batch || consumerHead >= this.size) {
      while (head >= this.consumerTail)
        q[head--] = 0;
      this.consumerTail = consumerHead;
    }
    if (consumerHead >= this.size) {
      consumerHead = 0;
      this.consumerTail = 0;
    }
    this.consumerHead = consumerHead;
    return ref;
  }
  count() {
    if (this.size === 0 || this.queue[this.consumerHead] === 0)
      return 0;
    const n = (this.producer - this.consumerHead + this.size) % this.size;
    return n === 0 ? this.size : n;
  }
  forEach(fn) {
    const n = this.count();
    for (let i = 0;i < n; i++)
      fn(this.queue[(this.consumerHead + i) % this.size]);
  }
}

// core/stats.ts
var STAT_NAMES = [
  "fast",
  "slow",
  "slowHighOrder",
  "empty",
  "refill",
  "waive",
  "cached",
  "cacheFull",
  "ring",
  "ringFull",
  "releasedRefcnt"
];
var S_FAST = 0;
var S_SLOW = 1;
var S_SLOW_HIGH_ORDER = 2;
var S_EMPTY = 3;
var S_REFILL = 4;
var S_WAIVE = 5;
var S_CACHED = 6;
var S_CACHE_FULL = 7;
var S_RING = 8;
var S_RING_FULL = 9;
var S_RELEASED_REFCNT = 10;
var NUM_STATS = STAT_NAMES.length;
function statsFromArray(st) {
  return {
    alloc: {
      fast: st[S_FAST],
      slow: st[S_SLOW],
      slowHighOrder: st[S_SLOW_HIGH_ORDER],
      empty: st[S_EMPTY],
      refill: st[S_REFILL],
      waive: st[S_WAIVE]
    },
    recycle: {
      cached: st[S_CACHED],
      cacheFull: st[S_CACHE_FULL],
      ring: st[S_RING],
      ringFull: st[S_RING_FULL],
      releasedRefcnt: st[S_RELEASED_REFCNT]
    }
  };
}
function flatStats(st) {
  const out = {};
  for (let i = 0;i < STAT_NAMES.length; i++)
    out[STAT_NAMES[i]] = st[i];
  return out;
}

// core/timers.ts
var realTimers = {
  now: () => performance.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t;
  },
  clearTimeout(h) {
    clearTimeout(h);
  }
};

// core/page-pool.ts
var PP_ALLOC_CACHE_SIZE = 128;
var PP_ALLOC_CACHE_REFILL = 64;
var PP_RING_DEFAULT_SIZE = 1024;
var PP_RING_MAX_SIZE = 16384;
var PP_FLAG_DMA_MAP = 1 << 0;
var PP_FLAG_DMA_SYNC_DEV = 1 << 1;
var PP_FLAG_SYSTEM_POOL = 1 << 2;
var PP_FLAG_ALLOW_UNREADABLE_NETMEM = 1 << 3;
var PP_FLAG_ALL = PP_FLAG_DMA_MAP | PP_FLAG_DMA_SYNC_DEV | PP_FLAG_SYSTEM_POOL | PP_FLAG_ALLOW_UNREADABLE_NETMEM;
var DEFER_TIME_MS = 1000;
var DEFER_WARN_INTERVAL_MS = 60000;
var BIAS_MAX = 1073741823;
var GFP_ATOMIC = 1;
var nextPoolId = 1;
var poolsById = new Map;

class PagePool {
  id;
  order;
  nid;
  maxLen;
  offset;
  flags;
  dmaDir;
  dev;
  pages;
  timers;
  log;
  napi;
  cpuid = -1;
  netdev;
  queueIdx;
  rxq;
  dmaMap;
  dmaSync;
  cache = new Int32Array(PP_ALLOC_CACHE_SIZE);
  cacheCount = 0;
  ring;
  st = new Float64Array(NUM_STATS);
  holdCount = 0;
  releaseCount = 0;
  fragPage = 0;
  fragOffset = 0;
  fragUsers = 0;
  outOffset = 0;
  outSize = 0;
  dmaSyncBytes = 0;
  dmaSyncCalls = 0;
  mpOps;
  mpPriv;
  mpKind;
  state = "live";
  destroyCnt = 0;
  detachTime = 0;
  deferWarn = 0;
  #retry = null;
  stalledWarnings = 0;
  constructor(p, mp) {
    this.order = p.order ?? 0;
    this.nid = p.nid ?? NUMA_NO_NODE;
    this.maxLen = p.maxLen ?? 0;
    this.offset = p.offset ?? 0;
    this.flags = p.flags ?? 0;
    this.dmaDir = p.dmaDir ?? "from-device";
    this.netdev = p.netdev ?? null;
    this.queueIdx = p.queueIdx ?? -1;
    this.rxq = mp.rxq;
    this.dev = p.dev ?? this.netdev?.dev ?? defaultDmaDevice();
    this.pages = this.dev.pages;
    this.napi = p.napi ?? null;
    this.timers = p.timers ?? realTimers;
    this.log = p.log ?? ((m) => console.warn(m));
    this.dmaMap = (this.flags & PP_FLAG_DMA_MAP) !== 0;
    this.dmaSync = (this.flags & PP_FLAG_DMA_SYNC_DEV) !== 0;
    const poolSize = p.poolSize ?? 0;
    this.ring = new PtrRing(poolSize ? Math.min(poolSize, PP_RING_MAX_SIZE) : PP_RING_DEFAULT_SIZE);
    this.mpOps = mp.ops;
    this.mpPriv = mp.priv;
    this.mpKind = mp.ops ? providerKind(mp.ops) : 0;
    this.id = nextPoolId++;
  }
  static create(params = {}) {
    const p = params;
    const flags = p.flags ?? 0;
    const intField = (name, v, min, max) => {
      if (v === undefined)
        return;
      if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max)
        throw new PagePoolError("EINVAL", `${name} must be an integer in [${min}, ${max}], got ${String(v)}`);
    };
    intField("flags", p.flags, 0, 2147483647);
    if (flags & ~PP_FLAG_ALL)
      throw new PagePoolError("EINVAL", `flags: unknown flag bits 0x${(flags & ~PP_FLAG_ALL).toString(16)}`);
    intField("order", p.order, 0, 31);
    intField("poolSize", p.poolSize, 0, 2147483647);
    intField("maxLen", p.maxLen, 0, 2147483647);
    intField("offset", p.offset, 0, 2147483647);
    intField("nid", p.nid, -1, 63);
    if (p.queueIdx !== undefined)
      intField("queueIdx", p.queueIdx, 0, 1023);
    const dmaDir = p.dmaDir ?? "from-device";
    if (!["bidirectional", "to-device", "from-device", "none"].includes(dmaDir))
      throw new PagePoolError("EINVAL", `dmaDir must be one of bidirectional, to-device, from-device, none; got ${String(dmaDir)}`);
    if (flags & PP_FLAG_DMA_MAP && dmaDir !== "from-device" && dmaDir !== "bidirectional")
      throw new PagePoolError("EINVAL", `dmaDir must be from-device or bidirectional with PP_FLAG_DMA_MAP, got ${dmaDir}`);
    if (flags & PP_FLAG_DMA_SYNC_DEV) {
      if (!(flags & PP_FLAG_DMA_MAP))
        throw new PagePoolError("EINVAL", "flags: PP_FLAG_DMA_SYNC_DEV requires PP_FLAG_DMA_MAP");
      if (!p.maxLen)
        throw new PagePoolError("EINVAL", "maxLen must be non-zero with PP_FLAG_DMA_SYNC_DEV");
    }
    let rxq = null;
    let ops = null;
    let priv = null;
    if (flags & PP_FLAG_ALLOW_UNREADABLE_NETMEM) {
      if (!p.netdev || p.queueIdx === undefined)
        throw new PagePoolError("EINVAL", "queueIdx (and netdev) required with PP_FLAG_ALLOW_UNREADABLE_NETMEM");
      rxq = p.netdev.rxQueue(p.queueIdx);
      ops = rxq.mpParams.ops;
      priv = rxq.mpParams.priv;
    } else if (p.netdev && p.queueIdx !== undefined) {
      rxq = p.netdev.rxQueue(p.queueIdx);
    }
    const pool = new PagePool({ ...p, dmaDir }, { ops, priv, rxq });
    if (ops) {
      if (!pool.dmaMap || !pool.dmaSync)
        throw new PagePoolError("EOPNOTSUPP", "a memory provider needs flags PP_FLAG_DMA_MAP | PP_FLAG_DMA_SYNC_DEV");
      if (!Object.isFrozen(ops) || pool.mpKind === 0)
        throw new PagePoolError("EFAULT", `provider "${ops.name}" ops are not a frozen, registered table`);
      mpInit(pool);
      mpStaticKey.count++;
    } else if (pool.order > MAX_PAGE_ORDER) {
      throw new PagePoolError("EINVAL", `order must be <= MAX_PAGE_ORDER (${MAX_PAGE_ORDER}), got ${pool.order}`);
    }
    poolsById.set(pool.id, pool);
    rxq?.pools.add(pool);
    return pool;
  }
  allocNetmem(gfp = GFP_ATOMIC) {
    if (this.cacheCount > 0) {
      const ref = this.cache[--this.cacheCount];
      this.st[S_FAST]++;
      nm.loc[ref >>> 1] = LOC_INFLIGHT;
      return ref;
    }
    let ref = this.#refillAllocCache();
    if (ref === 0) {
      ref = mpAllocNetmems(this, gfp);
      if (ref === 0)
        return 0;
    }
    nm.loc[ref >>> 1] = LOC_INFLIGHT;
    return ref;
  }
  #refillAllocCache() {
    const ring = this.ring;
    if (ring.isEmpty()) {
      this.st[S_EMPTY]++;
      return 0;
    }
    const prefNid = this.nid === NUMA_NO_NODE ? 0 : this.nid;
    let ref = 0;
    do {
      ref = ring.consume();
      if (ref === 0)
        break;
      if (ref & NET_IOV || this.pages.pageNid(ref) === prefNid) {
        nm.loc[ref >>> 1] = LOC_CACHE;
        this.cache[this.cacheCount++] = ref;
      } else {
        this.returnNetmem(ref);
        this.st[S_WAIVE]++;
        ref = 0;
        break;
      }
    } while (this.cacheCount < PP_ALLOC_CACHE_REFILL);
    if (this.cacheCount > 0) {
      ref = this.cache[--this.cacheCount];
      this.st[S_REFILL]++;
    }
    return ref;
  }
  allocPagesSlow(_gfp) {
    if (this.order > 0)
      return this.#allocPageOrder();
    if (this.cacheCount > 0)
      return this.cache[--this.cacheCount];
    const n = this.pages.allocPagesBulk(this.nid, PP_ALLOC_CACHE_REFILL, this.cache, 0);
    if (n === 0)
      return 0;
    const cache = this.cache;
    for (let i = 0;i < n; i++) {
      const ref = cache[i];
      if (this.dmaMap && !this.#dmaMap(ref)) {
        this.pages.putPage(ref);
        continue;
      }
      this.#setPpInfo(ref);
      nm.loc[ref >>> 1] = LOC_CACHE;
      cache[this.cacheCount++] = ref;
      this.holdCount++;
    }
    if (this.cacheCount === 0)
      return 0;
    this.st[S_SLOW]++;
    return cache[--this.cacheCount];
  }
  #allocPageOrder() {
    const ref = this.pages.allocPages(this.order, this.nid);
    if (ref === 0)
      return 0;
    if (this.dmaMap && !this.#dmaMap(ref)) {
      this.pages.putPage(ref);
      return 0;
    }
    this.holdCount++;
    this.#setPpInfo(ref);
    this.st[S_SLOW_HIGH_ORDER]++;
    return ref;
  }
  #setPpInfo(ref) {
    const d = ref >>> 1;
    nm.pp[d] = this.id;
    nm.ppRef[d] = 1;
  }
  #dmaMap(ref) {
    const addr = this.dev.mapPage(ref);
    if (addr === 0)
      return false;
    nm.dma[ref >>> 1] = addr;
    this.#syncForDevice(ref, this.maxLen);
    return true;
  }
  allocFragNetmem(size, gfp = GFP_ATOMIC) {
    const maxSize = PAGE_SIZE << this.order;
    if (!(size > 0 && size <= maxSize)) {
      throw new PagePoolError("EINVAL", `frag size must be in [1, ${maxSize}], got ${size}`);
    }
    const align = this.dev.cacheAlignment;
    size = size + align - 1 & ~(align - 1);
    let ref = this.fragPage;
    const offset = this.fragOffset;
    if (ref !== 0 && offset + size > maxSize) {
      ref = this.#drainFrag(ref);
      if (ref !== 0) {
        this.fragPage = ref;
        this.st[S_CACHED]++;
        this.st[S_FAST]++;
        this.fragUsers = 1;
        this.outOffset = 0;
        this.fragOffset = size;
        nm.ppRef[ref >>> 1] = BIAS_MAX;
        nm.loc[ref >>> 1] = LOC_INFLIGHT;
        return ref;
      }
    }
    if (ref === 0) {
      ref = this.allocNetmem(gfp);
      if (ref === 0) {
        this.fragPage = 0;
        return 0;
      }
      this.fragPage = ref;
      this.fragUsers = 1;
      this.outOffset = 0;
      this.fragOffset = size;
      nm.ppRef[ref >>> 1] = BIAS_MAX;
      return ref;
    }
    this.fragUsers++;
    this.outOffset = offset;
    this.fragOffset = offset + size;
    return ref;
  }
  allocNetmemSized(size, gfp = GFP_ATOMIC) {
    const maxSize = PAGE_SIZE << this.order;
    if (size * 2 > maxSize) {
      this.outSize = maxSize;
      this.outOffset = 0;
      return this.allocNetmem(gfp);
    }
    const ref = this.allocFragNetmem(size, gfp);
    if (ref === 0)
      return 0;
    this.outSize = size;
    if (this.fragOffset + size > maxSize) {
      this.outSize = maxSize - this.outOffset;
      this.fragOffset = maxSize;
    }
    return ref;
  }
  #drainFrag(ref) {
    const drain = BIAS_MAX - this.fragUsers;
    this.fragPage = 0;
    if (unrefNetmem(ref, drain) !== 0)
      return 0;
    if (this.#canRecycle(ref)) {
      this.#syncForDevice(ref, -1);
      return ref;
    }
    this.returnNetmem(ref);
    return 0;
  }
  #freeFrag() {
    const ref = this.fragPage;
    this.fragPage = 0;
    if (ref === 0 || unrefNetmem(ref, BIAS_MAX - this.fragUsers) !== 0)
      return;
    this.returnNetmem(ref);
  }
  refNetmem(ref) {
    this.#checkOwned(ref, "refNetmem");
    nm.ppRef[ref >>> 1]++;
  }
  fragmentNetmem(ref, n) {
    this.#checkOwned(ref, "fragmentNetmem");
    if (!Number.isInteger(n) || n < 1 || n > BIAS_MAX)
      throw new PagePoolError("EINVAL", `fragment count must be in [1, ${BIAS_MAX}], got ${n}`);
    nm.ppRef[ref >>> 1] = n;
  }
  putNetmem(ref, dmaSyncSize, allowDirect) {
    this.#checkOwned(ref, "putNetmem");
    if (unrefNetmem(ref, 1) !== 0)
      return;
    this.putUnrefedNetmem(ref, dmaSyncSize, allowDirect);
  }
  putFullNetmem(ref, allowDirect) {
    this.putNetmem(ref, -1, allowDirect);
  }
  recycleDirect(ref) {
    this.putNetmem(ref, -1, true);
  }
  putUnrefedNetmem(ref, dmaSyncSize, allowDirect) {
    if (!allowDirect)
      allowDirect = this.napiLocal();
    if (this.#canRecycle(ref)) {
      this.#syncForDevice(ref, dmaSyncSize);
      if (allowDirect) {
        if (this.cacheCount < PP_ALLOC_CACHE_SIZE) {
          nm.loc[ref >>> 1] = LOC_CACHE;
          this.cache[this.cacheCount++] = ref;
          this.st[S_CACHED]++;
          return;
        }
        this.st[S_CACHE_FULL]++;
      }
      if (this.ring.produce(ref)) {
        nm.loc[ref >>> 1] = LOC_RING;
        this.st[S_RING]++;
        return;
      }
      this.st[S_RING_FULL]++;
      this.returnNetmem(ref);
      return;
    }
    this.st[S_RELEASED_REFCNT]++;
    this.returnNetmem(ref);
  }
  putNetmemBulk(refs, n = refs.length) {
    const allowDirect = this.napiLocal();
    for (let i = 0;i < n; i++) {
      const ref = refs[i];
      this.#checkOwned(ref, "putNetmemBulk");
      if (unrefNetmem(ref, 1) !== 0)
        continue;
      this.putUnrefedNetmem(ref, -1, allowDirect);
    }
  }
  napiLocal() {
    if (!cpu.inSoftirq)
      return false;
    if (this.cpuid === cpu.id)
      return true;
    const napi = this.napi;
    return napi !== null && napi.listOwner === cpu.id;
  }
  #canRecycle(ref) {
    return (ref & NET_IOV) !== 0 || nm.pageRef[ref >>> 1] === 1;
  }
  #syncForDevice(ref, dmaSyncSize) {
    if (!this.dmaSync || !this.dev.needSync)
      return;
    const len = dmaSyncSize < 0 ? this.maxLen : Math.min(dmaSyncSize, this.maxLen);
    this.dmaSyncBytes += len;
    this.dmaSyncCalls++;
    this.dev.syncForDevice(nm.dma[ref >>> 1] + this.offset, len);
  }
  returnNetmem(ref) {
    const put = mpReleaseNetmem(this, ref);
    this.releaseCount++;
    const d = ref >>> 1;
    if (put) {
      nm.pp[d] = 0;
      nm.ppRef[d] = 0;
      nm.loc[d] = LOC_FREE;
      this.pages.putPage(ref);
    } else if (nm.pp[d] === this.id) {
      throw new PagePoolError("EFAULT", `provider "${this.mpOps?.name}" kept netmem ${ref} without detaching it`);
    }
  }
  releasePageDma(ref) {
    if (!this.dmaMap)
      return;
    const d = ref >>> 1;
    if (nm.dma[d] === 0)
      return;
    this.dev.unmapPage(ref);
    nm.dma[d] = 0;
  }
  #checkOwned(ref, what) {
    const d = ref >>> 1;
    if (ref <= 0 || d >= nm.pp.length || nm.pp[d] !== this.id)
      throw new PagePoolError("EINVAL", `${what}: netmem ${ref} does not belong to pool ${this.id}`);
    if (nm.loc[d] !== LOC_INFLIGHT)
      throw new PagePoolError("EINVAL", `${what}: netmem ${ref} is not in flight (it is in the ${LOC_NAMES[nm.loc[d]]}): double put?`);
  }
  get inflight() {
    return this.holdCount - this.releaseCount;
  }
  get stats() {
    return statsFromArray(this.st);
  }
  describe() {
    const d = {
      id: this.id,
      inflight: this.inflight,
      inflightMem: this.inflight * (PAGE_SIZE << this.order)
    };
    if (this.netdev)
      d.ifindex = this.netdev.ifindex;
    if (this.napi)
      d.napiId = this.napi.id;
    if (this.state !== "live")
      d.detachTime = Math.floor(this.detachTime / 1000);
    const extra = mpNlFill(this);
    if (extra)
      Object.assign(d, extra);
    return d;
  }
  audit() {
    const problems = [];
    const seen = new Set;
    const check = (ref, where, loc) => {
      const d = ref >>> 1;
      if (ref === 0)
        problems.push(`${where}: empty slot inside the live range`);
      else if (seen.has(ref))
        problems.push(`netmem ${ref} appears twice (${where})`);
      else if (nm.pp[d] !== this.id)
        problems.push(`netmem ${ref} in ${where} belongs to pool ${nm.pp[d]}`);
      else if (nm.loc[d] !== loc)
        problems.push(`netmem ${ref} in ${where} is marked ${LOC_NAMES[nm.loc[d]]}`);
      else if (nm.ppRef[d] !== 1)
        problems.push(`netmem ${ref} in ${where} has pp_ref_count ${nm.ppRef[d]} (want 1)`);
      seen.add(ref);
    };
    for (let i = 0;i < this.cacheCount; i++)
      check(this.cache[i], "cache", LOC_CACHE);
    this.ring.forEach((ref) => {
      check(ref, "ring", LOC_RING);
    });
    let inflight = 0;
    let cacheMarked = 0;
    let ringMarked = 0;
    const lim = descriptorLimit();
    for (let d = 1;d < lim; d++) {
      if (nm.pp[d] !== this.id)
        continue;
      const loc = nm.loc[d];
      if (loc === LOC_INFLIGHT) {
        inflight++;
        if (nm.ppRef[d] < 1)
          problems.push(`in-flight descriptor ${d} has pp_ref_count ${nm.ppRef[d]}`);
      } else if (loc === LOC_CACHE)
        cacheMarked++;
      else if (loc === LOC_RING)
        ringMarked++;
      else
        problems.push(`descriptor ${d} is attached to pool ${this.id} but marked ${LOC_NAMES[loc]}`);
    }
    if (cacheMarked !== this.cacheCount)
      problems.push(`${cacheMarked} netmems marked cache, cache holds ${this.cacheCount}`);
    const ringCount = this.ring.count();
    if (ringMarked !== ringCount)
      problems.push(`${ringMarked} netmems marked ring, ring holds ${ringCount}`);
    const held = this.holdCount - this.releaseCount;
    if (held < 0)
      problems.push(`inflight is negative: hold ${this.holdCount} - release ${this.releaseCount}`);
    if (held !== this.cacheCount + ringCount + inflight)
      problems.push(`hold - release = ${held}, but cache ${this.cacheCount} + ring ${ringCount} + in flight ${inflight}`);
    return {
      ok: problems.length === 0,
      problems,
      cache: this.cacheCount,
      ring: ringCount,
      inflight,
      hold: this.holdCount,
      release: this.releaseCount
    };
  }
  destroy() {
    if (this.state !== "live")
      throw new PagePoolError("EINVAL", `pool ${this.id} is already destroyed`);
    this.cpuid = -1;
    this.napi = null;
    this.#freeFrag();
    const inflight = this.#release();
    if (inflight === 0)
      return;
    this.state = "detached";
    this.detachTime = this.timers.now();
    this.deferWarn = this.detachTime + DEFER_WARN_INTERVAL_MS;
    this.#retry = this.timers.setTimeout(() => this.#releaseRetry(), DEFER_TIME_MS);
  }
  #release() {
    this.#scrub();
    const inflight = this.inflight;
    if (inflight === 0)
      this.#free();
    return inflight;
  }
  #scrub() {
    if (this.destroyCnt === 0) {
      while (this.cacheCount > 0)
        this.returnNetmem(this.cache[--this.cacheCount]);
      this.dmaSync = false;
    }
    this.destroyCnt++;
    for (let ref = this.ring.consume();ref !== 0; ref = this.ring.consume()) {
      if (!(ref & NET_IOV) && nm.pageRef[ref >>> 1] !== 1)
        this.log(`page_pool_empty_ring(): page ${ref} refcount != 1`);
      this.returnNetmem(ref);
    }
  }
  #releaseRetry() {
    this.#retry = null;
    if (this.state !== "detached")
      return;
    const inflight = this.#release();
    if (inflight <= 0) {
      if (inflight < 0)
        this.log(`page_pool_release_retry(): pool ${this.id} inflight ${inflight} < 0, giving up`);
      return;
    }
    const now = this.timers.now();
    if (now >= this.deferWarn && (this.netdev === null || !this.netdev.registered)) {
      const sec = Math.floor((now - this.detachTime) / 1000);
      this.stalledWarnings++;
      this.log(`page_pool_release_retry() stalled pool shutdown: id ${this.id}, ${inflight} inflight ${sec} sec`);
      this.deferWarn = now + DEFER_WARN_INTERVAL_MS;
    }
    this.#retry = this.timers.setTimeout(() => this.#releaseRetry(), DEFER_TIME_MS);
  }
  #free() {
    this.state = "freed";
    if (this.#retry !== null)
      this.timers.clearTimeout(this.#retry);
    this.#retry = null;
    if (this.mpOps) {
      mpDestroy(this);
      mpStaticKey.count--;
    }
    poolsById.delete(this.id);
    this.rxq?.pools.delete(this);
  }
  updateNid(nid) {
    if (!Number.isInteger(nid) || nid < NUMA_NO_NODE)
      throw new PagePoolError("EINVAL", `nid must be >= -1, got ${nid}`);
    this.nid = nid;
  }
  netdevGone() {
    this.netdev = null;
  }
}
function unrefNetmem(ref, nr) {
  const d = ref >>> 1;
  const cur = nm.ppRef[d];
  if (cur === nr) {
    nm.ppRef[d] = 1;
    return 0;
  }
  const left = cur - nr;
  if (left < 0) {
    throw new PagePoolError("EFAULT", `netmem ${ref}: pp_ref_count underflow (${cur} - ${nr})`);
  }
  nm.ppRef[d] = left;
  return left;
}

// plugins/huge/provider.ts
var HUGE_FOLIO_ORDER = 9;
var HUGE_FOLIO_SIZE = PAGE_SIZE << HUGE_FOLIO_ORDER;
var HUGE_CHUNK_SIZES = [2048, 4096];

class HugeProvider {
  dev;
  chunkSize;
  chunksPerFolio;
  maxFolios;
  folioRef;
  folioDma;
  folioFree;
  freeStack;
  chunkOut;
  areas;
  #tags;
  #current = -1;
  liveFolios = 0;
  chunksOut = 0;
  folioAllocs = 0;
  folioFrees = 0;
  allocFailures = 0;
  inits = 0;
  destroys = 0;
  pools = 0;
  #disposed = false;
  constructor(opts) {
    if (typeof opts !== "object" || opts === null || !opts.dev)
      throw new PagePoolError("EINVAL", "huge: options { dev } required");
    const chunkSize = opts.chunkSize ?? 4096;
    if (!HUGE_CHUNK_SIZES.includes(chunkSize))
      throw new PagePoolError("EINVAL", `huge: chunkSize must be ${HUGE_CHUNK_SIZES.join(" or ")}, got ${String(chunkSize)}`);
    const maxFolios = opts.maxFolios ?? 8;
    if (typeof maxFolios !== "number" || !Number.isInteger(maxFolios) || maxFolios < 1 || maxFolios > 1024)
      throw new PagePoolError("EINVAL", `huge: maxFolios must be an integer in [1, 1024], got ${String(maxFolios)}`);
    this.dev = opts.dev;
    this.chunkSize = chunkSize;
    this.chunksPerFolio = HUGE_FOLIO_SIZE / chunkSize;
    this.maxFolios = maxFolios;
    this.folioRef = new Int32Array(maxFolios);
    this.folioDma = new Float64Array(maxFolios);
    this.folioFree = new Int32Array(maxFolios);
    this.freeStack = new Int32Array(maxFolios * this.chunksPerFolio);
    this.chunkOut = new Uint8Array(maxFolios * this.chunksPerFolio);
    this.areas = new Array(maxFolios).fill(null);
    this.#tags = Array.from({ length: maxFolios }, (_, slot) => ({ provider: this, slot }));
  }
  get availableChunks() {
    return (this.maxFolios - this.liveFolios) * this.chunksPerFolio + this.#freeInLive();
  }
  #freeInLive() {
    let n = 0;
    for (let s = 0;s < this.maxFolios; s++)
      if (this.folioRef[s] !== 0)
        n += this.folioFree[s];
    return n;
  }
  get disposed() {
    return this.#disposed;
  }
  chunkOffset(ref) {
    const slot = this.#slotOf(ref, "chunkOffset");
    const i = nm.idx[ref >>> 1];
    return this.dev.pages.offsetOf(this.folioRef[slot]) + i * this.chunkSize;
  }
  get memory() {
    return this.dev.pages.memory;
  }
  chunkBytes(ref) {
    const off = this.chunkOffset(ref);
    return this.dev.pages.memory.subarray(off, off + this.chunkSize);
  }
  read(ref, offset, dst, len = dst.length) {
    this.#checkRange(offset, len, dst.length);
    const off = this.chunkOffset(ref) + offset;
    dst.set(this.dev.pages.memory.subarray(off, off + len));
    return len;
  }
  write(ref, offset, src) {
    this.#checkRange(offset, src.length, src.length);
    this.dev.pages.memory.set(src, this.chunkOffset(ref) + offset);
    return src.length;
  }
  #checkRange(offset, len, bufLen) {
    if (!Number.isInteger(offset) || !Number.isInteger(len) || offset < 0 || len < 0 || len > bufLen || offset + len > this.chunkSize)
      throw new PagePoolError("EINVAL", `huge: range [${offset}, +${len}) outside the ${this.chunkSize}-byte chunk (or the buffer)`);
  }
  #slotOf(ref, what) {
    const area = netIovArea(ref);
    const tag = area?.owner;
    if (!area || tag?.provider !== this || this.areas[tag.slot] !== area)
      throw new PagePoolError("EINVAL", `huge ${what}: netmem ${ref} is not a chunk of this provider`);
    return tag.slot;
  }
  slotOf(ref) {
    const tag = netIovArea(ref)?.owner;
    return tag?.provider === this && this.areas[tag.slot]?.indexOf(ref) !== -1 ? tag.slot : -1;
  }
  pickSlot(pool) {
    const cur = this.#current;
    if (cur >= 0 && this.folioRef[cur] !== 0 && this.folioFree[cur] > 0)
      return cur;
    let empty = -1;
    for (let s = 0;s < this.maxFolios; s++) {
      if (this.folioRef[s] !== 0) {
        if (this.folioFree[s] > 0)
          return this.#current = s;
      } else if (empty < 0)
        empty = s;
    }
    if (empty < 0 || this.#disposed)
      return -1;
    return this.#newFolio(pool, empty) ? this.#current = empty : -1;
  }
  #newFolio(pool, slot) {
    const pages = this.dev.pages;
    const head = pages.allocPages(HUGE_FOLIO_ORDER, pool.nid);
    if (head === 0)
      return false;
    const dma = this.dev.mapPage(head);
    if (dma === 0) {
      pages.putPage(head);
      return false;
    }
    const cpf = this.chunksPerFolio;
    const area = createNetIovArea(cpf, { type: NET_IOV_OTHER, readable: true, owner: this.#tags[slot] });
    const base = slot * cpf;
    for (let i = 0;i < cpf; i++) {
      this.freeStack[base + i] = cpf - 1 - i;
      this.chunkOut[base + i] = 0;
      niovSetDmaAddr(area.niov(i), dma + i * this.chunkSize);
    }
    this.folioRef[slot] = head;
    this.folioDma[slot] = dma;
    this.folioFree[slot] = cpf;
    this.areas[slot] = area;
    this.liveFolios++;
    this.folioAllocs++;
    return true;
  }
  freeFolio(slot) {
    const head = this.folioRef[slot];
    this.areas[slot]?.dispose();
    this.areas[slot] = null;
    this.dev.unmapPage(head);
    this.dev.pages.putPage(head);
    this.folioRef[slot] = 0;
    this.folioDma[slot] = 0;
    this.folioFree[slot] = 0;
    this.liveFolios--;
    this.folioFrees++;
    if (this.#current === slot)
      this.#current = -1;
  }
  dispose() {
    if (this.#disposed)
      return;
    if (this.chunksOut !== 0 || this.pools !== 0)
      throw new PagePoolError("EBUSY", `huge: ${this.chunksOut} chunk(s) still held by ${this.pools} pool(s); destroy them and let them drain first`);
    for (let s = 0;s < this.maxFolios; s++)
      if (this.folioRef[s] !== 0)
        this.freeFolio(s);
    this.#disposed = true;
  }
}
function priv2(pool) {
  return pool.mpPriv;
}
function hugeAllocNetmems(pool, _gfp) {
  const p = priv2(pool);
  const cpf = p.chunksPerFolio;
  const want = Math.min(PP_ALLOC_CACHE_REFILL, PP_ALLOC_CACHE_SIZE - pool.cacheCount + 1);
  let first = 0;
  let got = 0;
  while (got < want) {
    const slot = p.pickSlot(pool);
    if (slot < 0)
      break;
    const area = p.areas[slot];
    const base = slot * cpf;
    const top = p.folioFree[slot];
    const n = Math.min(want - got, top);
    p.folioFree[slot] = top - n;
    for (let j = top - n;j < top; j++) {
      const i = p.freeStack[base + j];
      p.chunkOut[base + i] = 1;
      const ref = area.niov(i);
      netmemSetPagePool(pool, ref);
      if (first === 0 && j === top - 1)
        first = ref;
      else
        netmemPlaceInCache(pool, ref);
    }
    p.chunksOut += n;
    got += n;
  }
  if (first === 0)
    p.allocFailures++;
  return first;
}
function hugeReleaseNetmem(pool, netmem) {
  const p = priv2(pool);
  const area = netIovArea(netmem);
  const tag = area?.owner;
  if (!area || tag?.provider !== p || p.areas[tag.slot] !== area)
    throw new PagePoolError("EFAULT", `huge: released netmem ${netmem} is not one of this provider's chunks`);
  const slot = tag.slot;
  const i = area.indexOf(netmem);
  const cpf = p.chunksPerFolio;
  if (p.chunkOut[slot * cpf + i] === 0)
    throw new PagePoolError("EFAULT", `huge: chunk ${i} of folio ${slot} released but it is not out`);
  p.chunkOut[slot * cpf + i] = 0;
  p.chunksOut--;
  netmemClearPagePool(netmem);
  p.freeStack[slot * cpf + p.folioFree[slot]++] = i;
  if (p.folioFree[slot] === cpf)
    p.freeFolio(slot);
  return false;
}
function hugeInit(pool) {
  const p = priv2(pool);
  if (!(p instanceof HugeProvider))
    throw new PagePoolError("EINVAL", "huge: queue bound without a HugeProvider state");
  if (p.disposed)
    throw new PagePoolError("ENODEV", "huge: provider was disposed");
  if (pool.order !== 0)
    throw new PagePoolError("E2BIG", `huge: pool order must be 0, got ${pool.order}`);
  if (pool.dev !== p.dev)
    throw new PagePoolError("EINVAL", `huge: folios are mapped for ${p.dev.name}, pool is for ${pool.dev.name}`);
  if (pool.offset + pool.maxLen > p.chunkSize)
    throw new PagePoolError("EINVAL", `huge: offset ${pool.offset} + maxLen ${pool.maxLen} exceeds the ${p.chunkSize}-byte chunk`);
  p.inits++;
  p.pools++;
}
function hugeDestroy(pool) {
  const p = priv2(pool);
  p.destroys++;
  p.pools--;
}
function hugeNlFill(priv, _rxq) {
  const p = priv;
  return {
    huge: {
      chunkSize: p.chunkSize,
      folioOrder: HUGE_FOLIO_ORDER,
      maxFolios: p.maxFolios,
      liveFolios: p.liveFolios,
      chunksOut: p.chunksOut,
      folioAllocs: p.folioAllocs,
      folioFrees: p.folioFrees,
      allocFailures: p.allocFailures
    }
  };
}
var hugeOps = Object.freeze({
  name: "huge",
  allocNetmems: hugeAllocNetmems,
  releaseNetmem: hugeReleaseNetmem,
  init: hugeInit,
  destroy: hugeDestroy,
  nlFill: hugeNlFill
});

// plugins/limited/provider.ts
function checkQuota(quotaBytes) {
  if (typeof quotaBytes !== "number" || !Number.isSafeInteger(quotaBytes) || quotaBytes <= 0 || quotaBytes % PAGE_SIZE !== 0)
    throw new PagePoolError("EINVAL", `limited: quotaBytes must be a positive multiple of ${PAGE_SIZE}, got ${String(quotaBytes)}`);
  return quotaBytes;
}

class LimitedProvider {
  #quotaBytes;
  bulk;
  usedBytes = 0;
  peakBytes = 0;
  quotaFailures = 0;
  allocFailures = 0;
  allocs = 0;
  releases = 0;
  inits = 0;
  destroys = 0;
  pools = 0;
  #disposed = false;
  constructor(opts) {
    if (typeof opts !== "object" || opts === null)
      throw new PagePoolError("EINVAL", "limited: options { quotaBytes } required");
    this.#quotaBytes = checkQuota(opts.quotaBytes);
    if (opts.bulk !== undefined && typeof opts.bulk !== "boolean")
      throw new PagePoolError("EINVAL", `limited: bulk must be a boolean, got ${String(opts.bulk)}`);
    this.bulk = opts.bulk ?? true;
  }
  get quotaBytes() {
    return this.#quotaBytes;
  }
  get availableBytes() {
    return Math.max(0, this.#quotaBytes - this.usedBytes);
  }
  setQuota(quotaBytes) {
    if (this.#disposed)
      throw new PagePoolError("ENODEV", "limited: provider was disposed");
    this.#quotaBytes = checkQuota(quotaBytes);
  }
  get disposed() {
    return this.#disposed;
  }
  dispose() {
    if (this.#disposed)
      return;
    if (this.usedBytes !== 0 || this.pools !== 0)
      throw new PagePoolError("EBUSY", `limited: ${this.usedBytes} bytes still held by ${this.pools} pool(s); destroy them and let them drain first`);
    this.#disposed = true;
  }
}
function priv3(pool) {
  return pool.mpPriv;
}
function chargePage(pool, p, ref, bytes) {
  const addr = pool.dev.mapPage(ref);
  if (addr === 0) {
    pool.pages.putPage(ref);
    return false;
  }
  niovSetDmaAddr(ref, addr);
  netmemSetPagePool(pool, ref);
  p.usedBytes += bytes;
  if (p.usedBytes > p.peakBytes)
    p.peakBytes = p.usedBytes;
  p.allocs++;
  return true;
}
function limitedAllocNetmems(pool, _gfp) {
  const p = priv3(pool);
  const bytes = PAGE_SIZE << pool.order;
  let want = Math.floor(p.availableBytes / bytes);
  if (want === 0) {
    p.quotaFailures++;
    return 0;
  }
  if (!p.bulk || pool.order > 0)
    want = 1;
  else {
    const room = PP_ALLOC_CACHE_SIZE - pool.cacheCount;
    want = Math.min(want, PP_ALLOC_CACHE_REFILL, room + 1);
  }
  let first = 0;
  for (let i = 0;i < want; i++) {
    const ref = pool.pages.allocPages(pool.order, pool.nid);
    if (ref === 0)
      break;
    if (!chargePage(pool, p, ref, bytes))
      continue;
    if (first === 0)
      first = ref;
    else
      netmemPlaceInCache(pool, ref);
  }
  if (first === 0)
    p.allocFailures++;
  return first;
}
function limitedReleaseNetmem(pool, netmem) {
  const p = priv3(pool);
  pool.dev.unmapPage(netmem);
  nm.dma[netmem >>> 1] = 0;
  p.usedBytes -= PAGE_SIZE << pool.order;
  p.releases++;
  return true;
}
function limitedInit(pool) {
  const p = priv3(pool);
  if (!(p instanceof LimitedProvider))
    throw new PagePoolError("EINVAL", "limited: queue bound without a LimitedProvider state");
  if (p.disposed)
    throw new PagePoolError("ENODEV", "limited: provider was disposed");
  if (PAGE_SIZE << pool.order > p.quotaBytes)
    throw new PagePoolError("E2BIG", `limited: one order-${pool.order} page (${PAGE_SIZE << pool.order} bytes) exceeds the quota of ${p.quotaBytes}`);
  p.inits++;
  p.pools++;
}
function limitedDestroy(pool) {
  const p = priv3(pool);
  p.destroys++;
  p.pools--;
}
function limitedNlFill(priv, _rxq) {
  const p = priv;
  return {
    limited: {
      quotaBytes: p.quotaBytes,
      usedBytes: p.usedBytes,
      peakBytes: p.peakBytes,
      quotaFailures: p.quotaFailures,
      allocFailures: p.allocFailures
    }
  };
}
var limitedOps = Object.freeze({
  name: "limited",
  allocNetmems: limitedAllocNetmems,
  releaseNetmem: limitedReleaseNetmem,
  init: limitedInit,
  destroy: limitedDestroy,
  nlFill: limitedNlFill
});

// plugins/zcrx/uapi.ts
var IORING_ZCRX_AREA_SHIFT = 48;
var AREA_SHIFT_HI = IORING_ZCRX_AREA_SHIFT - 32;
var OFF_HI_MASK = 65535;
var IO_RQ_MAX_ENTRIES = 32768;
var IO_CQ_MAX_ENTRIES = 1 << 20;
var IORING_CQE_F_MORE = 1 << 1;
var ZCRX_NIOV_SHIFT = 12;
var ZCRX_NIOV_SIZE = 1 << ZCRX_NIOV_SHIFT;
var ZCRX_MAX_NIOVS = 1 << 18;
var RING_HEAD_OFF = 0;
var RING_TAIL_OFF = 4;
var RING_ENTRIES_OFF = 64;
var HEAD_W = RING_HEAD_OFF >> 2;
var TAIL_W = RING_TAIL_OFF >> 2;
var ENTRIES_W = RING_ENTRIES_OFF >> 2;
var CQ_CLOSED_W = 2;
var RQE_SIZE = 16;
var RQE_OFF_LO = 0;
var RQE_OFF_HI = 1;
var RQE_LEN = 2;
var RQE_PAD = 3;
var CQE_OFF_LO = 0;
var CQE_OFF_HI = 1;
var CQE_RES = 2;
var CQE_FLAGS = 3;
var RING_OFFSETS = Object.freeze({
  head: RING_HEAD_OFF,
  tail: RING_TAIL_OFF,
  rqes: RING_ENTRIES_OFF
});
function ringBytes(entries) {
  return RING_ENTRIES_OFF + entries * RQE_SIZE;
}

// plugins/zcrx/area.ts
var ZCRX_IOVA_BASE = 2 ** 44;
var nextIovaWindow = 0;

class ZcrxArea {
  id;
  numNiovs;
  size;
  sab;
  bytes;
  nia;
  base;
  userRefs;
  freelist;
  freeCount;
  isMapped = false;
  iovaBase;
  constructor(numNiovs, areaId, owner) {
    if (!Number.isInteger(numNiovs) || numNiovs <= 0)
      throw new PagePoolError("EINVAL", `zcrx: area must hold at least one net_iov, got ${numNiovs}`);
    if (numNiovs > ZCRX_MAX_NIOVS)
      throw new PagePoolError("E2BIG", `zcrx: area of ${numNiovs} net_iovs is above the model's limit of ${ZCRX_MAX_NIOVS} (${ZCRX_MAX_NIOVS * ZCRX_NIOV_SIZE >> 20} MiB)`);
    if (!Number.isInteger(areaId) || areaId < 0 || areaId > 65535)
      throw new PagePoolError("EINVAL", `zcrx: area id must be a u16, got ${areaId}`);
    this.id = areaId;
    this.numNiovs = numNiovs;
    this.size = numNiovs << ZCRX_NIOV_SHIFT;
    this.sab = new SharedArrayBuffer(this.size);
    this.bytes = new Uint8Array(this.sab);
    this.userRefs = new Int32Array(numNiovs);
    this.freelist = new Uint32Array(numNiovs);
    for (let i = 0;i < numNiovs; i++)
      this.freelist[i] = i;
    this.freeCount = numNiovs;
    this.nia = createNetIovArea(numNiovs, { type: NET_IOV_IOURING, readable: true, owner });
    this.base = this.nia.base;
    this.iovaBase = ZCRX_IOVA_BASE + nextIovaWindow++ * 2 ** 32;
  }
  niov(idx) {
    return this.base + idx << 1 | NET_IOV;
  }
  indexOf(ref) {
    if (!(ref & NET_IOV))
      return -1;
    const i = (ref >>> 1) - this.base;
    return i >= 0 && i < this.numNiovs ? i : -1;
  }
  popFree() {
    return this.freeCount > 0 ? this.freelist[--this.freeCount] : -1;
  }
  pushFree(idx) {
    if (this.freeCount >= this.numNiovs)
      throw new PagePoolError("EFAULT", `zcrx area ${this.id}: freelist overflow returning net_iov ${idx}`);
    const d = this.base + idx;
    nm.pp[d] = 0;
    nm.ppRef[d] = 0;
    nm.loc[d] = LOC_FREE;
    this.freelist[this.freeCount++] = idx;
  }
  map(dev) {
    if (this.isMapped)
      return true;
    if (dev.mapPage(this.niov(0)) === 0)
      return false;
    for (let i = 0;i < this.numNiovs; i++)
      niovSetDmaAddr(this.niov(i), this.iovaBase + i * ZCRX_NIOV_SIZE);
    this.isMapped = true;
    return true;
  }
  unmap(dev) {
    if (!this.isMapped)
      return;
    this.isMapped = false;
    for (let i = 0;i < this.numNiovs; i++)
      niovSetDmaAddr(this.niov(i), 0);
    dev.unmapPage(this.niov(0));
  }
  dispose() {
    this.nia.dispose();
  }
}

// plugins/zcrx/ring.ts
function roundUpPow2(n) {
  let p = 1;
  while (p < n)
    p *= 2;
  return p;
}
function rqEntriesFor(requested, clamp = false) {
  if (typeof requested !== "number" || !Number.isInteger(requested) || requested <= 0)
    throw new PagePoolError("EINVAL", `zcrx: rq_entries must be a positive integer, got ${String(requested)}`);
  let n = requested;
  if (n > IO_RQ_MAX_ENTRIES) {
    if (!clamp)
      throw new PagePoolError("EINVAL", `zcrx: rq_entries ${n} is above IO_RQ_MAX_ENTRIES (${IO_RQ_MAX_ENTRIES}); pass clamp to cap it`);
    n = IO_RQ_MAX_ENTRIES;
  }
  return roundUpPow2(n);
}
function cqEntriesFor(requested) {
  if (typeof requested !== "number" || !Number.isInteger(requested) || requested <= 0)
    throw new PagePoolError("EINVAL", `zcrx: cq_entries must be a positive integer, got ${String(requested)}`);
  if (requested > IO_CQ_MAX_ENTRIES)
    throw new PagePoolError("EINVAL", `zcrx: cq_entries ${requested} is above ${IO_CQ_MAX_ENTRIES}`);
  return roundUpPow2(requested);
}

class RefillRingKernel {
  sab;
  u32;
  i32;
  entries;
  mask;
  cachedHead = 0;
  constructor(entries) {
    this.entries = entries;
    this.mask = entries - 1;
    this.sab = new SharedArrayBuffer(ringBytes(entries));
    this.u32 = new Uint32Array(this.sab);
    this.i32 = new Int32Array(this.sab);
  }
  waitForEntries(timeoutMs) {
    const tail = Atomics.load(this.u32, TAIL_W);
    if (tail === this.cachedHead)
      Atomics.wait(this.i32, TAIL_W, tail | 0, timeoutMs);
    return this.available();
  }
  available() {
    const n = Atomics.load(this.u32, TAIL_W) - this.cachedHead >>> 0;
    return Math.min(n, this.entries);
  }
  nextEntryWord() {
    const w = ENTRIES_W + ((this.cachedHead & this.mask) << 2);
    this.cachedHead = this.cachedHead + 1 >>> 0;
    return w;
  }
  publishHead() {
    Atomics.store(this.u32, HEAD_W, this.cachedHead);
    Atomics.notify(this.i32, HEAD_W, 1);
  }
}

class CompletionRingKernel {
  sab;
  u32;
  i32;
  entries;
  mask;
  cachedTail = 0;
  constructor(entries) {
    this.entries = entries;
    this.mask = entries - 1;
    this.sab = new SharedArrayBuffer(ringBytes(entries));
    this.u32 = new Uint32Array(this.sab);
    this.i32 = new Int32Array(this.sab);
  }
  pending() {
    const n = this.cachedTail - Atomics.load(this.u32, HEAD_W) >>> 0;
    return Math.min(n, this.entries);
  }
  post(offLo, offHi, res, flags) {
    const u32 = this.u32;
    if (this.cachedTail - Atomics.load(u32, HEAD_W) >>> 0 >= this.entries)
      return false;
    const w = ENTRIES_W + ((this.cachedTail & this.mask) << 2);
    u32[w + CQE_OFF_LO] = offLo;
    u32[w + CQE_OFF_HI] = offHi;
    u32[w + CQE_RES] = res;
    u32[w + CQE_FLAGS] = flags;
    this.cachedTail = this.cachedTail + 1 >>> 0;
    Atomics.store(u32, TAIL_W, this.cachedTail);
    Atomics.notify(this.i32, TAIL_W, 1);
    return true;
  }
  waitForSpace(timeoutMs) {
    const head = Atomics.load(this.u32, HEAD_W);
    if (this.cachedTail - head >>> 0 >= this.entries)
      Atomics.wait(this.i32, HEAD_W, head | 0, timeoutMs);
    return this.entries - this.pending();
  }
  close() {
    Atomics.store(this.u32, CQ_CLOSED_W, 1);
    Atomics.notify(this.i32, TAIL_W);
  }
}

// plugins/zcrx/ifq.ts
var ZCRX_ENOMEM = -12;
var ZCRX_ENODEV = -19;
var ZCRX_ENOSPC = -28;

class ZcrxCounters {
  rqConsumed = 0;
  rqBadPad = 0;
  rqBadArea = 0;
  rqBadIndex = 0;
  rqNotHeld = 0;
  rqNotLastRef = 0;
  rqRecycled = 0;
  toOwnerPool = 0;
  toFreelist = 0;
  freelistRefills = 0;
  cqPosted = 0;
  cqFull = 0;
  copyChunks = 0;
  copyBytes = 0;
  copyNoMem = 0;
  scrubbedNiovs = 0;
  scrubbedRefs = 0;
}

class ZcrxIfq {
  area;
  rq;
  cq;
  dev;
  pages;
  queueIdx;
  netdev;
  c = new ZcrxCounters;
  state = "live";
  bound = false;
  livePools = 0;
  inits = 0;
  destroys = 0;
  uninstalls = 0;
  constructor(netdev, queueIdx, opts) {
    this.netdev = netdev;
    this.dev = netdev.dev;
    this.pages = netdev.dev.pages;
    this.queueIdx = queueIdx;
    this.rq = new RefillRingKernel(opts.rqEntries);
    this.cq = new CompletionRingKernel(opts.cqEntries);
    this.area = new ZcrxArea(opts.numNiovs, opts.areaId, this);
  }
  refillFromRing(pool) {
    const rq = this.rq;
    let entries = rq.available();
    const room = PP_ALLOC_CACHE_REFILL - pool.cacheCount;
    if (entries > room)
      entries = room;
    if (entries <= 0)
      return;
    const u32 = rq.u32;
    const area = this.area;
    const userRefs = area.userRefs;
    const base = area.base;
    const areaId = area.id;
    const c = this.c;
    c.rqConsumed += entries;
    for (;entries > 0; entries--) {
      const w = rq.nextEntryWord();
      const hi = u32[w + RQE_OFF_HI];
      if (u32[w + RQE_PAD] !== 0) {
        c.rqBadPad++;
        continue;
      }
      if (hi >>> AREA_SHIFT_HI !== areaId) {
        c.rqBadArea++;
        continue;
      }
      const idx = (hi & OFF_HI_MASK) * 2 ** (32 - ZCRX_NIOV_SHIFT) + (u32[w + RQE_OFF_LO] >>> ZCRX_NIOV_SHIFT);
      if (idx >= area.numNiovs) {
        c.rqBadIndex++;
        continue;
      }
      if (userRefs[idx] === 0) {
        c.rqNotHeld++;
        continue;
      }
      userRefs[idx]--;
      const ref = base + idx << 1 | 1;
      if (unrefNetmem(ref, 1) !== 0) {
        c.rqNotLastRef++;
        continue;
      }
      if (nm.pp[base + idx] !== pool.id) {
        this.returnNiov(ref);
        continue;
      }
      this.#syncForDevice(pool, base + idx);
      netmemPlaceInCache(pool, ref);
      c.rqRecycled++;
    }
    rq.publishHead();
  }
  refillFromFreelist(pool) {
    const area = this.area;
    while (area.freeCount > 0 && pool.cacheCount < PP_ALLOC_CACHE_REFILL) {
      const idx = area.freelist[--area.freeCount];
      const ref = area.base + idx << 1 | 1;
      netmemSetPagePool(pool, ref);
      this.#syncForDevice(pool, area.base + idx);
      netmemPlaceInCache(pool, ref);
      this.c.freelistRefills++;
    }
  }
  returnNiov(ref) {
    const d = ref >>> 1;
    const ppId = nm.pp[d];
    if (ppId === 0) {
      this.area.pushFree(d - this.area.base);
      this.c.toFreelist++;
      return;
    }
    const owner = poolsById.get(ppId);
    if (owner === undefined)
      throw new PagePoolError("EFAULT", `zcrx: net_iov ${ref} is attached to pool ${ppId}, which is gone`);
    this.c.toOwnerPool++;
    owner.putUnrefedNetmem(ref, -1, false);
  }
  #syncForDevice(pool, d) {
    const dev = pool.dev;
    if (dev.needSync)
      dev.syncForDevice(nm.dma[d] + pool.offset, ZCRX_NIOV_SIZE);
  }
  releaseToFreelist(ref) {
    const idx = this.area.indexOf(ref);
    if (idx < 0)
      throw new PagePoolError("EFAULT", `zcrx: releaseNetmem got netmem ${ref}, not a net_iov of this ifq's area`);
    this.area.pushFree(idx);
  }
  recvFrag(ref, off, len) {
    if (this.state !== "live")
      return ZCRX_ENODEV;
    if (!(ref & 1)) {
      if (ref <= 0 || !Number.isInteger(ref))
        throw new PagePoolError("EINVAL", `zcrx: recvFrag got invalid netmem ${ref}`);
      const bytes = PAGE_SIZE << this.pages.orderOf(ref);
      checkRange(off, len, bytes);
      return this.copyChunk(this.pages.memory, this.pages.offsetOf(ref) + off, len);
    }
    checkRange(off, len, ZCRX_NIOV_SIZE);
    const area = this.area;
    const idx = area.indexOf(ref);
    const d = ref >>> 1;
    const pool = idx < 0 ? undefined : poolsById.get(nm.pp[d]);
    if (pool === undefined || pool.mpPriv !== this || pool.mpOps?.name !== "zcrx")
      throw new PagePoolError("EFAULT", `zcrx: recvFrag got netmem ${ref}, not a net_iov of a zcrx pool of this ifq`);
    if (nm.loc[d] !== LOC_INFLIGHT)
      throw new PagePoolError("EINVAL", `zcrx: recvFrag got net_iov ${ref} that is not in flight (it is in the ${LOC_NAMES[nm.loc[d]]})`);
    if (!this.#postCqe(idx, off, len))
      return ZCRX_ENOSPC;
    pool.refNetmem(ref);
    area.userRefs[idx]++;
    return len;
  }
  copyChunk(src, srcOff, len) {
    if (this.state !== "live")
      return ZCRX_ENODEV;
    if (!Number.isInteger(srcOff) || !Number.isInteger(len) || srcOff < 0 || len <= 0 || srcOff + len > src.length)
      throw new PagePoolError("EINVAL", `zcrx: copy of [${srcOff}, +${len}) is outside the source (${src.length} bytes)`);
    const area = this.area;
    const dst = area.bytes;
    let copied = 0;
    let ret = 0;
    while (len > 0) {
      const idx = area.popFree();
      if (idx < 0) {
        this.c.copyNoMem++;
        ret = ZCRX_ENOMEM;
        break;
      }
      const d = area.base + idx;
      nm.ppRef[d] = 1;
      nm.loc[d] = LOC_USER;
      const n = Math.min(len, ZCRX_NIOV_SIZE);
      const o = idx << ZCRX_NIOV_SHIFT;
      for (let i = 0;i < n; i++)
        dst[o + i] = src[srcOff + i];
      if (!this.#postCqe(idx, 0, n)) {
        area.pushFree(idx);
        ret = ZCRX_ENOSPC;
        break;
      }
      area.userRefs[idx]++;
      this.c.copyChunks++;
      this.c.copyBytes += n;
      srcOff += n;
      len -= n;
      copied += n;
    }
    return copied > 0 ? copied : ret;
  }
  #postCqe(idx, fragOff, len) {
    const off = idx * ZCRX_NIOV_SIZE + fragOff;
    const hi = Math.floor(off / 2 ** 32) | this.area.id << AREA_SHIFT_HI;
    if (!this.cq.post(off >>> 0, hi >>> 0, len, IORING_CQE_F_MORE)) {
      this.c.cqFull++;
      return false;
    }
    this.c.cqPosted++;
    return true;
  }
  scrub() {
    const area = this.area;
    let touched = 0;
    for (let i = 0;i < area.numNiovs; i++) {
      const nr = area.userRefs[i];
      if (nr === 0)
        continue;
      area.userRefs[i] = 0;
      touched++;
      this.c.scrubbedNiovs++;
      this.c.scrubbedRefs += nr;
      const ref = area.niov(i);
      if (unrefNetmem(ref, nr) === 0)
        this.returnNiov(ref);
    }
    return touched;
  }
  closeQueue() {
    const netdev = this.netdev;
    this.netdev = null;
    if (!this.bound)
      return;
    this.bound = false;
    if (netdev?.registered && netdev.rxQueue(this.queueIdx).mpParams.priv === this)
      netdev.unbindRxQueue(this.queueIdx, this);
  }
  shutdown() {
    if (this.state !== "live")
      return;
    this.state = "shutdown";
    this.scrub();
    this.closeQueue();
    this.cq.close();
  }
  free() {
    if (this.state === "freed")
      return;
    this.shutdown();
    if (this.livePools > 0)
      throw new PagePoolError("EBUSY", `zcrx: ${this.livePools} page pool(s) still use this ifq; destroy them first`);
    this.area.unmap(this.dev);
    this.area.dispose();
    this.state = "freed";
  }
  userDescriptor() {
    return {
      rqSab: this.rq.sab,
      rqEntries: this.rq.entries,
      cqSab: this.cq.sab,
      cqEntries: this.cq.entries,
      offsets: { ...RING_OFFSETS },
      areaSab: this.area.sab,
      areaSize: this.area.size,
      areaId: this.area.id,
      rqAreaToken: BigInt(this.area.id) << 48n
    };
  }
  audit() {
    const problems = [];
    const area = this.area;
    const onFree = new Uint8Array(area.numNiovs);
    for (let k = 0;k < area.freeCount; k++) {
      const i = area.freelist[k];
      if (i >= area.numNiovs)
        problems.push(`freelist slot ${k} holds out-of-range index ${i}`);
      else if (onFree[i])
        problems.push(`net_iov ${i} is on the freelist twice`);
      else
        onFree[i] = 1;
    }
    let free = 0;
    let inPools = 0;
    let userCopies = 0;
    let userRefs = 0;
    for (let i = 0;i < area.numNiovs; i++) {
      const d = area.base + i;
      const u = area.userRefs[i];
      userRefs += u;
      if (u < 0)
        problems.push(`net_iov ${i} has user_refs ${u}`);
      if (onFree[i]) {
        free++;
        if (nm.pp[d] !== 0 || nm.loc[d] !== LOC_FREE || u !== 0)
          problems.push(`net_iov ${i} is on the freelist but pp ${nm.pp[d]}, ${LOC_NAMES[nm.loc[d]]}, user_refs ${u}`);
      } else if (nm.pp[d] !== 0) {
        inPools++;
        if (!poolsById.has(nm.pp[d]))
          problems.push(`net_iov ${i} is attached to pool ${nm.pp[d]}, which is gone`);
        if (u > 0 && (nm.loc[d] !== LOC_INFLIGHT || u >= nm.ppRef[d] + 1))
          problems.push(`net_iov ${i}: user holds ${u} but it is ${LOC_NAMES[nm.loc[d]]} with pp_ref_count ${nm.ppRef[d]}`);
      } else {
        userCopies++;
        if (nm.loc[d] !== LOC_USER || u !== 1 || nm.ppRef[d] !== 1)
          problems.push(`net_iov ${i} is neither free nor in a pool: ${LOC_NAMES[nm.loc[d]]}, user_refs ${u}, pp_ref_count ${nm.ppRef[d]}`);
      }
    }
    return { ok: problems.length === 0, problems, free, inPools, userCopies, userRefs };
  }
}
function checkRange(off, len, size) {
  if (!Number.isInteger(off) || !Number.isInteger(len) || off < 0 || len <= 0 || off + len > size)
    throw new PagePoolError("EINVAL", `zcrx: fragment [${off}, +${len}) is outside the ${size}-byte buffer`);
}

// plugins/zcrx/provider.ts
function zcrxAllocNetmems(pool, _gfp) {
  const ifq = pool.mpPriv;
  if (pool.cacheCount === 0) {
    ifq.refillFromRing(pool);
    if (pool.cacheCount === 0) {
      ifq.refillFromFreelist(pool);
      if (pool.cacheCount === 0)
        return 0;
    }
  }
  return pool.cache[--pool.cacheCount];
}
function zcrxReleaseNetmem(pool, netmem) {
  if (!(netmem & NET_IOV))
    throw new PagePoolError("EFAULT", `zcrx: releaseNetmem got page ${netmem}; a zcrx pool holds only net_iovs`);
  const ifq = pool.mpPriv;
  if (ifq.area.indexOf(netmem) < 0)
    throw new PagePoolError("EFAULT", `zcrx: releaseNetmem got net_iov ${netmem} from another area`);
  netmemClearPagePool(netmem);
  ifq.releaseToFreelist(netmem);
  return false;
}
function zcrxInit(pool) {
  const ifq = pool.mpPriv;
  if (!(ifq instanceof ZcrxIfq))
    throw new PagePoolError("EINVAL", "zcrx: pool has no zcrx ifq as its provider state");
  if (ifq.state !== "live")
    throw new PagePoolError("EINVAL", `zcrx: the ifq is ${ifq.state}`);
  if (ifq.dev !== pool.dev)
    throw new PagePoolError("EINVAL", `zcrx: pool device ${pool.dev.name} is not the ifq's device ${ifq.dev.name}`);
  if (!pool.dmaMap)
    throw new PagePoolError("EOPNOTSUPP", "zcrx: the pool must DMA-map (PP_FLAG_DMA_MAP)");
  if (pool.order !== 0)
    throw new PagePoolError("EINVAL", `zcrx: pool order ${pool.order} does not match the 4 KiB net_iov size (order 0)`);
  if (pool.dmaDir !== "from-device")
    throw new PagePoolError("EOPNOTSUPP", `zcrx: pool DMA direction must be from-device, got ${pool.dmaDir}`);
  if (!ifq.area.map(pool.dev))
    throw new PagePoolError("ENOMEM", "zcrx: mapping the area for DMA failed");
  ifq.livePools++;
  ifq.inits++;
}
function zcrxDestroy(pool) {
  const ifq = pool.mpPriv;
  ifq.livePools--;
  ifq.destroys++;
}
function zcrxNlFill(_priv, _rxq) {
  return { ioUring: {} };
}
function zcrxUninstall(priv, _rxq) {
  const ifq = priv;
  ifq.netdev = null;
  ifq.bound = false;
  ifq.area.unmap(ifq.dev);
  ifq.uninstalls++;
}
var zcrxOps = Object.freeze({
  name: "zcrx",
  allocNetmems: zcrxAllocNetmems,
  releaseNetmem: zcrxReleaseNetmem,
  init: zcrxInit,
  destroy: zcrxDestroy,
  nlFill: zcrxNlFill,
  uninstall: zcrxUninstall
});

// bench/.synthetic/real-pgo/registry.generated.ts
var PROVIDERS = Object.freeze([
  basicOps,
  devmemOps,
  hugeOps,
  limitedOps,
  zcrxOps
]);
var PROVIDER_NAMES = Object.freeze([
  "basic",
  "devmem",
  "huge",
  "limited",
  "zcrx"
]);
function providerKind(ops) {
  return PROVIDERS.indexOf(ops) + 1;
}

// bench/.synthetic/real-pgo/dispatch-icall-wrapper.generated.ts
var DISPATCH_VARIANT = "icall-wrapper";
function mpAllocNetmems(pool, gfp) {
  if (mpStaticKey.count > 0 && pool.mpOps !== null) {
    const f = pool.mpOps.allocNetmems;
    if (f === basicAllocNetmems)
      return basicAllocNetmems(pool, gfp);
    if (f === devmemAllocNetmems)
      return devmemAllocNetmems(pool, gfp);
    return f(pool, gfp);
  }
  return pool.allocPagesSlow(gfp);
}
function mpReleaseNetmem(pool, netmem) {
  if (mpStaticKey.count > 0 && pool.mpOps !== null) {
    const f = pool.mpOps.releaseNetmem;
    if (f === basicReleaseNetmem)
      return basicReleaseNetmem(pool, netmem);
    if (f === devmemReleaseNetmem)
      return devmemReleaseNetmem(pool, netmem);
    return f(pool, netmem);
  }
  pool.releasePageDma(netmem);
  return true;
}
function mpInit(pool) {
  if (pool.mpOps === null)
    return;
  const f = pool.mpOps.init;
  if (f === basicInit)
    return basicInit(pool);
  if (f === devmemInit)
    return devmemInit(pool);
  f(pool);
}
function mpDestroy(pool) {
  if (pool.mpOps === null)
    return;
  const f = pool.mpOps.destroy;
  if (f === basicDestroy)
    return basicDestroy(pool);
  if (f === devmemDestroy)
    return devmemDestroy(pool);
  f(pool);
}
function mpNlFill(pool) {
  const f = pool.mpOps?.nlFill;
  if (f === undefined)
    return;
  const rxq = pool.rxq;
  if (f === basicNlFill)
    return basicNlFill(pool.mpPriv, rxq);
  if (f === devmemNlFill)
    return devmemNlFill(pool.mpPriv, rxq);
  return f(pool.mpPriv, rxq);
}

// node_modules/mitata/src/lib.mjs
var AsyncFunction = (async () => {}).constructor;
var GeneratorFunction = function* () {}.constructor;
var AsyncGeneratorFunction = async function* () {}.constructor;
function do_not_optimize(v) {
  $._ = v;
}
var $ = { _: null, __() {
  return print($._);
} };
async function measure(f, ...args) {
  return await {
    fn,
    iter,
    yield: generator,
    [undefined]() {
      throw new TypeError("expected iterator, generator or one-shot function");
    }
  }[kind(f)](f, ...args);
}
async function generator(gen, opts = {}) {
  const ctx = {
    get(name) {
      return opts.args?.[name];
    }
  };
  const g = gen(ctx);
  const n = await g.next();
  let $fn = n.value;
  if (!n.value?.heap && n.value?.heap != null)
    opts.heap = false;
  opts.concurrency ??= n.value?.concurrency ?? opts.args?.concurrency;
  if (!n.value?.counters && n.value?.counters != null)
    opts.$counters = false;
  if (n.done || kind($fn) !== "fn") {
    $fn = n.value?.bench || n.value?.manual;
    if (kind($fn, true) !== "fn")
      throw new TypeError("expected benchmarkable yield from generator");
    opts.params ??= {};
    const params = $fn.length;
    opts.manual = !n.value.manual ? false : n.value.budget !== "manual" ? "real" : "manual";
    for (let o = 0;o < params; o++) {
      opts.params[o] = n.value[o];
      if (kind(n.value[o]) !== "fn")
        throw new TypeError("expected function for benchmark parameter");
    }
  }
  const stats = await fn($fn, opts);
  if (!(await g.next()).done)
    throw new TypeError("expected generator to yield once");
  return {
    ...stats,
    kind: "yield"
  };
}
var print = (() => {
  if (globalThis.console?.log)
    return globalThis.console.log;
  if (globalThis.print && !globalThis.document)
    return globalThis.print;
  return () => {
    throw new Error("no print function available");
  };
})();
var gc = (() => {
  try {
    return Bun.gc(true), () => Bun.gc(true);
  } catch {}
  try {
    return globalThis.gc(), () => globalThis.gc();
  } catch {}
  try {
    return globalThis.__gc(), () => globalThis.__gc();
  } catch {}
  try {
    return globalThis.std.gc(), () => globalThis.std.gc();
  } catch {}
  try {
    return globalThis.$262.gc(), () => globalThis.$262.gc();
  } catch {}
  try {
    return globalThis.tjs.engine.gc.run(), () => globalThis.tjs.engine.gc.run();
  } catch {}
  return Object.assign(globalThis.Graal ? () => new Uint8Array(2 ** 29) : () => new Uint8Array(2 ** 30), { fallback: true });
})();
var now = (() => {
  try {
    Bun.nanoseconds();
    return Bun.nanoseconds;
  } catch {}
  try {
    $.agent.monotonicNow();
    return () => 1e6 * $.agent.monotonicNow();
  } catch {}
  try {
    $262.agent.monotonicNow();
    return () => 1e6 * $262.agent.monotonicNow();
  } catch {}
  try {
    const now = performance.now.bind(performance);
    now();
    return () => 1e6 * now();
  } catch {
    return () => 1e6 * Date.now();
  }
})();
function kind(fn, _ = false) {
  if (!(fn instanceof Function || fn instanceof AsyncFunction || fn instanceof GeneratorFunction || fn instanceof AsyncGeneratorFunction))
    return;
  if (fn instanceof GeneratorFunction || fn instanceof AsyncGeneratorFunction)
    return "yield";
  if ((_ ? true : fn.length === 0) && (fn instanceof Function || fn instanceof AsyncFunction))
    return "fn";
  if (fn.length !== 0 && (fn instanceof Function || fn instanceof AsyncFunction))
    return "iter";
}
var k_cpu_time_rescale_heap = 1.1;
var k_cpu_time_rescale_inner_gc = 2;
var k_concurrency = 1;
var k_min_samples = 12;
var k_batch_unroll = 4;
var k_max_samples = 1e9;
var k_warmup_samples = 2;
var k_batch_samples = 4096;
var k_samples_threshold = 12;
var k_batch_threshold = 65536;
var k_min_cpu_time = 642 * 1e6;
var k_warmup_threshold = 500000;
function defaults(opts) {
  opts.gc ??= gc;
  opts.now ??= now;
  opts.heap ??= null;
  opts.params ??= {};
  opts.manual ??= false;
  opts.inner_gc ??= false;
  opts.$counters ??= false;
  opts.concurrency ??= k_concurrency;
  opts.min_samples ??= k_min_samples;
  opts.max_samples ??= k_max_samples;
  opts.min_cpu_time ??= k_min_cpu_time;
  opts.batch_unroll ??= k_batch_unroll;
  opts.batch_samples ??= k_batch_samples;
  opts.warmup_samples ??= k_warmup_samples;
  opts.batch_threshold ??= k_batch_threshold;
  opts.warmup_threshold ??= k_warmup_threshold;
  opts.samples_threshold ??= k_samples_threshold;
  if (opts.heap)
    opts.min_cpu_time *= k_cpu_time_rescale_heap;
  if (opts.gc && opts.inner_gc)
    opts.min_cpu_time *= k_cpu_time_rescale_inner_gc;
}
async function fn(fn, opts = {}) {
  defaults(opts);
  let async = false;
  let batch = false;
  const params = Object.keys(opts.params);
  warmup: {
    const $p = new Array(params.length);
    for (let o = 0;o < params.length; o++) {
      $p[o] = await opts.params[o]();
    }
    const t0 = now();
    const r = fn(...$p);
    let t1 = now();
    if (async = r instanceof Promise)
      await r, t1 = now();
    if (t1 - t0 <= opts.warmup_threshold) {
      for (let o = 0;o < opts.warmup_samples; o++) {
        for (let oo = 0;oo < params.length; oo++) {
          $p[oo] = await opts.params[oo]();
        }
        const t0 = now();
        await fn(...$p);
        const t1 = now();
        if (batch = t1 - t0 <= opts.batch_threshold)
          break;
      }
    }
  }
  if (opts.manual) {
    batch = false;
    opts.concurrency = 1;
  }
  const loop = new AsyncFunction("$fn", "$gc", "$now", "$heap", "$params", "$counters", `
    ${!opts.$counters ? "" : "let _hc = false;"}
    ${!opts.$counters ? "" : "try { $counters.init(); _hc = true; } catch {}"}

    let _ = 0; let t = 0;
    let samples = new Array(2 ** 20);
    ${!opts.heap ? "" : "const heap = { _: 0, total: 0, min: Infinity, max: -Infinity };"}
    ${!(opts.gc && opts.inner_gc && !opts.gc.fallback) ? "" : "const gc = { total: 0, min: Infinity, max: -Infinity };"}

    ${!params.length ? "" : Array.from({ length: params.length }, (_, o) => `
      ${Array.from({ length: opts.concurrency }, (_, c) => `
        let param_${o}_${c} = ${!batch ? "null" : `new Array(${opts.batch_samples})`};
      `.trim()).join(" ")}
    `.trim()).join(`
`)}

    ${!opts.gc ? "" : `$gc();`}

    for (; _ < ${opts.max_samples}; _++) {
      if (_ >= ${opts.min_samples} && t >= ${opts.min_cpu_time}) break;

      ${!params.length ? "" : `
        ${!batch ? `
          ${Array.from({ length: params.length }, (_, o) => `
            ${Array.from({ length: opts.concurrency }, (_, c) => `
              if ((param_${o}_${c} = $params[${o}]()) instanceof Promise) param_${o}_${c} = await param_${o}_${c};
            `.trim()).join(" ")}
          `.trim()).join(`
`)}
        ` : `
          for (let o = 0; o < ${opts.batch_samples}; o++) {
            ${Array.from({ length: params.length }, (_, o) => `
              ${Array.from({ length: opts.concurrency }, (_, c) => `
                if ((param_${o}_${c}[o] = $params[${o}]()) instanceof Promise) param_${o}_${c}[o] = await param_${o}_${c}[o];
              `.trim()).join(" ")}
            `.trim()).join(`
`)}
          }
        `}
      `}

      ${!(opts.gc && opts.inner_gc) ? "" : `
        igc: {
          const t0 = $now();
          $gc(); t += $now() - t0;
        }
      `}

      ${!opts.manual ? "" : "let t2 = 0;"}
      ${!opts.heap ? "" : "const h0 = $heap();"}
      ${!opts.$counters ? "" : "if (_hc) try { $counters.before(); } catch {};"} const t0 = $now();

      ${!batch ? `
        ${!async ? "" : 1 >= opts.concurrency ? "" : "await Promise.all(["}
          ${Array.from({ length: opts.concurrency }, (_, c) => `
            ${!opts.manual ? "" : "t2 +="} ${!async ? "" : 1 < opts.concurrency ? "" : "await"} ${(!params.length ? `
              $fn()
            ` : `
              $fn(${Array.from({ length: params.length }, (_, o) => `param_${o}_${c}`).join(", ")})
            `).trim()}${!async ? ";" : 1 < opts.concurrency ? "," : ";"}
          `.trim()).join(`
`)}
        ${!async ? "" : 1 >= opts.concurrency ? "" : `]);`}
      ` : `
        for (let o = 0; o < ${opts.batch_samples / opts.batch_unroll | 0}; o++) {
          ${!params.length ? "" : `const param_offset = o * ${opts.batch_unroll};`}

          ${Array.from({ length: opts.batch_unroll }, (_, u) => `
            ${!async ? "" : 1 >= opts.concurrency ? "" : "await Promise.all(["}
              ${Array.from({ length: opts.concurrency }, (_, c) => `
                ${!async ? "" : 1 < opts.concurrency ? "" : "await"} ${(!params.length ? `
                  $fn()
                ` : `
                  $fn(${Array.from({ length: params.length }, (_, o) => `param_${o}_${c}[${u === 0 ? "" : `${u} + `}param_offset]`).join(", ")})
                `).trim()}${!async ? ";" : 1 < opts.concurrency ? "," : ";"}
              `.trim()).join(" ")}
            ${!async ? "" : 1 >= opts.concurrency ? "" : "]);"}
          `.trim()).join(`
`)}
        }
      `}

      const t1 = $now();
      ${!opts.$counters ? "" : "if (_hc) try { $counters.after(); } catch {};"}

      ${!opts.heap ? "" : `
        heap: {
          const t0 = $now();
          const h1 = ($heap() - h0) ${!batch ? "" : `/ ${opts.batch_samples}`}; t += $now() - t0;

          if (0 <= h1) {
            heap._++;
            heap.total += h1;
            heap.min = Math.min(h1, heap.min);
            heap.max = Math.max(h1, heap.max);
          }
        }
      `}

      ${!(opts.gc && opts.inner_gc && !opts.gc.fallback) ? "" : `
        igc: {
          const t0 = $now();
          $gc(); const t1 = $now() - t0;

          t += t1;
          gc.total += t1;
          gc.min = Math.min(t1, gc.min);
          gc.max = Math.max(t1, gc.max);
        }
      `};

      const diff = ${opts.manual ? "t2" : "t1 - t0"};
      t += ${opts.manual === "manual" ? "t2" : "t1 - t0"};
      samples[_] = diff ${!batch ? "" : `/ ${opts.batch_samples}`};
    }

    samples.length = _;
    samples.sort((a, b) => a - b);
    if (samples.length > ${opts.samples_threshold}) samples = samples.slice(2, -2);

    return {
      samples,
      min: samples[0],
      max: samples[samples.length - 1],
      p25: samples[(.25 * (samples.length - 1)) | 0],
      p50: samples[(.50 * (samples.length - 1)) | 0],
      p75: samples[(.75 * (samples.length - 1)) | 0],
      p99: samples[(.99 * (samples.length - 1)) | 0],
      p999: samples[(.999 * (samples.length - 1)) | 0],
      avg: samples.reduce((a, v) => a + v, 0) / samples.length,
      ticks: samples.length ${!batch ? "" : `* ${opts.batch_samples}`},
      ${!opts.heap ? "" : "heap: { ...heap, avg: heap.total / heap._ },"}
      ${!(opts.gc && opts.inner_gc && !opts.gc.fallback) ? "" : "gc: { ...gc, avg: gc.total / _ },"}
      ${!opts.$counters ? "" : `...(!_hc ? {} : { counters: $counters.translate(${!batch ? 1 : opts.batch_samples}, _) }),`}
    };

    ${!opts.$counters ? "" : "if (_hc) try { $counters.deinit(); } catch {};"}
  `);
  return {
    kind: "fn",
    debug: loop.toString(),
    ...await loop(fn, opts.gc, opts.now, opts.heap, opts.params, opts.$counters)
  };
}
async function iter(iter, opts = {}) {
  const _ = {};
  defaults(opts);
  let samples = new Array(2 ** 20);
  const _i = { next() {
    return _.next();
  } };
  const ctx = {
    [Symbol.iterator]() {
      return _i;
    },
    [Symbol.asyncIterator]() {
      return _i;
    },
    get(name) {
      return opts.args?.[name];
    }
  };
  const gen = function* () {
    let batch = false;
    warmup: {
      const t0 = now();
      yield undefined;
      const t1 = now();
      if (t1 - t0 <= opts.warmup_threshold) {
        for (let o = 0;o < opts.warmup_samples; o++) {
          const t0 = now();
          yield undefined;
          const t1 = now();
          if (batch = t1 - t0 <= opts.batch_threshold)
            break;
        }
      }
    }
    const loop = new GeneratorFunction("$gc", "$now", "$samples", _.debug = `
      let _ = 0; let t = 0;

      ${!opts.gc ? "" : `$gc();`}

      for (; _ < ${opts.max_samples}; _++) {
        if (_ >= ${opts.min_samples} && t >= ${opts.min_cpu_time}) break;

        ${!(opts.gc && opts.inner_gc) ? "" : `
          let inner_gc_cost = 0;

          igc: {
            const t0 = $now(); $gc();
            inner_gc_cost = $now() - t0;
          }
        `}

        const t0 = $now();
        
        ${!batch ? "yield void 0;" : `
          for (let o = 0; o < ${opts.batch_samples / opts.batch_unroll | 0}; o++) {
            ${new Array(opts.batch_unroll).fill("yield void 0;").join(" ")}
          }
        `}

        const t1 = $now();
        const diff = t1 - t0;

        $samples[_] = diff ${!batch ? "" : `/ ${opts.batch_samples}`};
        t += diff ${!(opts.gc && opts.inner_gc) ? "" : "+ inner_gc_cost"};
      }

      $samples.length = _;
    `)(opts.gc, opts.now, samples);
    _.batch = batch;
    _.next = loop.next.bind(loop);
    yield undefined;
  }();
  await iter((_.next = gen.next.bind(gen), ctx));
  if (samples.length < opts.min_samples)
    throw new TypeError(`expected at least ${opts.min_samples} samples from iterator`);
  samples.sort((a, b) => a - b);
  if (samples.length > opts.samples_threshold)
    samples = samples.slice(2, -2);
  return {
    samples,
    kind: "iter",
    debug: _.debug,
    min: samples[0],
    max: samples[samples.length - 1],
    p25: samples[0.25 * (samples.length - 1) | 0],
    p50: samples[0.5 * (samples.length - 1) | 0],
    p75: samples[0.75 * (samples.length - 1) | 0],
    p99: samples[0.99 * (samples.length - 1) | 0],
    p999: samples[0.999 * (samples.length - 1) | 0],
    avg: samples.reduce((a, v) => a + v, 0) / samples.length,
    ticks: samples.length * (!_.batch ? 1 : opts.batch_samples)
  };
}
// node_modules/mitata/src/main.mjs
var flags = {
  compact: 1 << 0,
  baseline: 1 << 1
};

// plugins/devmem/first-fit.ts
class FirstFitBitmap {
  #words;
  #size;
  #avail;
  #hint = 0;
  #what;
  constructor(size, what, allFree = true) {
    if (!Number.isInteger(size) || size < 0 || size > 2147483647)
      throw new PagePoolError("EINVAL", `${what}: size must be an integer in [0, 2^31), got ${size}`);
    this.#what = what;
    this.#size = size;
    this.#words = new Uint32Array(Math.max(1, size + 31 >>> 5));
    this.#avail = 0;
    if (allFree)
      this.#setFree(0, size);
  }
  get size() {
    return this.#size;
  }
  get avail() {
    return this.#avail;
  }
  alloc() {
    const words = this.#words;
    const n = words.length;
    for (let w = this.#hint;w < n; w++) {
      const x = words[w];
      if (x !== 0) {
        const low = x & -x;
        words[w] = x ^ low;
        this.#hint = w;
        this.#avail--;
        return (w << 5) + (31 - Math.clz32(low));
      }
    }
    this.#hint = n;
    return -1;
  }
  free(i) {
    if (!(i >= 0 && i < this.#size))
      throw new PagePoolError("EINVAL", `${this.#what}: index ${i} out of range [0, ${this.#size})`);
    const w = i >>> 5;
    const bit = 1 << (i & 31);
    if (this.#words[w] & bit)
      throw new PagePoolError("EFAULT", `${this.#what}: index ${i} freed twice`);
    this.#words[w] |= bit;
    if (w < this.#hint)
      this.#hint = w;
    this.#avail++;
  }
  take(i) {
    if (!this.isFree(i))
      throw new PagePoolError("EFAULT", `${this.#what}: index ${i} is not free`);
    this.#words[i >>> 5] &= ~(1 << (i & 31));
    this.#avail--;
  }
  isFree(i) {
    return i >= 0 && i < this.#size && (this.#words[i >>> 5] & 1 << (i & 31)) !== 0;
  }
  grow(newSize) {
    if (newSize <= this.#size)
      return;
    if (newSize > 2147483647)
      throw new PagePoolError("ENOSPC", `${this.#what}: index space exhausted`);
    const need = newSize + 31 >>> 5;
    if (need > this.#words.length) {
      const w = new Uint32Array(Math.max(need, this.#words.length * 2));
      w.set(this.#words);
      this.#words = w;
    }
    const old = this.#size;
    this.#size = newSize;
    this.#setFree(old, newSize);
    if (old >>> 5 < this.#hint)
      this.#hint = old >>> 5;
  }
  #setFree(from, to) {
    for (let i = from;i < to; i++)
      this.#words[i >>> 5] |= 1 << (i & 31);
    this.#avail += to - from;
  }
}

// plugins/devmem/binding.ts
var bindings = new Map;
var BINDING_ID_MAX = 4294967295;
var idAllocNext = 1;
function allocBindingId() {
  const start = idAllocNext;
  let id = start;
  while (bindings.has(id)) {
    id = id >= BINDING_ID_MAX ? 1 : id + 1;
    if (id === start)
      throw new PagePoolError("EBUSY", "devmem: no free binding id");
  }
  idAllocNext = id >= BINDING_ID_MAX ? 1 : id + 1;
  return id;
}
class DevmemBinding {
  id;
  netdev;
  dmabuf;
  area;
  numNiovs;
  chunkPool;
  chunkStart;
  boundRxqs = new Set;
  state = "bound";
  allocs = 0;
  allocFails = 0;
  frees = 0;
  poolInits = 0;
  poolDestroys = 0;
  warnings = [];
  leaked = false;
  #refs = 1;
  #log;
  constructor(netdev, dmabuf, log) {
    this.netdev = netdev;
    this.dmabuf = dmabuf;
    this.#log = log ?? ((m) => console.warn(m));
    this.numNiovs = dmabuf.size >>> PAGE_SHIFT;
    this.area = createNetIovArea(this.numNiovs, {
      type: NET_IOV_DMABUF,
      readable: dmabuf.cpuReadable,
      owner: this
    });
    this.chunkPool = new FirstFitBitmap(this.numNiovs, `devmem binding chunk pool`);
    const nChunks = dmabuf.sgLen.length;
    this.chunkStart = new Int32Array(nChunks);
    let idx = 0;
    for (let c = 0;c < nChunks; c++) {
      this.chunkStart[c] = idx;
      const n = dmabuf.sgLen[c] / 2 ** PAGE_SHIFT;
      for (let i = 0;i < n; i++)
        niovSetDmaAddr(this.area.niov(idx + i), dmabuf.sgDma[c] + i * 2 ** PAGE_SHIFT);
      idx += n;
    }
    try {
      this.id = allocBindingId();
    } catch (e) {
      this.area.dispose();
      throw e;
    }
    bindings.set(this.id, this);
  }
  get refcount() {
    return this.#refs;
  }
  get() {
    if (this.#refs === 0)
      throw new PagePoolError("EFAULT", `devmem binding ${this.id}: get after free`);
    this.#refs++;
  }
  put() {
    if (this.#refs === 0)
      throw new PagePoolError("EFAULT", `devmem binding ${this.id}: put after free`);
    if (--this.#refs === 0)
      this.#free();
  }
  niovIndex(ref) {
    return this.area.indexOf(ref);
  }
  virtualAddr(ref) {
    return ((ref >>> 1) - this.area.base) * 2 ** PAGE_SHIFT;
  }
  allocNiov() {
    const i = this.chunkPool.alloc();
    if (i < 0) {
      this.allocFails++;
      return 0;
    }
    this.allocs++;
    const d = this.area.base + i;
    nm.pp[d] = 0;
    nm.ppRef[d] = 0;
    return d << 1 | NET_IOV;
  }
  freeNiov(ref) {
    const i = this.area.indexOf(ref);
    if (i < 0)
      throw new PagePoolError("EFAULT", `devmem binding ${this.id}: netmem ${ref} is not one of its net_iovs`);
    this.chunkPool.free(i);
    this.frees++;
  }
  unbind() {
    if (this.state !== "bound")
      throw new PagePoolError("ENOENT", `devmem binding ${this.id} is not bound`);
    for (const rxq of this.boundRxqs) {
      if (rxq.mpParams.priv === this)
        rxq.netdev.unbindRxQueue(rxq.index, this);
    }
    this.boundRxqs.clear();
    bindings.delete(this.id);
    this.state = "unbound";
    this.put();
  }
  audit() {
    const problems = [];
    let free = 0;
    let allocated = 0;
    if (this.state !== "freed" || this.leaked) {
      const base = this.area.base;
      for (let i = 0;i < this.numNiovs; i++) {
        const d = base + i;
        const pp = nm.pp[d];
        if (this.chunkPool.isFree(i)) {
          free++;
          if (pp !== 0)
            problems.push(`net_iov ${i} is free in the chunk pool but attached to pool ${pp}`);
          else if (nm.loc[d] !== LOC_FREE)
            problems.push(`net_iov ${i} is free in the chunk pool but marked ${LOC_NAMES[nm.loc[d]]}`);
        } else {
          allocated++;
          if (pp === 0)
            problems.push(`net_iov ${i} is allocated from the chunk pool but attached to no pool (lost)`);
          else if (poolsById.get(pp)?.mpPriv !== this)
            problems.push(`net_iov ${i} is attached to pool ${pp}, which is not a live pool of this binding`);
        }
      }
      if (free !== this.chunkPool.avail)
        problems.push(`chunk pool reports ${this.chunkPool.avail} free, bitmap has ${free}`);
    }
    if (this.#refs < 0)
      problems.push(`refcount is negative (${this.#refs})`);
    return { ok: problems.length === 0, problems, free, allocated, refcount: this.#refs };
  }
  #free() {
    this.state = "freed";
    if (bindings.get(this.id) === this)
      bindings.delete(this.id);
    if (this.chunkPool.avail !== this.chunkPool.size) {
      const msg = `devmem binding ${this.id}: can't destroy genpool. size=${this.chunkPool.size}, avail=${this.chunkPool.avail}`;
      this.warnings.push(msg);
      this.#log(msg);
      this.leaked = true;
    } else {
      this.area.dispose();
    }
    this.dmabuf.put();
  }
}
function bindDmabufRx(netdev, dmabuf, queues, opts = {}) {
  if (!Array.isArray(queues) || queues.length === 0)
    throw new PagePoolError("EINVAL", "bind-rx: at least one rx queue is required");
  if (!netdev.registered)
    throw new PagePoolError("ENODEV", `${netdev.name} is unregistered`);
  dmabuf.get();
  let binding;
  try {
    binding = new DevmemBinding(netdev, dmabuf, opts.log);
  } catch (e) {
    dmabuf.put();
    throw e;
  }
  try {
    for (const q of queues) {
      const rxq = netdev.bindRxQueue(q, devmemOps, binding);
      binding.boundRxqs.add(rxq);
    }
  } catch (e) {
    binding.unbind();
    throw e;
  }
  return binding;
}

class DevmemNetlink {
  #bindings = new Set;
  #closed = false;
  bindRx(netdev, dmabuf, queues) {
    if (this.#closed)
      throw new PagePoolError("EBADF", "netlink socket is closed");
    const b = bindDmabufRx(netdev, dmabuf, queues);
    this.#bindings.add(b);
    return b;
  }
  get bindings() {
    return [...this.#bindings];
  }
  close() {
    if (this.#closed)
      return;
    this.#closed = true;
    for (const b of this.#bindings)
      if (b.state === "bound")
        b.unbind();
    this.#bindings.clear();
  }
}
// plugins/devmem/dmabuf.ts
var nextInode = 1;
var nextDmaBase = 2 ** 40;

class DmaBuf {
  inode;
  name;
  kind;
  size;
  cpuReadable;
  sgLen;
  sgDma;
  #refs = 1;
  #mem;
  constructor(kind, size, opts = {}) {
    if (kind !== "udmabuf" && kind !== "device")
      throw new PagePoolError("EINVAL", `dma-buf kind must be "udmabuf" or "device", got ${String(kind)}`);
    if (!Number.isInteger(size) || size <= 0 || size % PAGE_SIZE !== 0 || size > 2 ** 31)
      throw new PagePoolError("EINVAL", `dma-buf size must be a positive multiple of ${PAGE_SIZE} up to 2 GiB, got ${size}`);
    const sg = opts.sg ?? [size];
    let total = 0;
    for (const len of sg) {
      if (!Number.isInteger(len) || len <= 0 || len % PAGE_SIZE !== 0)
        throw new PagePoolError("EINVAL", `dma-buf sg entry must be a positive multiple of ${PAGE_SIZE}, got ${len}`);
      total += len;
    }
    if (total !== size)
      throw new PagePoolError("EINVAL", `dma-buf sg entries sum to ${total}, size is ${size}`);
    this.inode = nextInode++;
    this.kind = kind;
    this.name = opts.name ?? `${kind}-${this.inode}`;
    this.size = size;
    this.cpuReadable = kind === "udmabuf";
    this.sgLen = Float64Array.from(sg);
    this.sgDma = new Float64Array(sg.length);
    for (let i = 0;i < sg.length; i++) {
      this.sgDma[i] = nextDmaBase;
      nextDmaBase += sg[i] + (1 << 20);
    }
    this.#mem = new Uint8Array(size);
  }
  get refcount() {
    return this.#refs;
  }
  get() {
    if (this.#refs === 0)
      throw new PagePoolError("EBADF", `dma-buf ${this.name} is already released`);
    this.#refs++;
    return this;
  }
  put() {
    if (this.#refs === 0)
      throw new PagePoolError("EFAULT", `dma-buf ${this.name}: put with no reference left`);
    if (--this.#refs === 0)
      this.#mem = null;
  }
  close() {
    this.put();
  }
  read(offset, len, dst, dstOff = 0) {
    const mem = this.#access(offset, len, "read");
    if (!this.cpuReadable)
      throw new PagePoolError("EFAULT", `dma-buf ${this.name} is device memory: the CPU cannot read it`);
    if (dstOff < 0 || dstOff + len > dst.length)
      throw new PagePoolError("EINVAL", `read: destination too small (${dst.length - dstOff} < ${len})`);
    dst.set(mem.subarray(offset, offset + len), dstOff);
    return len;
  }
  write(offset, src) {
    const mem = this.#access(offset, src.length, "write");
    if (!this.cpuReadable)
      throw new PagePoolError("EFAULT", `dma-buf ${this.name} is device memory: the CPU cannot write it`);
    mem.set(src, offset);
  }
  deviceWrite(offset, src) {
    this.#access(offset, src.length, "deviceWrite").set(src, offset);
  }
  deviceRead(offset, len, dst, dstOff = 0) {
    const mem = this.#access(offset, len, "deviceRead");
    dst.set(mem.subarray(offset, offset + len), dstOff);
    return len;
  }
  #access(offset, len, what) {
    const mem = this.#mem;
    if (mem === null)
      throw new PagePoolError("EBADF", `${what}: dma-buf ${this.name} is released`);
    if (!(Number.isInteger(offset) && Number.isInteger(len) && offset >= 0 && len >= 0 && offset + len <= this.size))
      throw new PagePoolError("EINVAL", `${what}: range [${offset}, ${offset + len}) is outside dma-buf ${this.name} of ${this.size} bytes`);
    return mem;
  }
}
function createUdmabuf(size, opts = {}) {
  return new DmaBuf("udmabuf", size, opts);
}
// plugins/devmem/socket.ts
var SO_DEVMEM_LINEAR = 98;
var SO_DEVMEM_DMABUF = 99;
var MAX_DONTNEED_TOKENS = 128;
var MAX_DONTNEED_FRAGS = 1024;
var TOKEN_MAX = 2147483647;

class DevmemCmsgBuffer {
  capacity;
  type;
  fragOffset;
  fragSize;
  fragToken;
  dmabufId;
  count = 0;
  data;
  dataLen = 0;
  constructor(capacity, dataBytes = 4096) {
    if (!Number.isInteger(capacity) || capacity < 0 || capacity > 1 << 20)
      throw new PagePoolError("EINVAL", `cmsg capacity must be an integer in [0, 2^20], got ${capacity}`);
    if (!Number.isInteger(dataBytes) || dataBytes < 0 || dataBytes > 1 << 30)
      throw new PagePoolError("EINVAL", `data buffer size must be an integer in [0, 2^30], got ${dataBytes}`);
    this.capacity = capacity;
    this.type = new Uint8Array(capacity);
    this.fragOffset = new Float64Array(capacity);
    this.fragSize = new Uint32Array(capacity);
    this.fragToken = new Uint32Array(capacity);
    this.dmabufId = new Uint32Array(capacity);
    this.data = new Uint8Array(dataBytes);
  }
  record(i) {
    if (!(i >= 0 && i < this.count))
      throw new PagePoolError("EINVAL", `cmsg ${i} out of range [0, ${this.count})`);
    return {
      type: this.type[i],
      fragOffset: this.fragOffset[i],
      fragSize: this.fragSize[i],
      fragToken: this.fragToken[i],
      dmabufId: this.dmabufId[i]
    };
  }
  tokenRanges() {
    let n = 0;
    for (let i = 0;i < this.count; i++)
      if (this.type[i] === SO_DEVMEM_DMABUF)
        n++;
    const out = new Uint32Array(n * 2);
    let j = 0;
    for (let i = 0;i < this.count; i++)
      if (this.type[i] === SO_DEVMEM_DMABUF) {
        out[j++] = this.fragToken[i];
        out[j++] = 1;
      }
    return out;
  }
}
var nextSocketId = 1;

class DevmemSocket {
  id;
  #closed = false;
  #qRef = new Int32Array(64);
  #qOff = new Int32Array(64);
  #qLen = new Int32Array(64);
  #qLinear = new Array(64);
  #qHead = 0;
  #qCount = 0;
  #tokRef = new Int32Array(64);
  #tokIds = new FirstFitBitmap(64, "devmem socket tokens");
  #tokensOut = 0;
  #lastBinding = null;
  stats = {
    delivered: 0,
    droppedClosed: 0,
    tokensIssued: 0,
    tokensFreed: 0,
    tokensFreedOnClose: 0,
    dontneedCalls: 0,
    unknownSkipped: 0,
    fragLimitHits: 0,
    devmemBytes: 0,
    linearBytes: 0
  };
  constructor() {
    this.id = nextSocketId++;
    this.#tokIds.take(0);
  }
  get closed() {
    return this.#closed;
  }
  get tokensOutstanding() {
    return this.#tokensOut;
  }
  get queued() {
    return this.#qCount;
  }
  tokenNetmem(token) {
    return token > 0 && token < this.#tokRef.length ? this.#tokRef[token] : 0;
  }
  heldTokens() {
    const out = [];
    for (let t = 1;t < this.#tokRef.length; t++)
      if (this.#tokRef[t] !== 0)
        out.push(t);
    return out;
  }
  refsHeld(ref) {
    let n = 0;
    for (let t = 1;t < this.#tokRef.length; t++)
      if (this.#tokRef[t] === ref)
        n++;
    const cap = this.#qRef.length;
    for (let i = 0;i < this.#qCount; i++)
      if (this.#qRef[this.#qHead + i & cap - 1] === ref)
        n++;
    return n;
  }
  deliver(ref, offset, size) {
    const d = ref >>> 1;
    if (!(ref & NET_IOV) || ref <= 0 || d >= nm.pp.length)
      throw new PagePoolError("ENODEV", `deliver: netmem ${ref} is not a net_iov (devmem sockets take only dma-buf frags)`);
    const pool = poolsById.get(nm.pp[d]);
    if (!pool || nm.loc[d] !== LOC_INFLIGHT || nm.ppRef[d] < 1)
      throw new PagePoolError("EINVAL", `deliver: net_iov ${ref} is not in flight from a pool`);
    if (pool.mpOps !== devmemOps)
      throw new PagePoolError("ENODEV", `deliver: net_iov ${ref} is not devmem (provider ${pool.mpOps?.name ?? "none"})`);
    if (!(Number.isInteger(offset) && Number.isInteger(size) && offset >= 0 && size > 0 && offset + size <= PAGE_SIZE))
      throw new PagePoolError("EINVAL", `deliver: fragment [${offset}, ${offset + size}) must be non-empty and inside one ${PAGE_SIZE}-byte net_iov`);
    if (this.#closed) {
      this.stats.droppedClosed++;
      pool.putNetmem(ref, -1, false);
      return;
    }
    const i = this.#qPush();
    this.#qRef[i] = ref;
    this.#qOff[i] = offset;
    this.#qLen[i] = size;
    this.stats.delivered++;
  }
  deliverLinear(bytes) {
    if (!(bytes instanceof Uint8Array) || bytes.length === 0)
      throw new PagePoolError("EINVAL", "deliverLinear: need a non-empty Uint8Array");
    if (this.#closed) {
      this.stats.droppedClosed++;
      return;
    }
    const i = this.#qPush();
    this.#qRef[i] = 0;
    this.#qOff[i] = 0;
    this.#qLen[i] = bytes.length;
    this.#qLinear[i] = bytes.slice();
    this.stats.delivered++;
  }
  recvmsg(out, maxBytes = Number.MAX_SAFE_INTEGER) {
    if (this.#closed)
      throw new PagePoolError("EBADF", `recvmsg: socket ${this.id} is closed`);
    if (!(maxBytes >= 0))
      throw new PagePoolError("EINVAL", `recvmsg: maxBytes must be >= 0, got ${maxBytes}`);
    out.count = 0;
    out.dataLen = 0;
    let sent = 0;
    const cap = this.#qRef.length;
    while (this.#qCount > 0 && sent < maxBytes) {
      const i = this.#qHead;
      const ref = this.#qRef[i];
      const off = this.#qOff[i];
      const len = this.#qLen[i];
      let copy = Math.min(len, maxBytes - sent);
      if (ref === 0) {
        copy = Math.min(copy, out.data.length - out.dataLen);
        if (copy === 0 || out.count >= out.capacity) {
          if (sent === 0)
            throw new PagePoolError("ENOSPC", "recvmsg: no room in the data or control buffer for linear data");
          break;
        }
        const src = this.#qLinear[i];
        out.data.set(src.subarray(off, off + copy), out.dataLen);
        out.dataLen += copy;
        const r = out.count++;
        out.type[r] = SO_DEVMEM_LINEAR;
        out.fragOffset[r] = 0;
        out.fragSize[r] = copy;
        out.fragToken[r] = 0;
        out.dmabufId[r] = 0;
        this.stats.linearBytes += copy;
      } else {
        if (out.count >= out.capacity) {
          if (sent === 0)
            throw new PagePoolError("ENOSPC", "recvmsg: control buffer has no room for a cmsg (the kernel's ETOOSMALL)");
          break;
        }
        const binding = this.#bindingOf(ref);
        const token = this.#allocToken(ref);
        nm.ppRef[ref >>> 1]++;
        const r = out.count++;
        out.type[r] = SO_DEVMEM_DMABUF;
        out.fragOffset[r] = binding.virtualAddr(ref) + off;
        out.fragSize[r] = copy;
        out.fragToken[r] = token;
        out.dmabufId[r] = binding.id;
        this.stats.devmemBytes += copy;
      }
      sent += copy;
      if (copy === len) {
        this.#qHead = i + 1 & cap - 1;
        this.#qCount--;
        this.#qLinear[i] = undefined;
        if (ref !== 0)
          this.#putRef(ref);
      } else {
        this.#qOff[i] = off + copy;
        this.#qLen[i] = len - copy;
      }
    }
    return sent;
  }
  dontneed(ranges, nRanges) {
    return devmemDontneed(this, ranges, nRanges);
  }
  close() {
    if (this.#closed)
      return;
    this.#closed = true;
    const tok = this.#tokRef;
    for (let t = 1;t < tok.length; t++) {
      const ref = tok[t];
      if (ref === 0)
        continue;
      tok[t] = 0;
      this.#tokIds.free(t);
      this.#tokensOut--;
      this.stats.tokensFreedOnClose++;
      this.#putRef(ref);
    }
    const cap = this.#qRef.length;
    while (this.#qCount > 0) {
      const i = this.#qHead;
      const ref = this.#qRef[i];
      this.#qLinear[i] = undefined;
      this.#qHead = i + 1 & cap - 1;
      this.#qCount--;
      if (ref !== 0)
        this.#putRef(ref);
    }
  }
  eraseToken(token) {
    if (!(token > 0 && token < this.#tokRef.length))
      return 0;
    const ref = this.#tokRef[token];
    if (ref === 0)
      return 0;
    this.#tokRef[token] = 0;
    this.#tokIds.free(token);
    this.#tokensOut--;
    return ref;
  }
  putRef(ref) {
    this.#putRef(ref);
  }
  #putRef(ref) {
    const pool = poolsById.get(nm.pp[ref >>> 1]);
    if (!pool)
      throw new PagePoolError("EFAULT", `devmem socket ${this.id}: netmem ${ref} has no pool`);
    pool.putNetmem(ref, -1, false);
  }
  #bindingOf(ref) {
    const b = this.#lastBinding;
    if (b !== null && b.niovIndex(ref) >= 0)
      return b;
    const owner = netIovArea(ref)?.owner;
    if (!(owner instanceof DevmemBinding))
      throw new PagePoolError("ENODEV", `recvmsg: netmem ${ref} is not a dma-buf net_iov`);
    this.#lastBinding = owner;
    return owner;
  }
  #allocToken(ref) {
    let t = this.#tokIds.alloc();
    if (t < 0) {
      const size = this.#tokIds.size;
      if (size > TOKEN_MAX)
        throw new PagePoolError("ENOSPC", "recvmsg: token space exhausted (xa_limit_31b)");
      const next = Math.min(size * 2, TOKEN_MAX + 1);
      this.#tokIds.grow(next);
      const tr = new Int32Array(next);
      tr.set(this.#tokRef);
      this.#tokRef = tr;
      t = this.#tokIds.alloc();
    }
    this.#tokRef[t] = ref;
    this.#tokensOut++;
    this.stats.tokensIssued++;
    return t;
  }
  #qPush() {
    let cap = this.#qRef.length;
    if (this.#qCount === cap) {
      const n = cap * 2;
      const r = new Int32Array(n);
      const o = new Int32Array(n);
      const l = new Int32Array(n);
      const lin = new Array(n);
      for (let k = 0;k < this.#qCount; k++) {
        const j = this.#qHead + k & cap - 1;
        r[k] = this.#qRef[j];
        o[k] = this.#qOff[j];
        l[k] = this.#qLen[j];
        lin[k] = this.#qLinear[j];
      }
      this.#qRef = r;
      this.#qOff = o;
      this.#qLen = l;
      this.#qLinear = lin;
      this.#qHead = 0;
      cap = n;
    }
    const i = this.#qHead + this.#qCount & cap - 1;
    this.#qCount++;
    return i;
  }
}
function devmemDontneed(sock, ranges, nRanges) {
  if (!(ranges instanceof Uint32Array))
    throw new PagePoolError("EINVAL", "dontneed: token ranges must be a Uint32Array of (start, count) pairs");
  if (nRanges === undefined) {
    if (ranges.length % 2 !== 0)
      throw new PagePoolError("EINVAL", `dontneed: ${ranges.length} u32s is not a whole number of (start, count) pairs`);
    nRanges = ranges.length / 2;
  } else if (!Number.isInteger(nRanges) || nRanges < 0 || nRanges * 2 > ranges.length) {
    throw new PagePoolError("EINVAL", `dontneed: nRanges ${nRanges} does not fit ${ranges.length} u32s`);
  }
  if (sock.closed)
    throw new PagePoolError("EBADF", `dontneed: socket ${sock.id} is closed`);
  if (nRanges > MAX_DONTNEED_TOKENS)
    throw new PagePoolError("EINVAL", `dontneed: ${nRanges} token ranges, at most ${MAX_DONTNEED_TOKENS} allowed`);
  sock.stats.dontneedCalls++;
  let freed = 0;
  let inspected = 0;
  outer:
    for (let i = 0;i < nRanges; i++) {
      const start = ranges[2 * i];
      const count = ranges[2 * i + 1];
      for (let j = 0;j < count; j++) {
        if (++inspected > MAX_DONTNEED_FRAGS) {
          sock.stats.fragLimitHits++;
          break outer;
        }
        const ref = sock.eraseToken(start + j >>> 0);
        if (ref === 0) {
          sock.stats.unknownSkipped++;
          continue;
        }
        sock.putRef(ref);
        freed++;
      }
    }
  sock.stats.tokensFreed += freed;
  return freed;
}
// plugins/devmem/user-port.ts
var MAX_DATA_BYTES_PER_REQUEST = 1 << 20;
// plugins/zcrx/register.ts
function registerZcrxIfq(netdev, opts) {
  if (!netdev.registered)
    throw new PagePoolError("ENODEV", `zcrx: ${netdev.name} is unregistered`);
  const rqEntries = rqEntriesFor(opts.rqEntries ?? 4096, opts.clamp ?? false);
  const cqEntries = cqEntriesFor(opts.cqEntries ?? rqEntries * 2);
  const areaSize = opts.areaSize ?? 16 << 20;
  if (!Number.isInteger(areaSize) || areaSize <= 0 || areaSize % ZCRX_NIOV_SIZE !== 0)
    throw new PagePoolError("EINVAL", `zcrx: areaSize must be a positive multiple of ${ZCRX_NIOV_SIZE}, got ${areaSize}`);
  netdev.rxQueue(opts.queueIdx);
  const ifq = new ZcrxIfq(netdev, opts.queueIdx, {
    numNiovs: areaSize / ZCRX_NIOV_SIZE,
    areaId: opts.areaId ?? 0,
    rqEntries,
    cqEntries
  });
  try {
    netdev.bindRxQueue(opts.queueIdx, zcrxOps, ifq);
  } catch (e) {
    ifq.area.dispose();
    throw e;
  }
  ifq.bound = true;
  return ifq;
}
// plugins/zcrx/user.ts
function isPow2(n) {
  return typeof n === "number" && Number.isInteger(n) && n > 0 && (n & n - 1) === 0;
}

class ZcrxUser {
  area;
  areaId;
  #tokenHi;
  #rq;
  #rqI32;
  #rqMask;
  rqEntries;
  #rqTail = 0;
  #cq;
  #cqI32;
  #cqMask;
  cqEntries;
  #cqHead = 0;
  off = 0;
  len = 0;
  flags = 0;
  offLo = 0;
  offHi = 0;
  received = 0;
  returned = 0;
  rqFull = 0;
  constructor(desc) {
    const bad = (what) => {
      throw new PagePoolError("EINVAL", `ZcrxUser: ${what}`);
    };
    if (typeof desc !== "object" || desc === null)
      bad("descriptor must be an object");
    if (!(desc.rqSab instanceof SharedArrayBuffer) || !(desc.cqSab instanceof SharedArrayBuffer))
      bad("rqSab and cqSab must be SharedArrayBuffers");
    if (!(desc.areaSab instanceof SharedArrayBuffer))
      bad("areaSab must be a SharedArrayBuffer");
    if (!isPow2(desc.rqEntries) || !isPow2(desc.cqEntries))
      bad("ring sizes must be powers of two");
    if (desc.rqSab.byteLength < ringBytes(desc.rqEntries))
      bad("rqSab is smaller than its ring");
    if (desc.cqSab.byteLength < ringBytes(desc.cqEntries))
      bad("cqSab is smaller than its ring");
    const o = desc.offsets;
    if (!o || o.head !== RING_HEAD_OFF || o.tail !== RING_TAIL_OFF || o.rqes !== RING_ENTRIES_OFF)
      bad("ring offsets do not match this model's layout");
    if (!Number.isInteger(desc.areaId) || desc.areaId < 0 || desc.areaId > 65535)
      bad("areaId must be a u16");
    if (desc.areaSize !== desc.areaSab.byteLength)
      bad("areaSize does not match areaSab");
    if (desc.rqAreaToken !== BigInt(desc.areaId) << 48n)
      bad("rqAreaToken must be areaId << 48");
    this.area = new Uint8Array(desc.areaSab);
    this.areaId = desc.areaId;
    this.#tokenHi = desc.areaId << AREA_SHIFT_HI >>> 0;
    this.rqEntries = desc.rqEntries;
    this.#rqMask = desc.rqEntries - 1;
    this.#rq = new Uint32Array(desc.rqSab);
    this.#rqI32 = new Int32Array(desc.rqSab);
    this.cqEntries = desc.cqEntries;
    this.#cqMask = desc.cqEntries - 1;
    this.#cq = new Uint32Array(desc.cqSab);
    this.#cqI32 = new Int32Array(desc.cqSab);
    this.#rqTail = Atomics.load(this.#rq, TAIL_W);
    this.#cqHead = Atomics.load(this.#cq, HEAD_W);
  }
  pending() {
    return Atomics.load(this.#cq, TAIL_W) - this.#cqHead >>> 0;
  }
  readCompletion() {
    const cq = this.#cq;
    if (Atomics.load(cq, TAIL_W) === this.#cqHead)
      return false;
    const w = ENTRIES_W + ((this.#cqHead & this.#cqMask) << 2);
    const lo = cq[w + CQE_OFF_LO];
    const hi = cq[w + CQE_OFF_HI];
    this.offLo = lo;
    this.offHi = hi;
    this.off = (hi & OFF_HI_MASK) * 2 ** 32 + lo;
    this.len = cq[w + CQE_RES];
    this.flags = cq[w + CQE_FLAGS];
    this.#cqHead = this.#cqHead + 1 >>> 0;
    Atomics.store(cq, HEAD_W, this.#cqHead);
    Atomics.notify(this.#cqI32, HEAD_W, 1);
    this.received++;
    return true;
  }
  data() {
    return this.area.subarray(this.off, this.off + this.len);
  }
  returnBuffer() {
    return this.returnRaw(this.offLo, this.offHi & OFF_HI_MASK | this.#tokenHi, this.len, 0);
  }
  returnRaw(offLo, offHi, len, pad) {
    const rq = this.#rq;
    if (this.#rqTail - Atomics.load(rq, HEAD_W) >>> 0 >= this.rqEntries) {
      this.rqFull++;
      return false;
    }
    const w = ENTRIES_W + ((this.#rqTail & this.#rqMask) << 2);
    rq[w + RQE_OFF_LO] = offLo;
    rq[w + RQE_OFF_HI] = offHi;
    rq[w + RQE_LEN] = len;
    rq[w + RQE_PAD] = pad;
    this.#rqTail = this.#rqTail + 1 >>> 0;
    Atomics.store(rq, TAIL_W, this.#rqTail);
    Atomics.notify(this.#rqI32, TAIL_W, 1);
    this.returned++;
    return true;
  }
  rqSpace() {
    return this.rqEntries - (this.#rqTail - Atomics.load(this.#rq, HEAD_W) >>> 0);
  }
  waitRqSpace(timeoutMs) {
    const head = Atomics.load(this.#rq, HEAD_W);
    if (this.#rqTail - head >>> 0 >= this.rqEntries && !this.closed())
      Atomics.wait(this.#rqI32, HEAD_W, head | 0, timeoutMs);
    return this.rqSpace();
  }
  closed() {
    return Atomics.load(this.#cq, CQ_CLOSED_W) !== 0;
  }
  waitCompletion(timeoutMs) {
    const tail = Atomics.load(this.#cq, TAIL_W);
    if (tail === this.#cqHead && !this.closed())
      Atomics.wait(this.#cqI32, TAIL_W, tail | 0, timeoutMs);
    return this.pending();
  }
}
// bench/lib/world.ts
var SYNTHETIC_PREFIX = "synth-";

class CountingPriv {
  allocs = 0;
  releases = 0;
  inits = 0;
  destroys = 0;
  uninstalls = 0;
  failInit = null;
}
var counting = (netdev, q, ops) => {
  netdev.bindRxQueue(q, ops, new CountingPriv);
};
var ADAPTERS = {
  basic: counting,
  limited: (netdev, q, ops) => {
    netdev.bindRxQueue(q, ops, new LimitedProvider({ quotaBytes: 8 << 20 }));
  },
  huge: (netdev, q, ops) => {
    netdev.bindRxQueue(q, ops, new HugeProvider({ dev: netdev.dev, chunkSize: 4096, maxFolios: 2 }));
  },
  devmem: (netdev, q) => {
    new DevmemNetlink().bindRx(netdev, createUdmabuf(1 << 20), [q]);
  },
  zcrx: (netdev, q) => {
    registerZcrxIfq(netdev, { queueIdx: q, areaSize: 1 << 20, rqEntries: 1024 });
  }
};
function providerRigs() {
  const real = [];
  const synth = [];
  const skipped = [];
  for (const ops of PROVIDERS) {
    if (ops.name.startsWith(SYNTHETIC_PREFIX)) {
      synth.push({ name: ops.name, ops, synthetic: true, bind: counting });
      continue;
    }
    const bind = ADAPTERS[ops.name];
    if (bind && probe(ops, bind))
      real.push({ name: ops.name, ops, synthetic: false, bind });
    else
      skipped.push(ops.name);
  }
  return { rigs: [...real, ...synth], skipped };
}
function probe(ops, bind) {
  try {
    const [pool] = poolsForRigs(makeHost(1024), [{ name: ops.name, ops, synthetic: false, bind }]);
    return pool.mpOps === ops;
  } catch {
    return false;
  }
}
function makeHost(pages = 16384) {
  return new DmaDevice(new PageAllocator({ pages }), { name: "bench" });
}
var PROVIDER_POOL_FLAGS = PP_FLAG_ALLOW_UNREADABLE_NETMEM | PP_FLAG_DMA_MAP | PP_FLAG_DMA_SYNC_DEV;
function poolsForRigs(dev, rigs, maxLen = 4096) {
  const netdev = new NetDevice({ rxQueues: Math.max(1, rigs.length), dev });
  return rigs.map((rig, q) => {
    rig.bind(netdev, q, rig.ops);
    const pool = PagePool.create({
      netdev,
      queueIdx: q,
      napi: netdev.rxQueue(q).napi,
      flags: PROVIDER_POOL_FLAGS,
      maxLen
    });
    const pin = pool.allocNetmem(GFP_ATOMIC);
    if (pin === 0)
      throw new Error(`${rig.name}: the first allocation failed`);
    return pool;
  });
}
function plainPool(dev, flags = 0, maxLen = 0) {
  const netdev = new NetDevice({ rxQueues: 1, dev });
  return PagePool.create({ netdev, queueIdx: 0, napi: netdev.rxQueue(0).napi, flags, maxLen });
}

// bench/baselines.bench.ts
var N = 64;
var scenario = {
  name: "baselines",
  title: "Baselines: loop, bare stack, direct provider call, ArrayBuffer / Buffer",
  setup() {
    const defs = [];
    const n = N;
    const nextN = () => n;
    defs.push({
      id: "loop",
      path: "baseline:loop",
      degree: 0,
      ops: N,
      label: "for loop (per iteration)",
      gen: function* () {
        yield {
          0: nextN,
          bench(k) {
            let s = 0;
            for (let i = 0;i < k; i++)
              s = s + i | 0;
            return do_not_optimize(s);
          }
        };
      }
    });
    const stack = new Int32Array(128);
    for (let i = 0;i < stack.length; i++)
      stack[i] = i + 1 << 1;
    let top = 64;
    defs.push({
      id: "stack",
      path: "baseline:stack",
      degree: 0,
      ops: N,
      label: "typed-array stack pop+push",
      gen: function* () {
        yield {
          0: nextN,
          bench(k) {
            let s = 0;
            for (let i = 0;i < k; i++) {
              const v = stack[--top];
              s = s + v | 0;
              stack[top++] = v;
            }
            return do_not_optimize(s);
          }
        };
      }
    });
    const dev = makeHost(4096);
    const basic = providerRigs().rigs.find((r) => r.name === "basic");
    if (basic) {
      const [pool] = poolsForRigs(dev, [basic]);
      const pages = dev.pages;
      defs.push({
        id: "direct-call",
        path: "baseline:direct",
        degree: 1,
        ops: N,
        label: "direct call: basic alloc + release",
        providers: ["basic"],
        gen: function* () {
          yield {
            0: nextN,
            bench(k) {
              let s = 0;
              for (let i = 0;i < k; i++) {
                const ref = basicAllocNetmems(pool, GFP_ATOMIC);
                nm.loc[ref >>> 1] = LOC_INFLIGHT;
                s = s + ref | 0;
                if (basicReleaseNetmem(pool, ref)) {
                  pool.releaseCount++;
                  const d = ref >>> 1;
                  nm.pp[d] = 0;
                  nm.ppRef[d] = 0;
                  nm.loc[d] = LOC_FREE;
                  pages.putPage(ref);
                }
              }
              return do_not_optimize(s);
            }
          };
        },
        after: () => {
          const a = pool.audit();
          if (!a.ok)
            throw new Error(`direct-call: audit failed: ${a.problems.join("; ")}`);
          return { allocs: pool.mpPriv.allocs };
        }
      });
    }
    const size = 4096;
    const nextSize = () => size;
    defs.push({
      id: "arraybuffer",
      path: "baseline:arraybuffer",
      degree: 0,
      ops: 1,
      label: "new ArrayBuffer(4096)",
      gen: function* () {
        yield {
          0: nextSize,
          bench(sz) {
            return do_not_optimize(new ArrayBuffer(sz));
          }
        };
      }
    });
    defs.push({
      id: "buffer",
      path: "baseline:buffer",
      degree: 0,
      ops: 1,
      label: "Buffer.allocUnsafe(4096)",
      gen: function* () {
        yield {
          0: nextSize,
          bench(sz) {
            return do_not_optimize(Buffer.allocUnsafe(sz));
          }
        };
      }
    });
    return defs;
  }
};

// bench/lib/rng.ts
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = a + 1831565813 >>> 0;
    let t = a;
    t = Math.imul(t ^ t >>> 15, t | 1);
    t ^= t + Math.imul(t ^ t >>> 7, t | 61);
    return ((t ^ t >>> 14) >>> 0) / 4294967296;
  };
}
function shuffle(xs, rand) {
  for (let i = xs.length - 1;i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = xs[i];
    xs[i] = xs[j];
    xs[j] = t;
  }
  return xs;
}
var SEQ_LEN = 1 << 16;
function interleaving(degree, seed, pad = 256) {
  if (!Number.isInteger(degree) || degree < 1 || degree > 255)
    throw new RangeError(`degree must be an integer in [1, 255], got ${degree}`);
  const rand = mulberry32(seed ^ degree * 2654435761);
  const rank = shuffle(Array.from({ length: degree }, (_, i) => i), rand);
  const cdf = new Float64Array(degree);
  let sum = 0;
  for (let r = 0;r < degree; r++)
    cdf[r] = sum += 1 / (r + 1);
  const out = new Uint8Array(SEQ_LEN + pad);
  for (let i = 0;i < out.length; i++) {
    const u = rand() * sum;
    let r = 0;
    while (r < degree - 1 && cdf[r] <= u)
      r++;
    out[i] = rank[r];
  }
  return out;
}
var PACKET_MIX = [
  [64, 0.3],
  [576, 0.15],
  [1500, 0.45],
  [4096, 0.1]
];
function packetSizes(seed, n = SEQ_LEN) {
  const rand = mulberry32(seed);
  const out = new Uint16Array(n);
  for (let i = 0;i < n; i++) {
    let u = rand();
    let k = 0;
    while (k < PACKET_MIX.length - 1 && u >= PACKET_MIX[k][1])
      u -= PACKET_MIX[k++][1];
    out[i] = PACKET_MIX[k][0];
  }
  return out;
}

// bench/dispatch-sweep.bench.ts
var SWEEP_DEGREES = [1, 2, 4, 8, 16];
var N2 = 64;
function requestedDegrees() {
  const env = process.env.BENCH_DEGREES;
  if (!env)
    return [...SWEEP_DEGREES];
  return env.split(",").map((s) => Number(s)).filter((d) => Number.isInteger(d) && d > 0);
}
var scenario2 = {
  name: "dispatch-sweep",
  title: "Dispatch sweep: 1..16 providers behind the same call sites, seeded Zipf interleaving",
  setup(ctx) {
    const { rigs } = providerRigs();
    const defs = [];
    for (const degree of requestedDegrees()) {
      if (degree > rigs.length)
        continue;
      const chosen = rigs.slice(0, degree);
      const pools = poolsForRigs(makeHost(4096), chosen);
      const seq = interleaving(degree, ctx.seed);
      let cursor = 0;
      const nextCursor = () => {
        cursor = cursor + N2 & SEQ_LEN - 1;
        return cursor;
      };
      defs.push({
        id: `sweep-${degree}`,
        path: "dispatch",
        degree,
        ops: N2,
        label: `dispatch sweep, ${degree} provider${degree > 1 ? "s" : ""}`,
        synthetic: chosen.some((r) => r.synthetic),
        providers: chosen.map((r) => r.name),
        gen: function* () {
          yield {
            0: nextCursor,
            bench(at) {
              let s = 0;
              for (let i = 0;i < N2; i++) {
                const pool = pools[seq[at + i]];
                const ref = pool.allocNetmem(GFP_ATOMIC);
                s = s + ref | 0;
                pool.returnNetmem(ref);
              }
              return do_not_optimize(s);
            }
          };
        },
        after: () => {
          let dispatches = 0;
          let ops = 0;
          for (const p of pools) {
            const a = p.audit();
            if (!a.ok)
              throw new Error(`sweep-${degree}: pool ${p.id}: ${a.problems.slice(0, 3).join("; ")}`);
            dispatches += p.st[S_EMPTY];
            ops += p.releaseCount;
          }
          return { allocDispatchPerOp: Math.round(dispatches / Math.max(1, ops) * 1000) / 1000 };
        }
      });
    }
    return defs;
  }
};
function profileSweep(seed, degrees) {
  const { rigs, skipped } = providerRigs();
  const counts = {};
  for (const degree of degrees) {
    if (degree > rigs.length)
      continue;
    const chosen = rigs.slice(0, degree);
    const pools = poolsForRigs(makeHost(4096), chosen);
    const base = pools.map((p) => [p.st[S_EMPTY], p.releaseCount]);
    const seq = interleaving(degree, seed);
    for (let i = 0;i < SEQ_LEN; i++) {
      const pool = pools[seq[i]];
      pool.returnNetmem(pool.allocNetmem(GFP_ATOMIC));
    }
    pools.forEach((p, i) => {
      const c = counts[chosen[i].name] ??= { allocNetmems: 0, releaseNetmem: 0 };
      c.allocNetmems += p.st[S_EMPTY] - base[i][0];
      c.releaseNetmem += p.releaseCount - base[i][1];
    });
  }
  return { rigs: rigs.map((r) => r.name), skipped, counts };
}

// bench/lib/harness.ts
var MODE_OPTS = {
  quick: { min_cpu_time: 50000000, min_samples: 8 },
  default: { min_cpu_time: 250000000, min_samples: 12 },
  full: { min_cpu_time: 642000000, min_samples: 12 }
};
var WARMUP_NS = { quick: 30000000, default: 1e8, full: 250000000 };
var OPTIMISED_OUT_FACTOR = 1.42;
function pickStats(s) {
  return {
    avg: s.avg,
    p50: s.p50,
    p75: s.p75,
    p99: s.p99,
    min: s.min,
    max: s.max,
    ticks: s.ticks,
    samples: Array.isArray(s.samples) ? s.samples.length : 0
  };
}
async function measureNoop(mode) {
  return pickStats(await measure(() => {}, { ...MODE_OPTS[mode] }));
}
async function measureBench(scenario, def, mode, noop) {
  const base = {
    scenario,
    id: def.id,
    path: def.path,
    degree: def.degree,
    ops: def.ops,
    label: def.label,
    synthetic: def.synthetic ?? false,
    providers: def.providers ?? []
  };
  try {
    warmup(def.gen, WARMUP_NS[mode]);
    const s = pickStats(await measure(def.gen, { ...MODE_OPTS[mode] }));
    const extra = def.after?.() ?? {};
    return {
      ...base,
      iter: s,
      perOp: { avg: s.avg / def.ops, p50: s.p50 / def.ops, p75: s.p75 / def.ops, min: s.min / def.ops },
      optimisedOut: s.avg < OPTIMISED_OUT_FACTOR * noop.avg,
      extra
    };
  } catch (e) {
    const zero = { avg: 0, p50: 0, p75: 0, p99: 0, min: 0, max: 0, samples: 0, ticks: 0 };
    return {
      ...base,
      iter: zero,
      perOp: { avg: 0, p50: 0, p75: 0, min: 0 },
      optimisedOut: false,
      extra: {},
      error: e?.stack ?? String(e)
    };
  }
}
function warmup(gen, ns) {
  const it = gen({ get: () => {
    return;
  } });
  const y = it.next().value;
  const producers = [];
  for (let i = 0;typeof y[i] === "function"; i++)
    producers.push(y[i]);
  const end = performance.now() + ns / 1e6;
  const args = new Array(producers.length);
  do {
    for (let k = 0;k < 256; k++) {
      for (let i = 0;i < producers.length; i++)
        args[i] = producers[i]();
      y.bench(...args);
    }
  } while (performance.now() < end);
}
function fullGc() {
  const g = globalThis;
  if (g.Bun)
    g.Bun.gc(true);
  else if (typeof g.gc === "function")
    g.gc();
  else
    throw new Error("no GC hook: run node with --expose-gc");
}
function heapUsed() {
  return process.memoryUsage().heapUsed;
}
async function allocationReader() {
  if (typeof globalThis.Bun !== "undefined") {
    const jsc = await import("bun:jsc");
    return () => jsc.memoryUsage().current;
  }
  return () => process.memoryUsage().heapUsed;
}

// bench/e2e-napi.bench.ts
var BUDGET = 64;
var WINDOW = 256;
var HELD_CAP = 1024;
var MASK = SEQ_LEN - 1;
var scenario3 = {
  name: "e2e-napi",
  title: "End to end: NAPI poll (budget 64), packet mix, XDP drops, user returns",
  async setup(ctx) {
    const allocated = await allocationReader();
    const dev = makeHost(8192);
    const pool = plainPool(dev, PP_FLAG_DMA_MAP | PP_FLAG_DMA_SYNC_DEV, 4096);
    const napi = pool.napi;
    const mem = dev.pages.memory;
    const pages = dev.pages;
    const sizes = packetSizes(ctx.seed);
    const rand = mulberry32(ctx.seed ^ 24301);
    const drop = new Uint8Array(SEQ_LEN);
    for (let i = 0;i < SEQ_LEN; i++)
      drop[i] = rand() < 0.1 ? 1 : 0;
    const heldRef = new Int32Array(HELD_CAP);
    const heldLen = new Int32Array(HELD_CAP);
    let head = 0;
    let tail = 0;
    let cursor = 0;
    let failed = 0;
    let packets = 0;
    const poll = () => {
      let s = 0;
      for (let i = 0;i < BUDGET; i++) {
        const j = cursor + i & MASK;
        const size = sizes[j];
        const ref = pool.allocNetmemSized(size, GFP_ATOMIC);
        if (ref === 0) {
          failed++;
          continue;
        }
        mem[pages.offsetOf(ref) + pool.outOffset] = size;
        s = s + ref | 0;
        if (drop[j] === 1) {
          pool.putNetmem(ref, size, true);
        } else {
          heldRef[tail] = ref;
          heldLen[tail] = size;
          tail = tail + 1 & HELD_CAP - 1;
        }
      }
      cursor = cursor + BUDGET & MASK;
      packets += BUDGET;
      return s;
    };
    const userReturn = () => {
      while ((tail - head & HELD_CAP - 1) > WINDOW) {
        pool.putNetmem(heldRef[head], heldLen[head], false);
        head = head + 1 & HELD_CAP - 1;
      }
    };
    const iteration = (c) => {
      const s = napiRun(napi, poll);
      userReturn();
      return s + c;
    };
    let c = 0;
    const nextC = () => c = c + 1 & 255;
    return [
      {
        id: "e2e",
        path: "e2e",
        degree: 0,
        ops: BUDGET,
        label: "NAPI receive loop, per packet",
        gen: function* () {
          yield {
            0: nextC,
            bench(k) {
              return do_not_optimize(iteration(k));
            }
          };
        },
        after: () => {
          const polls = ctx.mode === "quick" ? 2048 : 16384;
          const CHUNK = 64;
          for (let i = 0;i < 256; i++)
            iteration(i);
          fullGc();
          fullGc();
          const h0 = heapUsed();
          let grown = 0;
          let counted = 0;
          for (let done = 0;done < polls; done += CHUNK) {
            const a0 = allocated();
            for (let i = 0;i < CHUNK; i++)
              iteration(i);
            const a1 = allocated();
            if (a1 >= a0) {
              grown += a1 - a0;
              counted += CHUNK * BUDGET;
            }
          }
          fullGc();
          fullGc();
          const h1 = heapUsed();
          const n = polls * BUDGET;
          while (head !== tail) {
            pool.putNetmem(heldRef[head], heldLen[head], false);
            head = head + 1 & HELD_CAP - 1;
          }
          const a = pool.audit();
          if (!a.ok)
            throw new Error(`e2e: audit failed: ${a.problems.slice(0, 3).join("; ")}`);
          if (failed > 0)
            throw new Error(`e2e: ${failed} allocations failed`);
          const st = flatStats(pool.st);
          return {
            heapBytesPerMillionPackets: counted ? Math.round(grown / counted * 1e6) : Number.NaN,
            heapPackets: counted,
            retainedBytesPerMillionPackets: Math.round((h1 - h0) / n * 1e6),
            packets,
            fast: st.fast,
            slow: st.slow,
            refill: st.refill,
            cached: st.cached,
            ring: st.ring,
            ringFull: st.ringFull,
            releasedRefcnt: st.releasedRefcnt
          };
        }
      }
    ];
  }
};

// bench/paths.bench.ts
var N3 = 64;
function audited(pool, what, extra) {
  return () => {
    const a = pool.audit();
    if (!a.ok)
      throw new Error(`${what}: audit failed: ${a.problems.slice(0, 3).join("; ")}`);
    return { ...extra(), inflight: a.inflight };
  };
}
var scenario4 = {
  name: "paths",
  title: "The kernel's paths: fast (cache hit), ptr_ring round trip, slow; provider slow path",
  setup() {
    const defs = [];
    const n = N3;
    const nextN = () => n;
    {
      const pool = plainPool(makeHost(4096));
      defs.push({
        id: "fast",
        path: "fast",
        degree: 0,
        ops: N3,
        label: "01 fast path: alloc + recycleDirect",
        gen: function* () {
          yield {
            0: nextN,
            bench(k) {
              let s = 0;
              for (let i = 0;i < k; i++) {
                const ref = pool.allocNetmem(GFP_ATOMIC);
                s = s + ref | 0;
                pool.recycleDirect(ref);
              }
              return do_not_optimize(s);
            }
          };
        },
        after: audited(pool, "fast", () => ({ fast: pool.st[S_FAST], cached: pool.st[S_CACHED] }))
      });
    }
    {
      const pool = plainPool(makeHost(4096));
      defs.push({
        id: "ring",
        path: "ring",
        degree: 0,
        ops: N3,
        label: "02 ptr_ring: alloc + put(allowDirect=false)",
        gen: function* () {
          yield {
            0: nextN,
            bench(k) {
              cpu.inSoftirq = false;
              let s = 0;
              for (let i = 0;i < k; i++) {
                const ref = pool.allocNetmem(GFP_ATOMIC);
                s = s + ref | 0;
                pool.putNetmem(ref, -1, false);
              }
              return do_not_optimize(s);
            }
          };
        },
        after: audited(pool, "ring", () => ({ ring: pool.st[S_RING], fast: pool.st[S_FAST] }))
      });
    }
    {
      const dev = makeHost(4096);
      const pool = plainPool(dev);
      const pages = dev.pages;
      defs.push({
        id: "slow",
        path: "slow",
        degree: 0,
        ops: N3,
        label: "03 slow: alloc + get_page + put + put_page",
        gen: function* () {
          yield {
            0: nextN,
            bench(k) {
              let s = 0;
              for (let i = 0;i < k; i++) {
                const ref = pool.allocNetmem(GFP_ATOMIC);
                s = s + ref | 0;
                pages.getPage(ref);
                pool.putNetmem(ref, -1, true);
                pages.putPage(ref);
              }
              return do_not_optimize(s);
            }
          };
        },
        after: audited(pool, "slow", () => ({ releasedRefcnt: pool.st[S_RELEASED_REFCNT] }))
      });
    }
    const basic = providerRigs().rigs.find((r) => r.name === "basic");
    if (basic) {
      const [pool] = poolsForRigs(makeHost(4096), [basic]);
      defs.push({
        id: "provider-slow",
        path: "provider-slow",
        degree: 1,
        ops: N3,
        label: "provider slow path: alloc + release via basic",
        providers: ["basic"],
        gen: function* () {
          yield {
            0: nextN,
            bench(k) {
              let s = 0;
              for (let i = 0;i < k; i++) {
                const ref = pool.allocNetmem(GFP_ATOMIC);
                s = s + ref | 0;
                pool.returnNetmem(ref);
              }
              return do_not_optimize(s);
            }
          };
        },
        after: audited(pool, "provider-slow", () => ({ empty: pool.st[S_EMPTY] }))
      });
    }
    return defs;
  }
};

// bench/lib/return-rigs.ts
var MASK2 = SEQ_LEN - 1;
function failing(id, path, label, err) {
  const msg = `${id}: could not build the leg: ${err?.message ?? String(err)}`;
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
        }
      };
    }
  };
}
function zcrxLeg(ctx, n) {
  const netdev = new NetDevice({ rxQueues: 1, dev: makeHost(2048) });
  const ifq = registerZcrxIfq(netdev, { queueIdx: 0, areaSize: 1024 * 4096, rqEntries: 1024 });
  const napi = netdev.rxQueue(0).napi;
  const pool = PagePool.create({ netdev, queueIdx: 0, napi, flags: PROVIDER_POOL_FLAGS, maxLen: 4096 });
  const user = new ZcrxUser(ifq.userDescriptor());
  const sizes = packetSizes(ctx.seed);
  let cursor = 0;
  let lost = 0;
  const kernel = () => {
    let s = 0;
    for (let i = 0;i < n; i++) {
      const ref = pool.allocNetmem(GFP_ATOMIC);
      const len = sizes[cursor + i & MASK2];
      if (ifq.recvFrag(ref, 0, len) !== len)
        lost++;
      pool.recycleDirect(ref);
      s = s + ref | 0;
    }
    cursor = cursor + n & MASK2;
    return s;
  };
  const userSide = () => {
    let s = 0;
    while (user.readCompletion()) {
      s = s + user.area[user.off] | 0;
      if (!user.returnBuffer())
        lost++;
    }
    return s;
  };
  let c = 0;
  const nextC = () => c = c + 1 & 255;
  return {
    id: "zcrx",
    path: "return:zcrx",
    degree: 0,
    ops: n,
    label: "zcrx: completion + refill ring return",
    providers: ["zcrx"],
    gen: function* () {
      yield {
        0: nextC,
        bench(k) {
          return do_not_optimize(napiRun(napi, kernel) + userSide() + k);
        }
      };
    },
    after: () => {
      const a = pool.audit();
      if (!a.ok)
        throw new Error(`zcrx: audit failed: ${a.problems.slice(0, 3).join("; ")}`);
      if (lost > 0)
        throw new Error(`zcrx: ${lost} buffers could not be posted or returned`);
      return {};
    }
  };
}
function devmemLeg(ctx, n) {
  const netdev = new NetDevice({ rxQueues: 1, dev: makeHost(1024) });
  const dmabuf = createUdmabuf(1024 * 4096);
  new DevmemNetlink().bindRx(netdev, dmabuf, [0]);
  const napi = netdev.rxQueue(0).napi;
  const pool = PagePool.create({ netdev, queueIdx: 0, napi, flags: PROVIDER_POOL_FLAGS, maxLen: 4096 });
  const sock = new DevmemSocket;
  const cmsgs = new DevmemCmsgBuffer(n);
  const ranges = new Uint32Array(2 * n);
  const sizes = packetSizes(ctx.seed);
  let cursor = 0;
  let short = 0;
  const kernel = () => {
    let s = 0;
    for (let i = 0;i < n; i++) {
      const ref = pool.allocNetmem(GFP_ATOMIC);
      sock.deliver(ref, 0, sizes[cursor + i & MASK2]);
      s = s + ref | 0;
    }
    cursor = cursor + n & MASK2;
    return s;
  };
  const userSide = () => {
    sock.recvmsg(cmsgs);
    let r = 0;
    for (let i = 0;i < cmsgs.count; i++) {
      if (cmsgs.type[i] !== SO_DEVMEM_DMABUF)
        continue;
      ranges[r++] = cmsgs.fragToken[i];
      ranges[r++] = 1;
    }
    const freed = sock.dontneed(ranges, r >> 1);
    if (freed !== r >> 1)
      short++;
    return freed;
  };
  let c = 0;
  const nextC = () => c = c + 1 & 255;
  return {
    id: "devmem",
    path: "return:devmem",
    degree: 0,
    ops: n,
    label: "devmem: recvmsg tokens + SO_DEVMEM_DONTNEED",
    providers: ["devmem"],
    gen: function* () {
      yield {
        0: nextC,
        bench(k) {
          return do_not_optimize(napiRun(napi, kernel) + userSide() + k);
        }
      };
    },
    after: () => {
      const a = pool.audit();
      if (!a.ok)
        throw new Error(`devmem: audit failed: ${a.problems.slice(0, 3).join("; ")}`);
      if (short > 0)
        throw new Error(`devmem: ${short} dontneed calls freed fewer tokens than returned`);
      return {};
    }
  };
}
async function returnRigs(ctx, n) {
  const defs = [];
  try {
    defs.push(zcrxLeg(ctx, n));
  } catch (e) {
    defs.push(failing("zcrx", "return:zcrx", "zcrx refill ring", e));
  }
  try {
    defs.push(devmemLeg(ctx, n));
  } catch (e) {
    defs.push(failing("devmem", "return:devmem", "devmem dontneed", e));
  }
  return defs;
}

// bench/return-paths.bench.ts
var N4 = 64;
var MASK3 = SEQ_LEN - 1;
var scenario5 = {
  name: "return-paths",
  title: "Return paths: copy out vs zcrx refill ring vs devmem dontneed",
  async setup(ctx) {
    const defs = [];
    {
      const dev = makeHost(4096);
      const pool = plainPool(dev);
      const napi = pool.napi;
      const mem = dev.pages.memory;
      const pages = dev.pages;
      const sizes = packetSizes(ctx.seed);
      const user = new Uint8Array(64 * 1024);
      let cursor = 0;
      let userOff = 0;
      const batch = () => {
        let s = 0;
        for (let i = 0;i < N4; i++) {
          const len = sizes[cursor + i & MASK3];
          const ref = pool.allocNetmem(GFP_ATOMIC);
          const off = pages.offsetOf(ref);
          if (userOff + len > user.length)
            userOff = 0;
          user.set(mem.subarray(off, off + len), userOff);
          userOff += len;
          s = s + ref | 0;
          pool.recycleDirect(ref);
        }
        cursor = cursor + N4 & MASK3;
        return s;
      };
      let c = 0;
      const nextC = () => c = c + 1 & 255;
      defs.push({
        id: "copy",
        path: "return:copy",
        degree: 0,
        ops: N4,
        label: "copy payload out + recycle",
        gen: function* () {
          yield {
            0: nextC,
            bench(k) {
              return do_not_optimize(napiRun(napi, batch) + k);
            }
          };
        },
        after: () => {
          const a = pool.audit();
          if (!a.ok)
            throw new Error(`copy: audit failed: ${a.problems.slice(0, 3).join("; ")}`);
          return {};
        }
      });
    }
    defs.push(...await returnRigs(ctx, N4));
    return defs;
  }
};

// bench/child.ts
var SCENARIOS = [scenario, scenario4, scenario2, scenario5, scenario3];
function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
}
async function main() {
  const mode = arg("mode", "default") ?? "default";
  const names = (arg("scenarios") ?? SCENARIOS.map((s) => s.name).join(",")).split(",");
  const filter = arg("filter") ? new RegExp(arg("filter")) : null;
  const seed = Number(arg("seed", "42"));
  const set = arg("set", "real");
  const out = arg("out");
  const isBun = typeof globalThis.Bun !== "undefined";
  const engine = isBun ? "bun" : "node";
  const engineVersion = isBun ? process.versions.bun ?? "" : process.versions.node;
  const profileOut = arg("profile");
  if (profileOut) {
    writeFileSync(profileOut, JSON.stringify({ variant: DISPATCH_VARIANT, ...profileSweep(seed, requestedDegrees()) }));
    return;
  }
  const noop = await measureNoop(mode);
  const results = [];
  for (const sc of SCENARIOS) {
    if (!names.includes(sc.name))
      continue;
    const defs = await sc.setup({ mode, variant: DISPATCH_VARIANT, seed });
    for (const def of defs) {
      if (filter && !filter.test(`${sc.name}/${def.id}`) && !filter.test(def.path))
        continue;
      const r = await measureBench(sc.name, def, mode, noop);
      results.push(r);
      const shown = r.error ? `ERROR ${r.error.split(`
`)[0]}` : `${r.perOp.p50.toFixed(2)} ns/op${r.optimisedOut ? " !" : ""}`;
      process.stderr.write(`    ${sc.name}/${def.id}: ${shown}
`);
    }
  }
  const report = {
    engine,
    engineVersion,
    variant: DISPATCH_VARIANT,
    set,
    mode,
    noop,
    results,
    versions: {
      [engine]: engineVersion,
      v8: process.versions.v8 ?? "",
      webkit: process.versions.webkit ?? ""
    }
  };
  const text = JSON.stringify(report);
  if (out)
    writeFileSync(out, text);
  else
    process.stdout.write(`${text}
`);
}
await main();
export {
  SCENARIOS
};
