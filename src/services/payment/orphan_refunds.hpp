// The orphaned-payment pass (ORPHAN_PAYMENT_REFUND_MINUTES): a captured payment that no booking
// claimed within that time is refunded, so every captured payment ends attached to a live
// booking or refunded. The original front end pays before it books, so a booking that then fails
// (seat taken, sales closed) leaves exactly such a payment. Runs in every process serving
// payments (a PeriodicWorker); each payment is decided under its row lock, so once.
#pragma once

namespace cj {
struct App;
}

namespace cj::payment {

// Returns how many refunds this pass queued.
int refund_orphaned_payments(App& app);

}  // namespace cj::payment
