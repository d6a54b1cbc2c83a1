/**
 * The published JSON Schemas (schemas/*.schema.json) compiled with ajv, for tests and for anyone
 * checking a document by hand: `validator("sim")(doc)`. Every schema in schemas/ is registered, so
 * one can refer to another by its $id (sim.schema.json uses the netlink ones).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import Ajv, { type ValidateFunction } from "ajv";
import { REPO_ROOT } from "./args.ts";

export const SCHEMA_DIR = join(REPO_ROOT, "schemas");

/** A validator for schemas/<name>.schema.json (strict ajv: unknown keywords are an error). */
export function validator(name: string): ValidateFunction {
  const ajv = new Ajv({ allErrors: true, strict: true });
  let main: object | undefined;
  for (const f of readdirSync(SCHEMA_DIR).filter((f) => f.endsWith(".schema.json"))) {
    const s = JSON.parse(readFileSync(join(SCHEMA_DIR, f), "utf8"));
    if (f === `${name}.schema.json`) main = s;
    else ajv.addSchema(s);
  }
  if (!main) throw new Error(`no schema ${name} in ${SCHEMA_DIR}`);
  return ajv.compile(main);
}
