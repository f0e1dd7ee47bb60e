import { describe, expect, test } from 'vitest';
import { checkEdge, findViolations, runtimeImports } from './support/layers.js';

describe('layers', () => {
  test('layers - src/ has no upward, sibling or cyclic runtime import', () => {
    expect(findViolations('src')).toEqual([]);
  });

  test('layers - the checker rejects an upward import', () => {
    expect(checkEdge('log/log-writer.ts', 'store/event-store.ts')).toMatch(/upward/);
    expect(checkEdge('util/assert.ts', 'wasm/kernels.ts')).toMatch(/upward/);
    expect(checkEdge('format/chunk-layout.ts', 'log/chunk-set.ts')).toMatch(/upward/);
  });

  test('layers - the checker rejects sibling and edge imports and allows downward ones', () => {
    expect(checkEdge('index/global-index.ts', 'log/chunk-set.ts')).toMatch(/sibling/);
    expect(checkEdge('store/event-store.ts', 'cli/main.ts')).toMatch(/edge/);
    expect(checkEdge('store/event-store.ts', 'log/recovery.ts')).toBeNull();
    expect(checkEdge('cli/demo.ts', 'annal.ts')).toBeNull();
  });

  test('layers - type-only imports are not runtime dependencies', () => {
    const source = "import type { A } from '../store/a.js';\nimport { b } from '../util/b.js';\nexport { c } from './c.js';\n";
    expect(runtimeImports(source)).toEqual(['../util/b.js', './c.js']);
  });
});
