/**
 * Inspect: reads every `<pluginsDir>/<name>/provider.ts` with ts-morph into a plain, sorted model
 * (the templates never see a syntax tree), and checks the provider contract of core/provider.ts.
 *
 * Contract (design.md section 4): one exported `const` ops table written as
 * `Object.freeze({ name: "<folder>", allocNetmems: fn, ... })`, every op a reference to an
 * exported, named, module-level `function` declaration of the same file (the if-chain imports and
 * calls them directly), and the table assignable to MemoryProviderOps (checked by the type checker).
 * Every violation becomes a `{file, line, message}` problem; nothing here throws on bad plugins.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import {
  type Expression,
  type FunctionDeclaration,
  type InterfaceDeclaration,
  Node,
  type ObjectLiteralExpression,
  Project,
  type SourceFile,
  type VariableDeclaration,
} from "ts-morph";

/** An op of the contract: a method of MemoryProviderOps (core/provider.ts). */
export type OpName = string;

/** The contract's ops, read from MemoryProviderOps' method signatures, in declaration order. */
export interface ContractOps {
  /** Methods without `?`: every provider must define them. */
  required: readonly OpName[];
  /** Methods with `?`. */
  optional: readonly OpName[];
  all: readonly OpName[];
}

/** kebab-case: lower-case words of [a-z0-9] joined by single dashes, starting with a letter. */
export const KEBAB_RE = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;

export interface Problem {
  /** Path relative to the root, with forward slashes. */
  file: string;
  line: number;
  message: string;
}

export interface OpModel {
  /** The exported function's name in provider.ts. */
  fn: string;
  /** The name generated code imports it as (fn, or an alias when two plugins share a name). */
  local: string;
}

export interface ProviderModel {
  /** The provider's name (= folder name, kebab-case). */
  name: string;
  /** 1-based index in the registry (providers sorted by name). */
  kind: number;
  /** Absolute path of provider.ts. */
  file: string;
  /** provider.ts relative to the root, forward slashes. */
  relFile: string;
  /** The exported ops table's name, and its local (possibly aliased) name in generated code. */
  opsExport: string;
  opsLocal: string;
  /** Every contract op (ContractOps.all): its function, or null when the provider has none. */
  ops: Record<OpName, OpModel | null>;
}

export interface Model {
  providers: ProviderModel[];
  problems: Problem[];
  /** The contract the providers were checked against. */
  contract: ContractOps;
}

export interface InspectOptions {
  /** Repo root (holds core/provider.ts and tsconfig.json). */
  root: string;
  /** Directories holding `<name>/provider.ts`, relative to root or absolute. */
  pluginsDirs: readonly string[];
}

/** Names generated modules declare or import themselves; plugin imports must not shadow them. */
const RESERVED = new Set([
  "DISPATCH_VARIANT",
  "PROVIDERS",
  "PROVIDER_NAMES",
  "providerKind",
  "mpAllocNetmems",
  "mpReleaseNetmem",
  "mpInit",
  "mpDestroy",
  "mpNlFill",
  "mpStaticKey",
  "MemoryProviderOps",
  "DispatchPool",
  "NetmemRef",
]);

const posix = (p: string) => p.split(sep).join("/");

/** Every `<dir>/<name>/provider.ts`, sorted (byte order, locale-independent). */
export function findProviderFiles(root: string, pluginsDirs: readonly string[]): string[] {
  const files: string[] = [];
  for (const d of pluginsDirs) {
    const dir = isAbsolute(d) ? d : resolve(root, d);
    if (!existsSync(dir)) continue;
    for (const entry of readdirSync(dir).sort()) {
      const f = join(dir, entry, "provider.ts");
      if (statSync(join(dir, entry)).isDirectory() && existsSync(f)) files.push(f);
    }
  }
  return files;
}

/** Strips `satisfies`, `as` and parentheses; reports whether a `satisfies` was seen. */
function unwrap(e: Expression): Expression {
  let cur: Node = e;
  for (;;) {
    if (Node.isSatisfiesExpression(cur) || Node.isAsExpression(cur) || Node.isParenthesizedExpression(cur))
      cur = cur.getExpression();
    else return cur as Expression;
  }
}

