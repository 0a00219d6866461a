// What the Store's backends (sqlite_store.cpp, pg_store.cpp) share and OpenStore chooses
// between: the queue that batches the check-in path's writes, the stored form of signatures, and
// each backend's opener.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "controller/store.hpp"

namespace steward::controller {

// Node writes (enrollments and check-ins) and offers wait here, newest write per node winning,
// and a background thread hands them to the backend's `write` every 100 ms, so many check-ins
// share one transaction. A batch that fails to write is queued again (unless newer writes
// replaced its entries) and retried.
class WriteQueue {
 public:
  using Writer = std::function<Result<void>(const std::map<std::string, NodeRecord>& nodes,
                                            const std::vector<OfferRecord>& offers)>;
  explicit WriteQueue(Writer write);
  // Stops the thread and writes what is queued.
  ~WriteQueue();
  WriteQueue(const WriteQueue&) = delete;
  WriteQueue& operator=(const WriteQueue&) = delete;

  void SaveNode(const NodeRecord& node);
  void SaveOffer(const OfferRecord& offer);
  // The queued write of node `id`, if one waits.
  std::optional<NodeRecord> Pending(const std::string& id);
  // Writes everything queued now.
  Result<void> Flush();

 private:
  void Loop();

  Writer write_;
  std::mutex flush_mu_;  // keeps batches in order
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, NodeRecord> nodes_;
  std::vector<OfferRecord> offers_;
  bool stopping_ = false;
  std::thread thread_;
};

// Lists are stored as one text: minisig files never contain a form feed, and window texts no
// newline.
inline constexpr char kSigSeparator = '\f';
inline constexpr char kLineSeparator = '\n';
std::string JoinList(const std::vector<std::string>& items, char separator);
std::vector<std::string> SplitList(const std::string& text, char separator);

Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path);
// `conninfo`: a libpq connection URI; PG* environment variables and the password file apply.
Result<std::unique_ptr<Store>> OpenPgStore(const std::string& conninfo);

}  // namespace steward::controller
