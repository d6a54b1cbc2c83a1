/**
 * Emits the native leg's C sources (bench/native/generated/) from the same inspected plugin set as
 * the TypeScript dispatchers, through templates/native/*.c.hbs: the provider set (the registered
 * providers by name and kind, then synthetic floor providers up to NATIVE_DEGREE, as the JS
 * dispatch floor sweeps beyond the registered set) and one translation unit per dispatcher variant.
 * Pure and deterministic like emit(); called by generate() for the project's own plugin set only.
 * See bench/native/README.md for what the generated code measures.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { interleaving, SEQ_LEN } from "../bench/lib/rng.ts";
import {
  codeHandlebars,
  HBS_OPTIONS,
  headerLine,
  type IcallConfig,
  icallTargets,
  normalise,
  type Profile,
} from "./emit.ts";
import type { OpName, ProviderModel } from "./inspect.ts";

/** Providers (and so the highest degree) of the native sweep. */
export const NATIVE_DEGREE = 16;
/** Degrees the native leg sweeps. */
export const NATIVE_DEGREES: readonly number[] = [1, 2, 3, 4, 5, 6, 8, 9, 12, 16];
/**
 * Seed of the dispatch sequence the harness replays (the bench runner's default seed): the icall-pgo
 * variant is ordered by this sequence's profile, so the sequence is fixed whatever the run's seed.
 */
export const NATIVE_SEQ_SEED = 42;
export const NATIVE_OUT_DIR = join("bench", "native", "generated");

/** The C variants, baseline first; `slug` names the file, `id` the C symbols. */
export const NATIVE_VARIANTS = [
  { variant: "ops-table", slug: "ops-table", id: "ops_table", template: "dispatch-ops-table.c.hbs" },
  { variant: "ops-table#2", slug: "ops-table-2", id: "ops_table_2", template: "dispatch-ops-table.c.hbs" },
  { variant: "if-chain", slug: "if-chain", id: "if_chain", template: "dispatch-if-chain.c.hbs" },
  {
    variant: "icall-wrapper",
    slug: "icall-wrapper",
    id: "icall_wrapper",
    template: "dispatch-icall-wrapper.c.hbs",
  },
  { variant: "icall-pgo", slug: "icall-pgo", id: "icall_pgo", template: "dispatch-icall-wrapper.c.hbs" },
] as const;

export interface NativeProvider {
  name: string;
  kind: number;
  /** C identifier prefix, e.g. "mp_floor_06". */
  c: string;
  synthetic: boolean;
}

/** Registered providers (name order, their kinds), then floor-NN up to NATIVE_DEGREE. */
export function nativeProviders(providers: readonly ProviderModel[]): NativeProvider[] {
  const out: NativeProvider[] = providers.map((p) => ({
    name: p.name,
    kind: p.kind,
    c: `mp_${p.name.replace(/-/g, "_")}`,
    synthetic: false,
  }));
  for (let k = out.length + 1; k <= NATIVE_DEGREE; k++) {
    const name = `floor-${String(k).padStart(2, "0")}`;
    out.push({ name, kind: k, c: `mp_${name.replace(/-/g, "_")}`, synthetic: true });
  }
  return out;
}

/** emit.ts's icallTargets over the C providers: a ProviderModel view whose locals are C names. */
function asModels(ps: readonly NativeProvider[]): ProviderModel[] {
  const op = (c: string, suffix: string) => ({ fn: `${c}_${suffix}`, local: `${c}_${suffix}` });
  return ps.map((p) => ({
    name: p.name,
    kind: p.kind,
    file: "",
    relFile: "",
    opsExport: `${p.c}_ops`,
    opsLocal: `${p.c}_ops`,
    ops: {
      allocNetmems: op(p.c, "alloc_netmems"),
      releaseNetmem: op(p.c, "release_netmem"),
      init: op(p.c, "init"),
      destroy: op(p.c, "destroy"),
      nlFill: null,
      uninstall: null,
    },
  }));
}

/**
 * The profile the harness's dispatch sweep produces: calls per provider for one pass of the seeded
 * sequence (SEQ_LEN alloc + release) at every swept degree (the JS floor's profileFloor, computed
 * from the sequence rather than recorded, since the C harness replays exactly this sequence).
 */
export function nativeProfile(ps: readonly NativeProvider[]): Profile {
  const counts: Profile["counts"] = {};
  for (const p of ps) counts[p.name] = { allocNetmems: 0, releaseNetmem: 0 };
  for (const d of NATIVE_DEGREES) {
    if (d > ps.length) continue;
    const seq = interleaving(d, NATIVE_SEQ_SEED);
    for (let i = 0; i < SEQ_LEN; i++) {
      const c = counts[ps[seq[i]].name];
      c.allocNetmems! += 1;
      c.releaseNetmem! += 1;
    }
  }
  return { counts };
}

export function emitNative(
  providers: readonly ProviderModel[],
  opts: { root: string; pluginsDirs: readonly string[]; icall: IcallConfig },
): Map<string, string> {
  const hb = codeHandlebars();
  hb.registerPartial(
    "breakHook",
    readFileSync(join(opts.root, "templates", "native", "break-hook.c.hbs"), "utf8"),
  );
  const ps = nativeProviders(providers);
  const models = asModels(ps);
  const profile = nativeProfile(ps);
  const targets = (op: OpName, prof: Profile | null) => icallTargets(models, op, opts.icall, prof);
  const outDir = join(opts.root, NATIVE_OUT_DIR);
  const common = {
    sources: opts.pluginsDirs.map((d) => `${d}/`).join(", "),
    registered: providers.length,
    oneRegistered: providers.length === 1,
    count: ps.length,
    providers: ps,
    variants: NATIVE_VARIANTS,
    variantList: NATIVE_VARIANTS.map((v) => `&pp_variant_${v.id}`).join(", "),
    variantCount: NATIVE_VARIANTS.length,
  };
  const render = (tpl: string, extra: Record<string, unknown>) =>
    normalise(
      hb.compile(
        readFileSync(join(opts.root, "templates", "native", tpl), "utf8"),
        HBS_OPTIONS,
      )({
        ...common,
        header: headerLine(opts.pluginsDirs, `native/${tpl}`),
        ...extra,
      }),
    );
  const out = new Map<string, string>();
  out.set(join(outDir, "mp.generated.h"), render("mp.h.hbs", {}));
  out.set(join(outDir, "providers.generated.c"), render("providers.c.hbs", {}));
  const order = opts.icall.order.length ? opts.icall.order.join(", ") : "by name";
  for (const v of NATIVE_VARIANTS) {
    const pgo = v.variant === "icall-pgo";
    const prof = pgo ? profile : null;
    out.set(
      join(outDir, `dispatch-${v.slug}.generated.c`),
      render(v.template, {
        variant: v.variant,
        id: v.id,
        aa: v.variant === "ops-table#2",
        aaFlag: v.variant === "ops-table#2" ? 1 : 0,
        breakMacro: `PP_BREAK_${v.id.toUpperCase()}`,
        n: opts.icall.n,
        source: pgo
          ? `profile-guided: ordered by the calls of the harness's sequence (seed ${NATIVE_SEQ_SEED}, degrees ${NATIVE_DEGREES.join(",")}), N = ${opts.icall.n}`
          : `codegen/dispatch.config.json, N = ${opts.icall.n}, order ${order}`,
        alloc: targets("allocNetmems", prof),
        release: targets("releaseNetmem", prof),
      }),
    );
  }
  return out;
}
