// JS face of the communicators: createCommunicator() and the NativeCommunicator class whose methods each
// return a Promise settled from the communicator's threads through one ThreadSafeFunction.
#pragma once

#include <napi.h>

namespace tessera::comm {

void InitCommBinding(Napi::Env env, Napi::Object exports);

}  // namespace tessera::comm
