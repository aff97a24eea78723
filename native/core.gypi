{ 'sources': ['src/addon.cc'] }
