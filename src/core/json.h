// The JSON value the library works in (nlohmann::json), kept out of the public headers.
#pragma once

#include <nlohmann/json.hpp>

namespace modelrt {

using Json = nlohmann::json;

}  // namespace modelrt
