#include "http/readiness.hpp"

#include <atomic>

namespace cj::http {
namespace {

// More concurrent checks than any orchestrator sends; past it, /ready is being flooded.
constexpr std::size_t kMaxWaiting = 1024;

}  // namespace

struct ReadinessMonitor::Waiter {
  std::function<void(bool)> answer;
  std::atomic<bool> answered{false};
  asio::steady_timer budget;

  Waiter(std::function<void(bool)> a, asio::io_context& io) : answer(std::move(a)), budget(io) {}
  void finish(bool ok) {
    if (!answered.exchange(true)) answer(ok);
  }
};

ReadinessMonitor::ReadinessMonitor(std::function<bool()> probe, asio::io_context& io,
                                   std::chrono::milliseconds budget)
    : probe_(std::move(probe)), io_(io), budget_(budget) {}

ReadinessMonitor::~ReadinessMonitor() {
  stop();
}

void ReadinessMonitor::start() {
  if (!probe_ || thread_.joinable()) return;
  thread_ = std::thread([this] { loop(); });
}

void ReadinessMonitor::stop() {
  std::vector<std::shared_ptr<Waiter>> left;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    left.swap(waiting_);
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  for (auto& w : left) w->finish(false);
}

void ReadinessMonitor::check(std::function<void(bool)> answer) {
  if (!probe_) {
    answer(true);
    return;
  }
  auto w = std::make_shared<Waiter>(std::move(answer), io_);
  {
    std::lock_guard lock(mu_);
    if (stopping_ || waiting_.size() >= kMaxWaiting) {
      w->finish(false);
      return;
    }
    waiting_.push_back(w);
  }
  cv_.notify_one();
  // The timer is only touched here, before the handler can run, and by its own handler; the ping
  // thread answers through `answered` alone.
  w->budget.expires_after(budget_);
  w->budget.async_wait([w](const asio::error_code&) { w->finish(false); });
}

void ReadinessMonitor::loop() {
  for (;;) {
    std::vector<std::shared_ptr<Waiter>> batch;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !waiting_.empty(); });
      if (stopping_) return;
      batch.swap(waiting_);  // later checks wait for a ping that starts after them
    }
    bool ok = false;
    try {
      ok = probe_();
    } catch (const std::exception&) {
      ok = false;
    }
    for (auto& w : batch) w->finish(ok);
  }
}

}  // namespace cj::http
