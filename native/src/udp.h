// Export sockets (udp.cc): adds udpOpen to the addon's exports.
#pragma once
#include <node_api.h>

namespace udp {
bool Register(napi_env env, napi_value exports);
}
