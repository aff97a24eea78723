# One addon, three parts kept in their own .gypi so their owners can change sources and libraries
# independently: core (tensors, kernels, safetensors), comm (TCP store, gloo, NCCL), cuda (the loader of
# the separately built CUDA library).
{
  'targets': [
    {
      'target_name': 'tessera_native',
      'includes': ['core.gypi', 'comm.gypi', 'cuda.gypi'],
      'include_dirs': ["<!(node -p \"require('node-addon-api').include_dir\")", 'src'],
      'defines': ['NAPI_VERSION=9', 'NODE_ADDON_API_DISABLE_DEPRECATED'],
      'cflags!': ['-fno-exceptions'],
      'cflags_cc!': ['-fno-exceptions', '-fno-rtti'],
      'cflags_cc': ['-std=c++17', '-O3', '-fexceptions', '-Wall', '-Wextra', '-Wno-unused-parameter'],
    },
  ],
}