function freezeArg(e: Expression): ObjectLiteralExpression | null {
  if (!Node.isCallExpression(e)) return null;
  if (e.getExpression().getText().replace(/\s+/g, "") !== "Object.freeze") return null;
  const args = e.getArguments();
  if (args.length !== 1) return null;
  const a = unwrap(args[0] as Expression);
  return Node.isObjectLiteralExpression(a) ? a : null;
}

function mentionsContract(decl: VariableDeclaration): boolean {
  const init = decl.getInitializer();
  if (!init) return false;
  if (/\bMemoryProviderOps\b/.test(decl.getTypeNode()?.getText() ?? "")) return true;
  for (let cur: Node = init; ; ) {
    if (Node.isSatisfiesExpression(cur) && /\bMemoryProviderOps\b/.test(cur.getTypeNode()?.getText() ?? ""))
      return true;
    if (Node.isSatisfiesExpression(cur) || Node.isAsExpression(cur) || Node.isParenthesizedExpression(cur))
      cur = cur.getExpression();
    else break;
  }
  return false;
}

/** A module-level variable looks like an ops table: frozen/plain object with op keys, or typed as one. */
function isOpsCandidate(decl: VariableDeclaration, allOps: readonly OpName[]): boolean {
  const init = decl.getInitializer();
  if (!init) return false;
  if (mentionsContract(decl)) return true;
  const u = unwrap(init);
  const obj = freezeArg(u) ?? (Node.isObjectLiteralExpression(u) ? u : null);
  if (!obj) return false;
  return obj.getProperties().some((p) => {
    const n = (p as { getName?: () => string }).getName?.();
    return n !== undefined && allOps.includes(n);
  });
}

interface Contract {
  project: Project;
  iface: InterfaceDeclaration;
  ops: ContractOps;
}
let cachedProject: (Contract & { root: string }) | null = null;

/**
 * One ts-morph Project per root, reused across calls (building it and the first type query cost
 * about a second). Plugin files are re-read from disk on every inspect.
 */
function projectFor(root: string): Contract {
  if (cachedProject && cachedProject.root === root) return cachedProject;
  const project = new Project({
    tsConfigFilePath: join(root, "tsconfig.json"),
    skipAddingFilesFromTsConfig: true,
  });
  const core = project.addSourceFileAtPath(join(root, "core", "provider.ts"));
  const iface = core.getInterfaceOrThrow("MemoryProviderOps");
  const methods = iface.getMethods();
  const required = methods.filter((m) => !m.hasQuestionToken()).map((m) => m.getName());
  const optional = methods.filter((m) => m.hasQuestionToken()).map((m) => m.getName());
  const ops = { required, optional, all: [...required, ...optional] };
  cachedProject = { root, project, iface, ops };
  return cachedProject;
}

function lineOf(n: Node): number {
  return n.getStartLineNumber();
}

/** Reports problems of one plugin file; `add(line, message)`. */
type Add = (line: number, message: string) => void;

/** Exactly one ops table per file: the module-level variable that looks like one. */
function findOpsTable(
  sf: SourceFile,
  folder: string,
  ops: ContractOps,
  add: Add,
): VariableDeclaration | null {
  const candidates: VariableDeclaration[] = [];
  for (const stmt of sf.getVariableStatements())
    for (const d of stmt.getDeclarations()) if (isOpsCandidate(d, ops.all)) candidates.push(d);
  if (candidates.length === 0) {
    add(
      1,
      `no ops table: expected \`export const ${camel(folder)}Ops = Object.freeze({ name: "${folder}", ... }) satisfies MemoryProviderOps\``,
    );
    return null;
  }
  if (candidates.length > 1) {
    add(
      lineOf(candidates[1]),
      `more than one ops table (${candidates.map((c) => c.getName()).join(", ")}); a provider has exactly one`,
    );
    return null;
  }
  return candidates[0];
}

/** The table is an exported const, frozen (the kernel keeps ops in rodata): its object literal. */
function checkTableDeclaration(table: VariableDeclaration, add: Add): ObjectLiteralExpression | null {
  const tableName = table.getName();
  const stmt = table.getVariableStatementOrThrow();
  if (!stmt.isExported()) add(lineOf(table), `ops table ${tableName} must be exported`);
  if (stmt.getDeclarationKind() !== "const") add(lineOf(table), `ops table ${tableName} must be a const`);
  const obj = freezeArg(unwrap(table.getInitializerOrThrow()));
  if (!obj)
    add(
      lineOf(table),
      `ops table ${tableName} must be frozen: write it as Object.freeze({ ... }) (the kernel keeps ops in rodata)`,
    );
  return obj;
}

