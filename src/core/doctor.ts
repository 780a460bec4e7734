// `perennial doctor`: what this machine runs perennial with (linear-algebra and tfjs backends,
// threads, versions, CPU model and the SIMD flags the kernels can use), and which GPU paths could run.
import os from 'node:os';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { linalgBackendName, nativeAddon, nativeStatus } from './linalg/index.js';
import { versions } from './record.js';
import { initTf, tf, batchMatMulMode, probeWebGpu } from './tensor.js';

function cpuFlags(): string[] {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('flags'));
    const all = line ? line.split(':')[1].trim().split(/\s+/) : [];
    return all.filter((f) => /^(sse4_2|avx|avx2|fma|avx512f|avx512bw|avx512vl|avx_vnni|neon|asimd)$/.test(f));
  } catch {
    return [];
  }
}

function resolvable(pkg: string): boolean {
  try {
    createRequire(import.meta.url).resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

/**
 * GPU paths: tfjs's WebGPU backend (`--tf-backend webgpu`) needs @tensorflow/tfjs-backend-webgpu
 * (a dependency) and a WebGPU implementation for Node (the `webgpu` package, Dawn, installed by the
 * user) or a global navigator.gpu; where one is there, an adapter is asked for (no device is
 * opened) and the answer reported. onnxruntime lists its execution providers (bundled = shipped in
 * this build); device nodes show whether a GPU is visible at all.
 */
export async function gpuReport(): Promise<Record<string, unknown>> {
  const nav = (globalThis as { navigator?: { gpu?: unknown } }).navigator;
  const webgpuPkgs = { '@tensorflow/tfjs-backend-webgpu': resolvable('@tensorflow/tfjs-backend-webgpu'), webgpu: resolvable('webgpu') };
  const hasNavigatorGpu = Boolean(nav?.gpu);
  let ortProviders: { name: string; bundled: boolean }[] | string;
  try {
    const ort = (await import('onnxruntime-node')) as unknown as { listSupportedBackends?: () => { name: string; bundled: boolean }[] };
    ortProviders = ort.listSupportedBackends ? ort.listSupportedBackends().map((b) => ({ name: b.name, bundled: b.bundled })) : 'listSupportedBackends missing';
  } catch (e) {
    ortProviders = `onnxruntime-node did not load: ${(e as Error).message.split('\n')[0]}`;
  }
  let render: string[] = [];
  try { render = readdirSync('/dev/dri').filter((f) => f.startsWith('renderD')); } catch { render = []; }
  const devices = { nvidia: existsSync('/dev/nvidia0'), dri_render_nodes: render.length };
  const webgpuUsable = webgpuPkgs['@tensorflow/tfjs-backend-webgpu'] && (webgpuPkgs.webgpu || hasNavigatorGpu);
  let tfjsWebgpu = webgpuPkgs['@tensorflow/tfjs-backend-webgpu'] ? 'absent (needs the webgpu package, `npm install webgpu`, or a global navigator.gpu)'
    : 'absent (@tensorflow/tfjs-backend-webgpu is not installed)';
  if (webgpuUsable) tfjsWebgpu = (await probeWebGpu()) ?? 'available: an adapter answered (train with --tf-backend webgpu)';
  return {
    tfjs_webgpu: tfjsWebgpu,
    tfjs_webgpu_packages: webgpuPkgs,
    navigator_gpu: hasNavigatorGpu,
    onnxruntime_providers: ortProviders,
    gpu_devices: devices,
  };
}

/** The doctor's report (initialises tfjs to learn its backend). */
export async function doctorReport(): Promise<Record<string, unknown>> {
  const tfjsBackend = await initTf();
  return {
    linalg_backend: linalgBackendName(),
    linalg_addon: nativeStatus(),
    openblas_threads: nativeAddon()?.threads() ?? null,
    openblas_config: nativeAddon()?.config() ?? null,
    own_kernels: nativeAddon()?.ownKernels?.() ?? null,
    large_sgemm_kernel: nativeAddon()?.sgemmKernel?.() ?? null,
    malloc: nativeAddon()?.malloc?.() ?? null,
    tfjs_backend: tfjsBackend,
    tfjs_batch_matmul: batchMatMulMode(),
    tfjs_threads: (tf.env().getNumber('WASM_HAS_MULTITHREAD_SUPPORT') ? 'multi' : 'single'),
    tfjs_simd: tf.env().getBool('WASM_HAS_SIMD_SUPPORT'),
    versions: versions(),
    cpus: os.cpus().length,
    cpu_model: os.cpus()[0]?.model ?? 'unknown',
    cpu_flags: cpuFlags(),
    gpu: await gpuReport(),
    openblas_env: { OPENBLAS_CORETYPE: process.env.OPENBLAS_CORETYPE ?? null, OPENBLAS_NUM_THREADS: process.env.OPENBLAS_NUM_THREADS ?? null },
  };
}
