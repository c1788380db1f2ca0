import * as fs from 'node:fs';
import * as path from 'node:path';

// The layering in docs/architecture.md, checked on the import statements of src/: every import
// points to the same layer or a lower one, and no chain of imports comes back to where it started.

const SRC = path.resolve('src');

/** Lower number = lower layer. Files at the top of src/ are shared helpers unless named here. */
const ENTRIES = new Set([
  'index.ts',
  'main.ts',
  'post.ts',
  'runner.ts',
  'cli.ts',
  'cli-interrupt.ts',
]);
const ROOMS: Record<string, number> = {
  aws: 1,
  packaging: 2,
  release: 3,
  report: 4,
  pipelines: 5,
};
const ENTRY_RANK = 6;

function layerOf(file: string): { name: string; rank: number } {
  const rel = path.relative(SRC, file).split(path.sep);
  if (rel.length === 1)
    return ENTRIES.has(rel[0]) ? { name: 'entry', rank: ENTRY_RANK } : { name: 'shared', rank: 0 };
  const rank = ROOMS[rel[0]];
  if (rank === undefined) throw new Error(`src/${rel[0]}/ has no layer: add it to ROOMS`);
  return { name: rel[0], rank };
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** Relative imports of a file (static, dynamic and `export ... from`), resolved to .ts paths. */
export function importsOf(file: string, text: string): string[] {
  const specs = [
    ...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'";]*?\bfrom\s+['"]([^'"]+)['"]/g),
    ...text.matchAll(/(?:^|\n)\s*import\s+['"]([^'"]+)['"]/g),
    ...text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
  ].map((m) => m[1]);
  return specs
    .filter((spec) => spec.startsWith('.'))
    .map((spec) => path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts')));
}

function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    graph.set(file, importsOf(file, fs.readFileSync(file, 'utf8')));
  }
  return graph;
}

/** Every cycle's files, found by depth-first search (each cycle reported once per entry point). */
function findCycles(graph: Map<string, string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string) => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') cycles.push(stack.slice(stack.indexOf(next)).concat(next));
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  return cycles;
}

const rel = (file: string) => path.relative(process.cwd(), file);

describe('import structure of src/', () => {
  const graph = importGraph();

  test('every relative import resolves to a file in src/', () => {
    const missing = [...graph].flatMap(([file, deps]) =>
      deps.filter((dep) => !graph.has(dep)).map((dep) => `${rel(file)} -> ${rel(dep)}`),
    );
    expect(missing).toEqual([]);
  });

  test('imports point down only: entry -> pipelines -> report -> release -> packaging -> aws -> shared', () => {
    const upward = [...graph].flatMap(([file, deps]) => {
      const from = layerOf(file);
      return deps
        .filter((dep) => graph.has(dep) && layerOf(dep).rank > from.rank)
        .map((dep) => `${rel(file)} (${from.name}) -> ${rel(dep)} (${layerOf(dep).name})`);
    });
    expect(upward).toEqual([]);
  });

  test('no import cycle', () => {
    expect(findCycles(graph).map((cycle) => cycle.map(rel).join(' -> '))).toEqual([]);
  });

  test('every AWS SDK call goes through callAws (aws/call.ts): one retry policy', () => {
    const callAws = path.join(SRC, 'aws', 'call.ts');
    // clients.ts builds the clients (its one-shot STS adapter forwards send, it calls nothing);
    // guardedWrite (function.ts) is callAws plus the read-back of a guarded $LATEST write.
    const direct = [...graph.keys()].filter((file) => {
      if (path.relative(SRC, file) === path.join('aws', 'clients.ts')) return false;
      const text = fs.readFileSync(file, 'utf8');
      const sends = (text.match(/\.send\(/g) ?? []).length;
      const wrapped = (text.match(/\b(callAws|guardedWrite)\(/g) ?? []).length;
      return sends > 0 && (wrapped < sends || !graph.get(file)?.includes(callAws));
    });
    expect(direct.map(rel)).toEqual([]);
    const ownLoops = [...graph.keys()].filter(
      (file) =>
        /\bwithRetry\(/.test(fs.readFileSync(file, 'utf8')) &&
        ![
          'aws/call.ts',
          'retry.ts',
          'report/github-api.ts',
          'packaging/image/registry.ts',
        ].includes(path.relative(SRC, file)),
    );
    expect(ownLoops.map(rel)).toEqual([]);
  });

  test('the checker sees an upward import and a cycle when there is one', () => {
    const a = path.join(SRC, 'aws', 'a.ts');
    const b = path.join(SRC, 'pipelines', 'b.ts');
    expect(importsOf(a, "import { x } from '../pipelines/b.js';\n")).toEqual([b]);
    expect(layerOf(b).rank).toBeGreaterThan(layerOf(a).rank);
    const looped = new Map([
      [a, [b]],
      [b, [a]],
    ]);
    expect(findCycles(looped)).toEqual([[a, b, a]]);
  });
});
