# The comm part: TCP store, gloo (CPU) and NCCL (GPU, loaded with dlopen at run time) communicators.
{
  'sources': [
    'src/store/wire.cc',
    'src/store/group_auth.cc',
    'src/store/socket.cc',
    'src/store/tcp_store_server.cc',
    'src/store/tcp_store_client.cc',
    'src/store/store_binding.cc',
    'src/comm/dtype.cc',
    'src/comm/worker_pool.cc',
    'src/comm/reduce_kernels.cc',
    'src/comm/validate.cc',
    'src/comm/memory_arg.cc',
    'src/comm/gloo_auth_transport.cc',
    'src/comm/gloo_communicator.cc',
    'src/comm/nccl_api.cc',
    'src/comm/nccl_communicator.cc',
    'src/comm/comm_binding.cc',
    'src/comm/init_comm.cc',
  ],
  'cflags': ['-pthread'],
  # A header Debian's libgloo-dev leaves out (see the file); the system's copy wins where there is one.
  'cflags_cc': ['-idirafter', '<(module_root_dir)/src/comm/gloo_compat'],
  'libraries': ['-lgloo', '-pthread', '-ldl'],
}
