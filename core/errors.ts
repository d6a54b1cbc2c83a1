/**
 * Errors the model raises, with the kernel's errno names so a kernel engineer can map each
 * failure to the `-E…` the real code returns.
 */
export type Errno =
  | "EINVAL"
  | "EOPNOTSUPP"
  | "E2BIG"
  | "ENOMEM"
  | "EFAULT"
  | "EBUSY"
  | "EEXIST"
  | "ENOENT"
  | "EPERM"
  | "EBADF"
  | "ENOSPC"
  | "ENODEV"
  | "ERANGE"
  | "ENODATA";

/** Thrown by control-path calls (create, bind, destroy, …) and by contract violations. */
export class PagePoolError extends Error {
  readonly code: Errno;
  constructor(code: Errno, message: string) {
    super(`${code}: ${message}`);
    this.name = "PagePoolError";
    this.code = code;
  }
}
