/** @module basic: host pages, one per slow-path call; the reference and test provider. */
export * from "./provider.ts";
