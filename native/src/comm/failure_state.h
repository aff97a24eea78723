// The first failure of a communicator, recorded once and read by every later operation.
#pragma once

#include <atomic>
#include <mutex>
#include <string>

namespace tessera::comm {

class FailureState {
 public:
  // Records reason if nothing failed yet; returns true for the first caller only.
  bool Fail(const std::string& reason) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (failed_.load()) return false;
    reason_ = reason;
    failed_.store(true);
    return true;
  }
  bool Failed() const { return failed_.load(); }
  std::string Reason() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return reason_;
  }

 private:
  mutable std::mutex mutex_;
  std::atomic<bool> failed_{false};
  std::string reason_;
};

}  // namespace tessera::comm
