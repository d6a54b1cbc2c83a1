/**
 * devmem's user side across threads: a message channel stands for the syscalls. The thread that
 * runs NAPI owns the DevmemSocket and serves requests (serveDevmemSocket); the user, typically a
 * Worker, calls recvmsg / SO_DEVMEM_DONTNEED / close through a DevmemSocketClient. Each request
 * is one message and each answer one message, matched by `seq`.
 *
 * Requests come from another thread, so they are untrusted input: every field is checked and a
 * bad request is answered with an error (never a throw on the serving side). The dontneed
 * request carries the same Uint32Array of (token_start, token_count) pairs that
 * devmemDontneed() takes, so the kernel's rules apply unchanged.
 *
 * Protocol (all messages are plain objects; typed arrays are transferred, not copied):
 *   → { op: "recvmsg", seq, maxRecords, maxBytes?, dataBytes? }
 *   ← { op: "recvmsg", seq, bytes, count, type, fragOffset, fragSize, fragToken, dmabufId, data }
 *   → { op: "dontneed", seq, ranges: Uint32Array }     ← { op: "dontneed", seq, freed }
 *   → { op: "close", seq }                              ← { op: "close", seq }
 *   ← { op, seq, error: { code, message } }             on any failure
 */
import { type Errno, PagePoolError } from "../../core/errors.ts";
import { DevmemCmsgBuffer, type DevmemSocket, devmemDontneed } from "./socket.ts";

/** The subset of MessagePort / Worker / a worker's `self` the channel needs. */
export interface PortLike {
  postMessage(message: unknown, transfer: ArrayBuffer[]): void;
  addEventListener(type: "message", listener: (ev: MessageEvent) => void): void;
  removeEventListener(type: "message", listener: (ev: MessageEvent) => void): void;
  start?(): void;
}

/** The most cmsgs one recvmsg request may ask for (bounds what a request can make us allocate). */
export const MAX_RECORDS_PER_REQUEST = 65536;
/** The most linear bytes one recvmsg request may ask room for. */
export const MAX_DATA_BYTES_PER_REQUEST = 1 << 20;

export interface RecvmsgReply {
  op: "recvmsg";
  seq: number;
  bytes: number;
  count: number;
  type: Uint8Array;
  fragOffset: Float64Array;
  fragSize: Uint32Array;
  fragToken: Uint32Array;
  dmabufId: Uint32Array;
  data: Uint8Array;
}
export interface DontneedReply {
  op: "dontneed";
  seq: number;
  freed: number;
}
export interface CloseReply {
  op: "close";
  seq: number;
}
export interface ErrorReply {
  op: string;
  seq: number;
  error: { code: Errno; message: string };
}
export type DevmemReply = RecvmsgReply | DontneedReply | CloseReply | ErrorReply;

const isInt = (v: unknown, min: number, max: number): v is number =>
  typeof v === "number" && Number.isInteger(v) && v >= min && v <= max;

/**
 * Executes one request against `sock` and returns the reply (never throws for bad input; the
 * error becomes an ErrorReply). Exposed so a test or a single-threaded simulator can call it
 * without a channel.
 */
export function handleDevmemRequest(sock: DevmemSocket, msg: unknown): DevmemReply {
  const m = (typeof msg === "object" && msg !== null ? msg : {}) as Record<string, unknown>;
  const op = typeof m.op === "string" ? m.op : "?";
  const seq = isInt(m.seq, 0, Number.MAX_SAFE_INTEGER) ? m.seq : -1;
  try {
    if (seq < 0) throw new PagePoolError("EINVAL", "request needs an integer seq >= 0");
    switch (op) {
      case "recvmsg": {
        if (!isInt(m.maxRecords, 1, MAX_RECORDS_PER_REQUEST))
          throw new PagePoolError(
            "EINVAL",
            `maxRecords must be an integer in [1, ${MAX_RECORDS_PER_REQUEST}]`,
          );
        const maxBytes = m.maxBytes ?? Number.MAX_SAFE_INTEGER;
        if (!isInt(maxBytes, 0, Number.MAX_SAFE_INTEGER))
          throw new PagePoolError("EINVAL", "maxBytes must be a non-negative integer");
        const dataBytes = m.dataBytes ?? 4096;
        if (!isInt(dataBytes, 0, MAX_DATA_BYTES_PER_REQUEST))
          throw new PagePoolError(
            "EINVAL",
            `dataBytes must be an integer in [0, ${MAX_DATA_BYTES_PER_REQUEST}]`,
          );
        const out = new DevmemCmsgBuffer(m.maxRecords, dataBytes);
        const bytes = sock.recvmsg(out, maxBytes);
        const n = out.count;
        return {
          op: "recvmsg",
          seq,
          bytes,
          count: n,
          type: out.type.slice(0, n),
          fragOffset: out.fragOffset.slice(0, n),
          fragSize: out.fragSize.slice(0, n),
          fragToken: out.fragToken.slice(0, n),
          dmabufId: out.dmabufId.slice(0, n),
          data: out.data.slice(0, out.dataLen),
        };
      }
      case "dontneed": {
        if (!(m.ranges instanceof Uint32Array))
          throw new PagePoolError("EINVAL", "ranges must be a Uint32Array of (start, count) pairs");
        return { op: "dontneed", seq, freed: devmemDontneed(sock, m.ranges) };
      }
      case "close":
        sock.close();
        return { op: "close", seq };
      default:
        throw new PagePoolError("EINVAL", `unknown request op ${JSON.stringify(op)}`);
    }
  } catch (e) {
    if (!(e instanceof PagePoolError)) throw e; // a model bug, not bad input: let it surface
    return { op, seq, error: { code: e.code, message: e.message } };
  }
}

