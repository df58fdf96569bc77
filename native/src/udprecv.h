// Receive sockets (udprecv.cc): adds udpListen and udpMeta to the addon's exports.
#pragma once
#include <node_api.h>

namespace udprecv {
bool Register(napi_env env, napi_value exports);
}
