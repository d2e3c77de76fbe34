#include "http/api_docs.hpp"

namespace cj::http {

Route api_docs_route() {
  return Route{"GET", "/api/docs/openapi.json",
               [](const Request&) {
                 Response r;
                 r.body = std::string(openapi_json());
                 return r;
               },
               false};
}

}  // namespace cj::http
