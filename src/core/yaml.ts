// Line numbers inside YAML (and JSON) config files, so a schema error names the line of the key.
import { isMap, isNode, type Document, type LineCounter } from 'yaml';

/**
 * 1-based line of the node at `path` in `doc`, or of its nearest ancestor that has one; a map
 * key's own line when its value is null or absent.
 */
export function lineOfPath(doc: Document, lc: LineCounter, path: readonly (string | number)[]): number {
  for (let k = path.length; k >= 0; k--) {
    const node = k === 0 ? doc.contents : doc.getIn(path.slice(0, k), true);
    if (isNode(node) && node.range) return lc.linePos(node.range[0]).line;
    if (k > 0) {
      const parent = k === 1 ? doc.contents : doc.getIn(path.slice(0, k - 1), true);
      if (isMap(parent)) {
        const pair = parent.items.find((p) => isNode(p.key) && (p.key as { value?: unknown }).value === path[k - 1]);
        if (pair && isNode(pair.key) && pair.key.range) return lc.linePos(pair.key.range[0]).line;
      }
    }
  }
  return 1;
}
