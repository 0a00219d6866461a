// What the Store's records share with every backend: times as unix seconds and the names of
// update results, written and read here only; the write queue both backends batch with; and the
// choice of backend by the store URL.
#include "controller/store.hpp"

#include "common/log.hpp"
#include "controller/store_backend.hpp"
#include "controller/store_url.hpp"

namespace steward::controller {

namespace {
// docs/protocol.md: a transaction still under way reports this in place of a result.
constexpr std::string_view kInProgress = "in_progress";
}  // namespace

std::string_view ResultName(const std::optional<UpdateResult>& result) {
  return result ? UpdateResultName(*result) : kInProgress;
}

Result<std::optional<UpdateResult>> ResultFromName(std::string_view name) {
  if (name == kInProgress) return std::optional<UpdateResult>{};
  if (auto r = UpdateResultFromName(name)) return std::optional<UpdateResult>{*r};
  return Fail(ErrorCode::bad_request, "unknown update result '" + std::string(name) + "'");
}

std::int64_t UnixSeconds(WallTime t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

WriteQueue::WriteQueue(Writer write) : write_(std::move(write)) {
  thread_ = std::thread([this] { Loop(); });
}

WriteQueue::~WriteQueue() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
  if (auto r = Flush(); !r) log::Get("store").error("final flush: {}", r.error().message);
}

void WriteQueue::SaveNode(const NodeRecord& node) {
  std::lock_guard lock(mu_);
  nodes_[node.id] = node;
}

void WriteQueue::SaveOffer(const OfferRecord& offer) {
  std::lock_guard lock(mu_);
  offers_.push_back(offer);
}

std::optional<NodeRecord> WriteQueue::Pending(const std::string& id) {
  std::lock_guard lock(mu_);
  if (auto it = nodes_.find(id); it != nodes_.end()) return it->second;
  return std::nullopt;
}

Result<void> WriteQueue::Flush() {
  std::lock_guard flush_lock(flush_mu_);
  std::map<std::string, NodeRecord> nodes;
  std::vector<OfferRecord> offers;
  {
    std::lock_guard lock(mu_);
    nodes.swap(nodes_);
    offers.swap(offers_);
  }
  if (nodes.empty() && offers.empty()) return {};
  auto r = write_(nodes, offers);
  if (!r) {
    // Put the batch back unless newer writes replaced its entries meanwhile.
    std::lock_guard lock(mu_);
    for (auto& [id, node] : nodes) nodes_.try_emplace(id, std::move(node));
    offers_.insert(offers_.begin(), offers.begin(), offers.end());
  }
  return r;
}

void WriteQueue::Loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, std::chrono::milliseconds(100));
    if (stopping_ || (nodes_.empty() && offers_.empty())) continue;
    lock.unlock();
    if (auto r = Flush(); !r)
      log::Get("store").error("flushing node writes: {}", r.error().message);
    lock.lock();
  }
}

std::string JoinList(const std::vector<std::string>& items, char separator) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += separator;
    out += items[i];
  }
  return out;
}

std::vector<std::string> SplitList(const std::string& text, char separator) {
  std::vector<std::string> out;
  if (text.empty()) return out;
  std::size_t start = 0;
  while (true) {
    const auto pos = text.find(separator, start);
    out.push_back(text.substr(start, pos == std::string::npos ? std::string::npos : pos - start));
    if (pos == std::string::npos) break;
    start = pos + 1;
  }
  return out;
}

Result<std::unique_ptr<Store>> OpenStore(const std::string& url) {
  if (IsPostgresUrl(url)) return OpenPgStore(url);
  if (url.starts_with("sqlite:") && url.size() > 7) return OpenSqliteStore(url.substr(7));
  return Fail(ErrorCode::unsupported, "store " + url +
                                          ": allowed are sqlite:/path/controller.db and "
                                          "postgresql://… (a libpq connection URI)");
}

}  // namespace steward::controller
