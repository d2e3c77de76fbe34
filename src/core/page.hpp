// Which slice of a list a store returns. In core rather than http/ because stores take it and
// stores never see HTTP; http/paging.hpp reads it from ?page=&per_page=.
#pragma once

namespace cj {

// limit == 0: the caller gave no paging parameters (the endpoint's "all, capped" default).
struct Page {
  int limit = 0;
  int offset = 0;
};

}  // namespace cj
