// The orphaned-payment pass (ORPHAN_PAYMENT_REFUND_MINUTES): a captured payment that no booking
// claimed within that time is refunded, so every captured payment ends attached to a live
// booking or refunded. The original front end pays before it books, so a booking that then fails
// (seat taken, sales closed) leaves exactly such a payment. Runs in every process serving
// payments (a PeriodicWorker); each payment is decided under its row lock, so once.
#pragma once

#include "core/db.hpp"

namespace cj::payment {

class RefundWorker;

// Refunds what was captured more than `grace_minutes` ago and claimed by no booking; returns how
// many refunds this pass queued (`refunds` sends them at once).
int refund_orphaned_payments(db::Db& db, int grace_minutes, RefundWorker& refunds);

}  // namespace cj::payment
