{
  "targets": [
    {
      "target_name": "perennial_linalg",
      "sources": ["src/linalg.cc", "src/kernels.cc", "src/conv_gemm.cc", "src/sgemm.cc", "src/ssf_avx512.cc", "src/bn_avx512.cc", "src/adam_avx512.cc"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "/usr/include/x86_64-linux-gnu",
        "/usr/include/aarch64-linux-gnu",
        "/usr/include/openblas"
      ],
      "defines": ["NAPI_DISABLE_CPP_EXCEPTIONS", "NAPI_VERSION=8"],
      "cflags_cc": ["-O2", "-std=c++17"],
      "libraries": ["-lopenblas"]
    }
  ]
}
