// A loopback TCP proxy the soak puts between the nodes and one controller, so that controller
// can be made to answer slowly without being stopped: while slow, the first bytes of each
// answer (the first server bytes after a client sent something) are held back for a delay.
// Downloads through it are not throttled beyond that one delay per answer.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <list>
#include <mutex>
#include <thread>

namespace steward::test::soak {

class SlowProxy {
 public:
  // Listens on 127.0.0.1:`port` and forwards every connection to 127.0.0.1:`target`.
  SlowProxy(std::uint16_t port, std::uint16_t target);
  SlowProxy(const SlowProxy&) = delete;
  SlowProxy& operator=(const SlowProxy&) = delete;
  ~SlowProxy();

  // 0: answers pass at once.
  void SetDelay(std::chrono::milliseconds delay) { delay_ms_ = delay.count(); }

 private:
  void Accept();
  void Pump(int client);

  std::uint16_t target_;
  int listener_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<long> delay_ms_{0};
  std::mutex mu_;
  std::list<std::thread> pumps_;
  std::thread acceptor_;
};

}  // namespace steward::test::soak
