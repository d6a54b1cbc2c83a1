/** Test helper: runs `fn` with stdout and console.error captured; returns its result and what it printed. */
export async function captured<T>(fn: () => Promise<T>): Promise<{ value: T; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const w = process.stdout.write;
  const e = console.error;
  process.stdout.write = ((s: string) => {
    out.push(s);
    return true;
  }) as typeof process.stdout.write;
  console.error = (s: string) => err.push(s);
  try {
    return { value: await fn(), out: out.join(""), err: err.join("\n") };
  } finally {
    process.stdout.write = w;
    console.error = e;
  }
}
