// ?page=&per_page= for list endpoints.
#pragma once

#include "core/page.hpp"
#include "core/result.hpp"
#include "http/types.hpp"

namespace cj::http {

using cj::Page;

// page ≥ 1 (default 1), 1 ≤ per_page ≤ max_per_page (default default_per_page); 400
// invalid_field otherwise.
Result<Page> page_param(const Request& rq, int default_per_page, int max_per_page);

}  // namespace cj::http
