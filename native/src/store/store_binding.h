// JS classes of the TCP store: StoreServer (rank 0 hosts it) and StoreClient (every rank), plus
// connectStore(). The addon's comm part registers them (see comm/init_comm.cc).
#pragma once

#include <napi.h>

namespace tessera::store {

void InitStoreBinding(Napi::Env env, Napi::Object exports);

}  // namespace tessera::store