/** `name: "<folder>"`, a kebab-case string literal; null when it is not one. */
function checkName(p: Node, folder: string, add: Add): string | null {
  const line = lineOf(p);
  const v = Node.isPropertyAssignment(p) ? unwrap(p.getInitializerOrThrow()) : null;
  if (!v || !(Node.isStringLiteral(v) || Node.isNoSubstitutionTemplateLiteral(v))) {
    add(line, `name must be a string literal`);
    return null;
  }
  const name = v.getLiteralText();
  if (!KEBAB_RE.test(name)) add(line, `name "${name}" is not kebab-case (e.g. "my-provider")`);
  else if (name !== folder) add(line, `name "${name}" must equal the folder name "${folder}"`);
  return name;
}

/** The identifier an op property refers to, or null (with the problem reported). */
function opIdentifier(p: Node, key: string, add: Add): string | null {
  const line = lineOf(p);
  if (Node.isShorthandPropertyAssignment(p)) return p.getName();
  if (Node.isPropertyAssignment(p)) {
    const v = unwrap(p.getInitializerOrThrow());
    if (Node.isIdentifier(v)) return v.getText();
    if (Node.isArrowFunction(v) || Node.isFunctionExpression(v)) {
      add(line, `${key} must be an exported named function, not an inline function expression`);
      return null;
    }
  } else if (Node.isMethodDeclaration(p)) {
    add(line, `${key} must be an exported named function, not a method of the ops table`);
    return null;
  }
  add(line, `${key} must be an exported named function (a reference to \`export function ...\`)`);
  return null;
}

/** The op refers to an exported function declaration with a body in this file. */
function opFunction(
  sf: SourceFile,
  p: Node,
  key: string,
  ident: string,
  add: Add,
): FunctionDeclaration | null {
  const line = lineOf(p);
  const fn = sf.getFunction(ident);
  if (!fn) {
    const local = sf.getVariableDeclaration(ident);
    const imported = sf
      .getImportDeclarations()
      .some((i) => i.getNamedImports().some((n) => (n.getAliasNode()?.getText() ?? n.getName()) === ident));
    if (imported)
      add(line, `${key} must be an exported named function declared in this file (${ident} is imported)`);
    else if (local)
      add(
        lineOf(local),
        `${key} must be an exported named function: ${ident} is a variable, not a module-level function declaration`,
      );
    else
      add(
        line,
        `${key} must be an exported named function: ${ident} is not a module-level function of this file`,
      );
    return null;
  }
  if (!fn.isExported()) {
    add(lineOf(fn), `${key} must be an exported named function (${ident} is not exported)`);
    return null;
  }
  if (!fn.hasBody()) {
    add(lineOf(fn), `${key} must be an exported named function with a body (${ident} is a declaration only)`);
    return null;
  }
  return fn;
}

/** The type checker: the function must fit the contract's signature for this op. */
function checkSignature(
  fn: FunctionDeclaration,
  key: string,
  ident: string,
  iface: InterfaceDeclaration,
  add: Add,
) {
  const want = iface.getMethod(key);
  if (!want || fn.getType().isAssignableTo(want.getType())) return true;
  const params = fn
    .getParameters()
    .map((x) => x.getText())
    .join(", ");
  const sig = want
    .getText()
    .replace(/^\w+\??/, "")
    .replace(/;$/, "");
  add(lineOf(fn), `${key}: ${ident}(${params}) does not match MemoryProviderOps.${key}${sig}`);
  return false;
}

