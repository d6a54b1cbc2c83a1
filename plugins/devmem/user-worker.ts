/**
 * A ready-made devmem user for a Worker: reads cmsgs through the syscall channel (user-port.ts)
 * and gives the tokens back with SO_DEVMEM_DONTNEED, in batches of coalesced ranges.
 *
 * Start it with `new Worker(new URL("./user-worker.ts", import.meta.url).href)`, serve the socket
 * on the Worker (`serveDevmemSocket(sock, worker, { ignoreOps: ["done", "user-error"] })`), then
 * post `{ op: "start", frags, holdTokens?, maxRecords? }`:
 * - `frags`: stop after this many SO_DEVMEM_DMABUF records;
 * - `holdTokens`: keep up to this many tokens before returning them (the user's delay; default 0,
 *   return after every read);
 * - `maxRecords`: cmsgs per recvmsg (default 64).
 * It answers `{ op: "done", frags, bytes, linearBytes, freed, recvCalls, dontneedCalls }`, or
 * `{ op: "user-error", code, message }`. When a recvmsg finds nothing queued it waits 1 ms and
 * polls again (the model has no blocking read).
 */
import { SO_DEVMEM_DMABUF, splitDontneed, tokensToRanges } from "./socket.ts";
import { DevmemSocketClient, type PortLike } from "./user-port.ts";

declare const self: PortLike;

const client = new DevmemSocketClient(self);

async function returnTokens(held: number[], st: { freed: number; dontneedCalls: number }): Promise<void> {
  // Coalesced, then cut into calls within the kernel's limits (128 ranges, 1024 token slots).
  const calls = splitDontneed(tokensToRanges(held));
  held.length = 0;
  for (const call of calls) {
    st.dontneedCalls++;
    st.freed += await client.dontneed(call);
  }
}

async function run(frags: number, holdTokens: number, maxRecords: number) {
  const held: number[] = [];
  const st = { frags: 0, bytes: 0, linearBytes: 0, freed: 0, recvCalls: 0, dontneedCalls: 0 };
  while (st.frags < frags) {
    const r = await client.recvmsg(maxRecords);
    st.recvCalls++;
    if (r.count === 0) {
      await new Promise((res) => setTimeout(res, 1));
      continue;
    }
    for (let i = 0; i < r.count; i++) {
      if (r.type[i] === SO_DEVMEM_DMABUF) {
        held.push(r.fragToken[i]);
        st.frags++;
        st.bytes += r.fragSize[i];
      } else {
        st.linearBytes += r.fragSize[i];
      }
    }
    if (held.length > holdTokens) await returnTokens(held, st);
  }
  if (held.length > 0) await returnTokens(held, st);
  return st;
}

self.addEventListener("message", (ev: MessageEvent) => {
  const m = ev.data as { op?: string; frags?: number; holdTokens?: number; maxRecords?: number };
  if (m?.op !== "start") return;
  run(m.frags ?? 0, m.holdTokens ?? 0, m.maxRecords ?? 64).then(
    (st) => self.postMessage({ op: "done", ...st }, []),
    (e: { code?: string; message?: string }) =>
      self.postMessage({ op: "user-error", code: e.code ?? "?", message: e.message ?? String(e) }, []),
  );
});
