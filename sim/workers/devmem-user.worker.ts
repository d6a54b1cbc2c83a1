/**
 * A Worker that is the devmem TCP application: recvmsg for tokens, SO_DEVMEM_DONTNEED to give
 * them back, both as messages on a MessagePort that stands for the syscalls (the main thread,
 * which runs NAPI, serves them with the devmem plugin's handleDevmemRequest).
 *
 * Control words (workerData.ctl, Int32Array): [0] = 1 asks the worker to stop; [1] is bumped on
 * every request the worker sends (the main thread waits on it); [2] is bumped by the main thread
 * whenever it delivered packets (this worker waits on it when the socket had nothing).
 * On stop (or EBADF: the socket was closed under it) the worker posts
 * `{ op: "sim-done", report }` on the same port and exits; what it still holds is the socket
 * close's to free.
 */
import { type MessagePort, workerData } from "node:worker_threads";
import { DevmemSocketClient, type PortLike } from "../../plugins/devmem/user-port.ts";
import { DevmemUserCore } from "../devmem-user.ts";

const {
  port,
  ctl: ctlSab,
  numNiovs,
  delay,
} = workerData as {
  port: MessagePort;
  ctl: SharedArrayBuffer;
  numNiovs: number;
  delay: number;
};
const ctl = new Int32Array(ctlSab);
const client = new DevmemSocketClient(port as unknown as PortLike);
const user = new DevmemUserCore(numNiovs, delay);

function rang(): void {
  Atomics.add(ctl, 1, 1);
  Atomics.notify(ctl, 1);
}

async function run(): Promise<void> {
  for (;;) {
    if (Atomics.load(ctl, 0) !== 0) return;
    const seen = Atomics.load(ctl, 2);
    const p = client.recvmsg(256);
    rang();
    const r = await p;
    user.take(r, r.count);
    for (const call of user.dueCalls()) {
      const d = client.dontneed(call.slice()); // the array is transferred; keep ours for confirm()
      rang();
      user.confirm(call, await d);
    }
    // Nothing was queued: sleep until the NAPI thread delivers more (or 2 ms).
    if (r.count === 0) Atomics.wait(ctl, 2, seen, 2);
  }
}

run().then(
  () => finish(),
  (e: { code?: string }) => {
    // EBADF: the socket was closed while a request was on its way (teardown under load).
    if (e?.code !== "EBADF") console.error("devmem user worker:", e);
    finish();
  },
);

function finish(): void {
  client.dispose();
  port.postMessage({ op: "sim-done", report: user.finish() });
  rang();
  port.close();
}