/** One plugin's provider.ts: its model, or null with every problem reported. */
function inspectFile(file: string, root: string, c: Contract, add: Add): ProviderModel | null {
  const { project, iface, ops: contract } = c;
  let sf: SourceFile | undefined = project.getSourceFile(file);
  if (sf) sf.refreshFromFileSystemSync();
  else sf = project.addSourceFileAtPath(file);
  const folder = basename(dirname(file));
  let ok = true;
  const report: Add = (line, message) => {
    ok = false;
    add(line, message);
  };
  const table = findOpsTable(sf, folder, contract, report);
  if (!table) return null;
  const tableName = table.getName();
  const obj = checkTableDeclaration(table, report);
  if (!obj) return null;

  let name: string | null = null;
  const ops: Record<OpName, OpModel | null> = {};
  for (const op of contract.all) ops[op] = null;
  for (const p of obj.getProperties()) {
    if (Node.isSpreadAssignment(p)) {
      report(lineOf(p), `spread in ops table ${tableName} is not allowed: list every op by name`);
      continue;
    }
    const key = (p as { getName?: () => string }).getName?.() ?? p.getText();
    if (key === "name") {
      name = checkName(p, folder, report);
      continue;
    }
    if (!contract.all.includes(key)) {
      report(lineOf(p), `unknown op ${key} (the contract has name, ${contract.all.join(", ")})`);
      continue;
    }
    const ident = opIdentifier(p, key, report);
    const fn = ident === null ? null : opFunction(sf, p, key, ident, report);
    if (ident !== null && fn && checkSignature(fn, key, ident, iface, report))
      ops[key] = { fn: ident, local: ident };
  }
  if (name === null && !obj.getProperty("name")) report(lineOf(table), `ops table ${tableName} has no name`);
  for (const op of contract.required)
    if (!obj.getProperty(op)) report(lineOf(table), `${op} is missing from ops table ${tableName}`);
  // Whole-table check with the type checker (catches anything the per-op checks let through).
  if (ok && !table.getType().isAssignableTo(iface.getType()))
    report(lineOf(table), `ops table ${tableName} is not assignable to MemoryProviderOps`);
  if (!ok || name === null) return null;
  const relFile = posix(relative(root, file));
  return { name, kind: 0, file, relFile, opsExport: tableName, opsLocal: tableName, ops };
}

/** Drops every provider whose name an earlier one has (possible across several plugins dirs). */
function dedupeNames(found: readonly ProviderModel[], problems: Problem[]): ProviderModel[] {
  const byName = new Map<string, ProviderModel>();
  for (const p of found) {
    const prev = byName.get(p.name);
    if (prev) {
      problems.push({
        file: p.relFile,
        line: 1,
        message: `duplicate provider name "${p.name}" (also ${prev.relFile})`,
      });
      continue;
    }
    byName.set(p.name, p);
  }
  return [...byName.values()];
}

/** Byte-order sort (deterministic whatever the locale); kinds are the 1-based positions. */
function assignKinds(providers: ProviderModel[]): void {
  providers.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  providers.forEach((p, i) => {
    p.kind = i + 1;
  });
}

/**
 * Inspects the plugins: returns the providers that passed every check (sorted by name, kinds
 * assigned) and every problem found. When `problems` is non-empty the caller must not emit.
 */
export function inspect(opts: InspectOptions): Model {
  const root = resolve(opts.root);
  const contract = projectFor(root);
  const problems: Problem[] = [];
  const found: ProviderModel[] = [];
  for (const file of findProviderFiles(root, opts.pluginsDirs)) {
    const relFile = posix(relative(root, file));
    const m = inspectFile(file, root, contract, (line, message) =>
      problems.push({ file: relFile, line, message }),
    );
    if (m) found.push(m);
  }
  const providers = dedupeNames(found, problems);
  assignKinds(providers);
  assignLocals(providers);
  problems.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line));
  return { providers, problems, contract: contract.ops };
}

/** Gives every imported name a unique local: the export's own name unless it collides. */
function assignLocals(providers: ProviderModel[]): void {
  const uses = new Map<string, number>();
  const count = (n: string) => uses.set(n, (uses.get(n) ?? 0) + 1);
  for (const p of providers) {
    count(p.opsExport);
    for (const o of Object.values(p.ops)) if (o) count(o.fn);
  }
  const localFor = (p: ProviderModel, n: string) =>
    (uses.get(n) ?? 0) > 1 || RESERVED.has(n) ? `${camel(p.name)}$${n}` : n;
  for (const p of providers) {
    p.opsLocal = localFor(p, p.opsExport);
    for (const o of Object.values(p.ops)) if (o) o.local = localFor(p, o.fn);
  }
}

/** "demo-x" -> "demoX". */
export function camel(kebab: string): string {
  return kebab.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** "demo-x" -> "DemoX". */
export function pascal(kebab: string): string {
  const c = camel(kebab);
  return c.charAt(0).toUpperCase() + c.slice(1);
}

export function formatProblem(p: Problem): string {
  return `[${p.file}:${p.line}]: ${p.message}`;
}
