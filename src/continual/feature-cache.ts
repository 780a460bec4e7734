// Features of a dataset under a frozen parameter set, computed once: frozen backbones (and frozen
// PET modules) see the same rows every session, so recomputing them would only cost time.
import type { Dataset } from '../core/data/dataset.js';
import type { Backbone } from './backbones/types.js';
import type { FeatureRows } from './heads.js';
import type { Params } from '../core/nn.js';
import { extractFeatures } from './pet-train.js';

const NONE: Params = new Map();
const cache = new WeakMap<Backbone, WeakMap<Params, WeakMap<Dataset, FeatureRows>>>();

/** Features of `ds` under `pet` (null: plain backbone); cached while `pet` stays frozen. */
export function frozenFeatures(backbone: Backbone, ds: Dataset, pet: Params | null): FeatureRows {
  let byPet = cache.get(backbone);
  if (!byPet) cache.set(backbone, (byPet = new WeakMap()));
  const key = pet ?? NONE;
  let byDs = byPet.get(key);
  if (!byDs) byPet.set(key, (byDs = new WeakMap()));
  let f = byDs.get(ds);
  if (!f) byDs.set(ds, (f = extractFeatures(backbone, ds, pet)));
  return f;
}
