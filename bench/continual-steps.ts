// The two continual training steps the engine benchmarks time (bench/conv.bench.ts against
// PyTorch, bench/step-ab.ts against the code each change replaced): one Co2L step on 512 images,
// and one SAFE SSF step (frozen reference CNN, SSF parameters, cosine head, SGD) at a batch size.
import { tf } from '../src/core/tensor.js';
import { Rng } from '../src/core/rng.js';
import { SmallCnn, REFERENCE_CNN } from '../src/continual/backbones/cnn.js';
import { co2lOptions } from '../src/continual/methods/co2l.js';
import { Co2lNet } from '../src/continual/parts/co2l-net.js';
import { asymSupCon } from '../src/continual/contrastive.js';
import { createCosineHead, cosineLogits, initRowsFromMeans, labelCrossEntropy } from '../src/continual/pet-train.js';
import { Sgd, lossAndGrads, disposeGrads } from '../src/core/nn.js';

export const co2l = co2lOptions();

export const CO2L_IMAGES = 512;

/** A batch of CO2L_IMAGES random 28x28 images with labels and anchors, drawn from `rng`. */
export function co2lBatch(rng: Rng): { X: tf.Tensor2D; labels: Int32Array; anchor: Uint8Array } {
  const V = CO2L_IMAGES;
  const xs = new Float32Array(V * 784);
  for (let i = 0; i < xs.length; i++) xs[i] = rng.next();
  return { X: tf.tensor2d(xs, [V, 784]), labels: Int32Array.from({ length: V }, (_, i) => (i % 256) % 10), anchor: new Uint8Array(V).fill(1) };
}

/** A Co2L network from the benchmarks' one initialisation. */
export const co2lNet = (): Co2lNet => new Co2lNet([28, 28, 1], co2l, new Rng(0, 'bench/co2l'));

/** One Co2L step of `net` with `opt` on `batch`. */
export const co2lStep = (opt: tf.Optimizer, net: Co2lNet, batch: ReturnType<typeof co2lBatch>, vars = net.trainable()) => (): void => {
  const cost = opt.minimize(() => asymSupCon(net.project(net.features(batch.X, true)), batch.labels, batch.anchor, { tau: co2l.tau, tauBase: co2l.tauBase }), true, vars);
  net.commitBatchStats();
  cost!.dataSync();
  cost!.dispose();
};

/** SAFE's SSF steps on the frozen reference CNN: `step(batch)` makes one step function per batch size. */
export function safeSteps(rng: Rng): (batch: number) => () => void {
  const cnn = new SmallCnn(REFERENCE_CNN, 0);
  const pet = cnn.createPet({ ssf: true }, new Rng(0));
  return (batch) => {
    const head = createCosineHead(10, 64);
    const xb = new Float32Array(batch * 784);
    for (let i = 0; i < xb.length; i++) xb[i] = rng.next();
    const yb = Int32Array.from({ length: batch }, (_, i) => i % 2);
    const x = tf.tensor2d(xb, [batch, 784]), yt = tf.tensor1d(yb, 'int32');
    initRowsFromMeans(head, { x: cnn.forward(x).dataSync() as Float32Array, n: batch, d: 64 }, yb, [0, 1]);
    const opt = new Sgd({ lr: 0.01, momentum: 0.9, weightDecay: 5e-4 });
    const v = [...pet.values(), head.weight, head.scale];
    return () => {
      const { grads } = lossAndGrads(() => labelCrossEntropy(yt, 2, cosineLogits(head, cnn.forward(x, { pet }), 2)), v);
      opt.step(grads);
      disposeGrads(grads);
    };
  };
}
