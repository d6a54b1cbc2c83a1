/**
 * @module limited: host pages under a byte quota (overcommitted hosts). Allocation stops cleanly
 * at the quota and counts the failure; pages returned free quota. See README.md.
 */
export * from "./provider.ts";
