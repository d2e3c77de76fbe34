// The two rewrites of the original gateway (Istio VirtualService in Cloud-Jet/cjet-k8s-public):
// /api/health → /api/auth/health and /api/airports → /api/flights/airports. The front end calls
// both; behind deploy/gateway or deploy/k8s the gateway rewrites them, and `serve --single-port`
// (CloudJet as its own gateway) serves them with this extra service.
#pragma once

#include <vector>

#include "http/types.hpp"

namespace cj {

// A service named "gateway" whose routes are the aliases of the routes they stand for, among
// `selected` (none when neither auth nor flight is selected).
http::Service gateway_aliases(const std::vector<const http::Service*>& selected);

}  // namespace cj
