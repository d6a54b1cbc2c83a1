/**
 * The runner's handle on one serving child (bench/child.ts --serve): spawn, wait for its ready
 * line, send one command at a time and await its one-line reply. A child that exits, or answers
 * with {"error"}, rejects the pending request with its stderr's tail.
 */
import { type ChildProcess, spawn } from "node:child_process";

export class ServingChild {
  private readonly p: ChildProcess;
  private buf = "";
  private readonly waiting: Array<{ resolve: (x: unknown) => void; reject: (e: Error) => void }> = [];
  private err = "";
  private exited: string | null = null;
  readonly ready: Promise<Record<string, unknown>>;

  constructor(
    readonly label: string,
    cmd: readonly string[],
    opts: { cwd: string; env: Record<string, string | undefined> },
  ) {
    this.p = spawn(cmd[0], cmd.slice(1), { cwd: opts.cwd, env: opts.env, stdio: ["pipe", "pipe", "pipe"] });
    this.ready = this.next() as Promise<Record<string, unknown>>;
    this.p.stdout!.setEncoding("utf8");
    this.p.stdout!.on("data", (d: string) => {
      this.buf += d;
      let nl = this.buf.indexOf("\n");
      while (nl >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        nl = this.buf.indexOf("\n");
        const w = this.waiting.shift();
        if (!w) continue;
        try {
          const x = JSON.parse(line) as { error?: string };
          if (x && typeof x === "object" && typeof x.error === "string")
            w.reject(new Error(`${label}: ${x.error}`));
          else w.resolve(x);
        } catch {
          w.reject(new Error(`${label}: not a reply: ${line.slice(0, 120)}`));
        }
      }
    });
    this.p.stderr!.setEncoding("utf8");
    this.p.stderr!.on("data", (d: string) => {
      this.err = (this.err + d).slice(-4000);
    });
    const fail = (why: string) => {
      this.exited = why;
      for (const w of this.waiting.splice(0))
        w.reject(new Error(`${label} ${why}${this.err ? `:\n${this.err.slice(-2000)}` : ""}`));
    };
    this.p.on("error", (e) => fail(`could not start (${e.message})`));
    this.p.on("exit", (code, sig) => fail(`exited ${code ?? sig}`));
    // A child that dies between requests must not crash the runner on EPIPE.
    this.p.stdin!.on("error", () => {});
  }

  private next(): Promise<unknown> {
    if (this.exited) return Promise.reject(new Error(`${this.label} ${this.exited}`));
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  request<T = Record<string, unknown>>(cmd: Record<string, unknown>): Promise<T> {
    const r = this.next() as Promise<T>;
    if (!this.exited) this.p.stdin!.write(`${JSON.stringify(cmd)}\n`);
    return r;
  }

  /** Asks the child to quit and waits (killing it after `ms`). */
  async close(ms = 3000): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((r) => this.p.once("exit", () => r()));
    this.p.stdin!.write(`${JSON.stringify({ op: "quit" })}\n`);
    this.p.stdin!.end();
    const t = setTimeout(() => this.p.kill("SIGKILL"), ms);
    await gone;
    clearTimeout(t);
  }

  kill(): void {
    if (!this.exited) this.p.kill("SIGKILL");
  }
}
