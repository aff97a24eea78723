// gloo's TCP transport with every pair connection authenticated by the group secret before gloo reads a
// byte from it. Debian's libgloo (2022-05) has no TLS transport and no hook for this, and each pair
// accepts the first connection on its own listening port — so whoever connects first would become the
// peer. We subclass its device, context and pair (the classes and the members used are in its public
// headers): the listening side keeps accepting until a connection answers the challenge of
// store/group_auth.h, the connecting side answers it and checks the listener's proof, and only then
// does gloo's own connected-state code run. Everything happens on gloo's event-loop thread without
// blocking it: a stranger that connects and says nothing costs one of a few candidate slots, nothing more.
#pragma once

#include <gloo/transport/device.h>

#include <memory>
#include <string>

#include "store/group_auth.h"

namespace tessera::comm {

// A TCP device (one event-loop thread) on `host` whose pairs authenticate with `secret`.
std::shared_ptr<gloo::transport::Device> CreateAuthenticatedDevice(const std::string& host,
                                                                   std::shared_ptr<const store::GroupSecret> secret);

}  // namespace tessera::comm
