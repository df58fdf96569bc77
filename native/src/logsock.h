// Datagrams to a local log socket (logsock.cc): adds unixDgramSend to the addon's exports.
#pragma once
#include <node_api.h>

namespace logsock {
bool Register(napi_env env, napi_value exports);
}
