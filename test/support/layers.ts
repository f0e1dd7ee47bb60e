// The layer rule of STYLE.md as code: every src/ module belongs to a layer, and a runtime import
// may only point to a lower layer (or within its own). Siblings (log, index) may not import each
// other, and nothing imports the edges (cli, client, http, the package entry).

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

export const LAYER_RANKS: Record<string, number> = {
  util: 0,
  wasm: 1,
  format: 2,
  log: 3,
  index: 3,
  store: 4,
  subscriptions: 5,
  snapshots: 5,
  projections: 5,
  replication: 5,
  auth: 5,
  protocol: 6,
  http: 7,
  client: 7,
  cli: 7,
  entry: 7,
};
const EDGES = new Set(['http', 'client', 'cli', 'entry']);

/** The layer of a path relative to src/ ("log/recovery.ts" → "log"; "annal.ts" → "entry"). */
export function layerOf(pathInSrc: string): string {
  const first = pathInSrc.split('/')[0];
  return pathInSrc.includes('/') ? first : 'entry';
}

export interface Violation {
  readonly from: string;
  readonly to: string;
  readonly reason: string;
}

/** Checks one import edge (paths relative to src/). Returns why it is forbidden, or null. */
export function checkEdge(from: string, to: string): string | null {
  const a = layerOf(from);
  const b = layerOf(to);
  if (!(a in LAYER_RANKS)) return `unknown layer '${a}'`;
  if (!(b in LAYER_RANKS)) return `unknown layer '${b}'`;
  if (a === b) return null;
  // Edges may use the package's public entry; nothing else imports an edge.
  if (b === 'entry' && EDGES.has(a)) return null;
  if (EDGES.has(b)) return `${a} imports the edge ${b}`;
  if (LAYER_RANKS[b] > LAYER_RANKS[a]) return `upward import: ${a} (rank ${LAYER_RANKS[a]}) → ${b} (rank ${LAYER_RANKS[b]})`;
  if (LAYER_RANKS[b] === LAYER_RANKS[a]) return `sibling import: ${a} → ${b}`;
  return null;
}

const IMPORT = /^\s*(import|export)\s+(type\s+)?[^'";]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]/gm;

/** Runtime (non-type-only) relative imports of a module's source text. */
export function runtimeImports(source: string): string[] {
  const found: string[] = [];
  for (const match of source.matchAll(IMPORT)) {
    const typeOnly = match[2] !== undefined;
    const target = match[3] ?? match[4];
    if (!typeOnly && target.startsWith('.')) found.push(target);
  }
  return found;
}

function listTs(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return listTs(path);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Every forbidden import in `srcDir`, plus import cycles between modules. */
export function findViolations(srcDir: string): Violation[] {
  const root = resolve(srcDir);
  const graph = new Map<string, string[]>();
  const violations: Violation[] = [];
  for (const file of listTs(root)) {
    const from = relative(root, file);
    const targets = runtimeImports(readFileSync(file, 'utf8')).map((spec) => relative(root, resolve(dirname(file), spec)).replace(/\.js$/, '.ts'));
    graph.set(from, targets);
    for (const to of targets) {
      if (to.startsWith('..')) {
        violations.push({ from, to, reason: 'imports from outside src/' });
        continue;
      }
      const reason = checkEdge(from, to);
      if (reason) violations.push({ from, to, reason });
    }
  }
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (node: string, stack: string[]): void => {
    if (state.get(node) === 'done') return;
    if (state.get(node) === 'visiting') {
      const cycle = stack.slice(stack.indexOf(node));
      violations.push({ from: node, to: cycle.join(' → '), reason: 'import cycle' });
      return;
    }
    state.set(node, 'visiting');
    for (const next of graph.get(node) ?? []) visit(next, [...stack, node]);
    state.set(node, 'done');
  };
  for (const node of graph.keys()) visit(node, []);
  return violations;
}
