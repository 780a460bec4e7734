// Backbone construction from plain config data (what manifests store).
import { InputError } from '../../core/errors.js';
import { SmallCnn, type CnnConfig } from './cnn.js';
import { SmallMlp, type MlpConfig } from './mlp.js';
import { VisionTransformer, type VitConfig } from './vit.js';
import type { Backbone } from './types.js';

export * from './types.js';
export { SmallCnn, REFERENCE_CNN, type CnnConfig } from './cnn.js';
export { SmallMlp, type MlpConfig } from './mlp.js';
export { VisionTransformer, checkVitConfig, type VitConfig } from './vit.js';

export type BackboneSpec =
  | { readonly kind: 'cnn'; readonly config: CnnConfig }
  | { readonly kind: 'mlp'; readonly config: MlpConfig }
  | { readonly kind: 'vit'; readonly config: VitConfig };

const FACTORIES = new Map<string, (spec: BackboneSpec, seed: number) => Backbone>([
  ['cnn', (s, seed) => new SmallCnn(s.config as CnnConfig, seed)],
  ['mlp', (s, seed) => new SmallMlp(s.config as MlpConfig, seed)],
  ['vit', (s, seed) => new VisionTransformer(s.config as VitConfig, seed)],
]);

export function makeBackbone(spec: BackboneSpec, seed = 0): Backbone {
  const f = FACTORIES.get(spec.kind);
  if (!f) throw new InputError(`unknown backbone kind ${JSON.stringify(spec.kind)}; known: ${[...FACTORIES.keys()].join(', ')}`);
  return f(spec, seed);
}
