{ 'sources': ['src/addon.cc', 'src/tensor/init_stub.cc'] }
