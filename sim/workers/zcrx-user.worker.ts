/**
 * A Worker that is the zcrx application: it consumes completions from the shared completion ring
 * and produces refill entries into the shared refill ring, while the main thread runs NAPI (the
 * rings' other ends). Started by sim/backends/zcrx.ts with a structured-cloneable ZcrxUserDescriptor.
 *
 * Control word (workerData.ctl, Int32Array): [0] = 1 asks the worker to stop. The worker also
 * stops when the kernel side closes the completion ring (ifq shutdown). It then posts its report
 * and exits; whatever it still holds is the kernel's scrub's to take back.
 */
import { parentPort, workerData } from "node:worker_threads";
import { ZcrxSimUser, type ZcrxSimUserConfig } from "../zcrx-user.ts";

const cfg = workerData as ZcrxSimUserConfig & { ctl: SharedArrayBuffer };
const ctl = new Int32Array(cfg.ctl);
const u = new ZcrxSimUser(cfg);

for (;;) {
  const work = u.step();
  if (Atomics.load(ctl, 0) !== 0) break;
  if (u.user.closed() && u.user.pending() === 0) break;
  // Nothing to do: sleep until the kernel posts a completion (or 2 ms, to retry a full ring).
  if (work === 0) u.user.waitCompletion(2);
}
parentPort?.postMessage({ report: u.finish(), rqFullRetries: u.rqFullRetries });
