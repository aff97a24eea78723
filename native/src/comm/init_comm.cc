// The comm part's registration (see register.h): the TCP store and the communicators.
#include "comm/comm_binding.h"
#include "register.h"
#include "store/store_binding.h"

namespace tessera {

void InitComm(Napi::Env env, Napi::Object exports) {
  store::InitStoreBinding(env, exports);
  comm::InitCommBinding(env, exports);
}

}  // namespace tessera
