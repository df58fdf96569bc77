// Memory placement (pages.cc): adds releasePages and lineOffset to the addon's exports.
#pragma once
#include <node_api.h>

namespace pages {
bool Register(napi_env env, napi_value exports);
}
