/**
 * zcrx and devmem return-path legs for return-paths.bench.ts. Filled in once those providers'
 * user-side APIs are in place; returns no benches (and the report says so) until then.
 */
import type { BenchDef, ScenarioContext } from "./harness.ts";

export async function returnRigs(_ctx: ScenarioContext, _n: number): Promise<BenchDef[]> {
  return [];
}
