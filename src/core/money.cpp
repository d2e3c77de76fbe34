#include "core/money.hpp"

namespace cj::money {

std::string grouped(long long amount) {
  const bool negative = amount < 0;
  // Digits of the magnitude, built from the unsigned value so LLONG_MIN has no overflow.
  unsigned long long rest = negative ? 0ULL - static_cast<unsigned long long>(amount)
                                     : static_cast<unsigned long long>(amount);
  std::string out;
  int digits = 0;
  do {
    if (digits > 0 && digits % 3 == 0) out.insert(out.begin(), ',');
    out.insert(out.begin(), static_cast<char>('0' + rest % 10));
    rest /= 10;
    ++digits;
  } while (rest > 0);
  if (negative) out.insert(out.begin(), '-');
  return out;
}

}  // namespace cj::money
