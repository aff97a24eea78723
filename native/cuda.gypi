# The cuda part: only the loader of libtessera_cuda.so and its JavaScript exports. The CUDA kernels
# themselves are built by nvcc (scripts/setup.d/45-cuda) into a separate library that is dlopened at run
# time, so this part compiles with no CUDA toolkit and links against nothing but libdl.
{
  'sources': [
    'src/cuda/cuda_init.cc',
    'src/cuda/device_memory.cc',
    'src/cuda/cuda_loader.cc',
    'src/cuda/cuda_status.cc',
    'src/cuda/kernel_on_host.cc',
    'src/cuda/cuda_runtime_exports.cc',
  ],
  'libraries': ['-ldl'],
}
