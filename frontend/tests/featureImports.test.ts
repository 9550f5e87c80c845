import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

const FEATURES = resolve(__dirname, '../src/features');
/** Static imports and re-exports (type-only ones too: they are dependencies all the same) and dynamic imports. */
const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]|(?:^|\n)\s*import\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.tsx?$/.test(entry.name) ? [path] : [];
  });
}

function featureOf(path: string): string | null {
  const rel = relative(FEATURES, path);
  return rel.startsWith('..') ? null : rel.split(sep)[0]!;
}

/** feature -> the other features its files import. */
function featureGraph(): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const file of sourceFiles(FEATURES)) {
    const from = featureOf(file)!;
    const edges = graph.get(from) ?? graph.set(from, new Set()).get(from)!;
    for (const match of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const spec = match[1] ?? match[2] ?? match[3]!;
      if (!spec.startsWith('.')) continue; // a package
      const to = featureOf(resolve(dirname(file), spec));
      if (to && to !== from) edges.add(to);
    }
  }
  return graph;
}

/** Every import loop, each as the path that closes it (a -> b -> a); empty when the graph is acyclic. */
function findCycles(graph: Map<string, Set<string>>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (node: string) => {
    state.set(node, 'visiting');
    path.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'visiting') cycles.push([...path.slice(path.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    path.pop();
    state.set(node, 'done');
  };
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node);
  return cycles;
}

describe('feature folders', () => {
  it('import each other without a loop', () => {
    const graph = featureGraph();
    expect(graph.size).toBeGreaterThan(5); // the walk found the features
    expect(graph.get('messages')).toContain('rooms'); // and their imports
    expect(findCycles(graph).map((c) => c.join(' -> '))).toEqual([]);
  });

  it('the loop finder reports a loop through several features', () => {
    const graph = new Map([
      ['messages', new Set(['receipts', 'typing'])],
      ['receipts', new Set(['rooms'])],
      ['rooms', new Set(['messages'])],
      ['typing', new Set<string>()],
    ]);
    expect(findCycles(graph)).toEqual([['messages', 'receipts', 'rooms', 'messages']]);
  });
});
