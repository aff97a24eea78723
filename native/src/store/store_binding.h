// JS classes of the TCP store: StoreServer (rank 0 hosts it) and StoreClient (every rank), plus
// connectStore(). The addon's comm part registers them (see comm/init_comm.cc).
#pragma once

#include <napi.h>

#include <memory>

#include "store/group_auth.h"

namespace tessera::store {

void InitStoreBinding(Napi::Env env, Napi::Object exports);

// The group secret from an options object (a Uint8Array of 16 to 4096 bytes); throws naming the field.
std::shared_ptr<const GroupSecret> SecretField(const Napi::Object& o, const char* key);

}  // namespace tessera::store
