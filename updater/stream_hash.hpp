// Hashing a download while it arrives: the SHA-256 runs on its own thread, a few blocks
// behind the bytes, so hashing overlaps receiving and writing instead of adding to them. Bytes
// are copied into blocks of a bounded pool: a slow hash slows the transfer down rather than
// growing memory. Used by the fetcher (fetch.cpp) for the partial file of one artifact.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/hash.hpp"

namespace steward::updater {

class StreamHash {
 public:
  StreamHash();
  ~StreamHash();
  StreamHash(const StreamHash&) = delete;
  StreamHash& operator=(const StreamHash&) = delete;

  // Queues `data` for the hash; blocks while the pool's blocks are all queued.
  void Update(std::string_view data);
  // Starts over (a download restarted at byte 0).
  void Reset();
  // The hash of every byte given to Update since the last Reset.
  Sha256Digest Finish();

 private:
  static constexpr std::size_t kBlock = 1 << 20;
  static constexpr std::size_t kMaxBlocks = 16;

  std::string TakeBlock();
  void Push();
  // Waits until every byte given to Update is in the hash; the worker is idle afterwards.
  void Drain();
  void Run();

  Sha256 hash_;  // touched by the worker only while busy_, by callers only after Drain
  std::string current_;
  bool holding_ = false;  // current_ is a block from TakeBlock
  std::mutex mu_;
  std::condition_variable work_cv_, free_cv_, idle_cv_;
  std::deque<std::string> queue_;
  std::vector<std::string> free_;
  std::size_t allocated_ = 0;
  bool busy_ = false;
  bool stop_ = false;
  std::thread worker_;
};

}  // namespace steward::updater
