#include "http/paging.hpp"

#include "core/errors.hpp"
#include "core/validate.hpp"

namespace cj::http {

Result<Page> page_param(const Request& rq, int default_per_page, int max_per_page) {
  const auto page = rq.query_param("page");
  const auto per_page = rq.query_param("per_page");
  if (!page && !per_page) return Page{};
  auto parse = [](const std::optional<std::string>& v, int fallback, int max,
                  const char* name) -> Result<int> {
    if (!v) return fallback;
    auto n = validate::positive_integer(*v);
    if (!n || *n > max) {
      return errors::invalid_field(name,
                                   "1 이상 " + std::to_string(max) + " 이하의 정수여야 합니다.",
                                   "must be an integer from 1 to " + std::to_string(max));
    }
    return static_cast<int>(*n);
  };
  auto p = parse(page, 1, 1000000, "page");
  if (!p) return p.error();
  auto pp = parse(per_page, default_per_page, max_per_page, "per_page");
  if (!pp) return pp.error();
  return Page{*pp, (*p - 1) * *pp};
}

}  // namespace cj::http
