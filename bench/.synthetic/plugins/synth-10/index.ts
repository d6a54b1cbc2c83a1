/** @module synth-10: synthetic provider for the dispatch sweep (bench only). */
export * from "./provider.ts";