/** Posts a reply, transferring a recvmsg reply's typed arrays instead of copying them. */
export function postDevmemReply(port: Pick<PortLike, "postMessage">, reply: DevmemReply): void {
  if (reply.op === "recvmsg" && !("error" in reply)) {
    const r = reply as RecvmsgReply;
    port.postMessage(r, [
      r.type.buffer,
      r.fragOffset.buffer,
      r.fragSize.buffer,
      r.fragToken.buffer,
      r.dmabufId.buffer,
      r.data.buffer,
    ] as ArrayBuffer[]);
  } else {
    port.postMessage(reply, []);
  }
}

/**
 * Serves `sock`'s syscalls on `port` (the NAPI thread's side). Messages without a string `op`
 * that this protocol knows are answered with an error too, except messages whose `op` is in
 * `ignoreOps` (so the same port can carry the application's own messages). Returns a function
 * that stops serving.
 */
export function serveDevmemSocket(
  sock: DevmemSocket,
  port: PortLike,
  opts: { ignoreOps?: readonly string[] } = {},
): () => void {
  const ignore = new Set(opts.ignoreOps ?? []);
  const listener = (ev: MessageEvent) => {
    const data = ev.data as { op?: unknown } | null;
    if (data && typeof data.op === "string" && ignore.has(data.op)) return;
    postDevmemReply(port, handleDevmemRequest(sock, ev.data));
  };
  port.addEventListener("message", listener);
  port.start?.();
  return () => port.removeEventListener("message", listener);
}

/**
 * The user's end (in a Worker, or any thread): each method sends one request and resolves with
 * the answer, or rejects with a PagePoolError carrying the kernel-style code.
 */
export class DevmemSocketClient {
  readonly #port: PortLike;
  #seq = 0;
  readonly #pending = new Map<number, { resolve: (r: DevmemReply) => void; reject: (e: Error) => void }>();
  readonly #listener: (ev: MessageEvent) => void;

  constructor(port: PortLike) {
    this.#port = port;
    this.#listener = (ev) => {
      const r = ev.data as DevmemReply | null;
      if (!r || typeof r.seq !== "number") return;
      const p = this.#pending.get(r.seq);
      if (!p) return; // not ours (the port may carry other messages)
      this.#pending.delete(r.seq);
      if ("error" in r)
        p.reject(new PagePoolError(r.error.code, r.error.message.replace(/^[A-Z0-9]+: /, "")));
      else p.resolve(r);
    };
    port.addEventListener("message", this.#listener);
    port.start?.();
  }

  /** Requests in flight. */
  get pending(): number {
    return this.#pending.size;
  }

  recvmsg(maxRecords: number, opts: { maxBytes?: number; dataBytes?: number } = {}): Promise<RecvmsgReply> {
    return this.#call({ op: "recvmsg", maxRecords, ...opts }) as Promise<RecvmsgReply>;
  }

  /** SO_DEVMEM_DONTNEED. The array is transferred (unusable here afterwards). */
  async dontneed(ranges: Uint32Array): Promise<number> {
    const r = (await this.#call({ op: "dontneed", ranges }, [ranges.buffer as ArrayBuffer])) as DontneedReply;
    return r.freed;
  }

  async close(): Promise<void> {
    await this.#call({ op: "close" });
  }

  /** Stops listening; requests still pending are rejected. */
  dispose(): void {
    this.#port.removeEventListener("message", this.#listener);
    for (const p of this.#pending.values()) p.reject(new PagePoolError("EBADF", "client disposed"));
    this.#pending.clear();
  }

  #call(req: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<DevmemReply> {
    const seq = this.#seq++;
    return new Promise((resolve, reject) => {
      this.#pending.set(seq, { resolve, reject });
      this.#port.postMessage({ ...req, seq }, transfer);
    });
  }
}
