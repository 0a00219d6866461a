#include "updater/stream_hash.hpp"

#include <algorithm>

namespace steward::updater {

StreamHash::StreamHash() : worker_([this] { Run(); }) {}

StreamHash::~StreamHash() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  worker_.join();
}

void StreamHash::Update(std::string_view data) {
  while (!data.empty()) {
    if (!holding_) {
      current_ = TakeBlock();  // waits while kMaxBlocks are queued: memory stays bounded
      holding_ = true;
    }
    const std::size_t n = std::min(kBlock - current_.size(), data.size());
    current_.append(data.data(), n);
    data.remove_prefix(n);
    if (current_.size() == kBlock) Push();
  }
}

void StreamHash::Reset() {
  Drain();
  hash_.Reset();
}

Sha256Digest StreamHash::Finish() {
  Drain();
  return hash_.Finish();
}

std::string StreamHash::TakeBlock() {
  std::unique_lock lock(mu_);
  free_cv_.wait(lock, [&] { return !free_.empty() || allocated_ < kMaxBlocks; });
  std::string b;
  if (!free_.empty()) {
    b = std::move(free_.back());
    free_.pop_back();
    b.clear();
  } else {
    ++allocated_;
    b.reserve(kBlock);
  }
  return b;
}

void StreamHash::Push() {
  if (!holding_ || current_.empty()) return;
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(current_));
  }
  current_ = std::string();
  holding_ = false;
  work_cv_.notify_one();
}

void StreamHash::Drain() {
  Push();
  std::unique_lock lock(mu_);
  idle_cv_.wait(lock, [&] { return queue_.empty() && !busy_; });
}

void StreamHash::Run() {
  std::unique_lock lock(mu_);
  for (;;) {
    work_cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;
    std::string block = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lock.unlock();
    hash_.Update(block);
    lock.lock();
    busy_ = false;
    free_.push_back(std::move(block));
    free_cv_.notify_one();
    if (queue_.empty()) idle_cv_.notify_all();
  }
}

}  // namespace steward::updater
