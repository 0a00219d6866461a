#include "updater/journal.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/hash.hpp"

namespace steward::updater {

using nlohmann::json;

namespace {

// The columns of a txn row, in the order ReadTxn reads them.
constexpr std::string_view kTxnColumns =
    "id, component, channel, from_version, from_dir, prev_dir, to_version, to_dir, manifest, "
    "signatures, state, healthy_ms, result, error_code, error, swaps, superseded, "
    "download";

JournaledTxn ReadTxn(const sqlite::Stmt& q) {
  JournaledTxn j;
  TxnRecord& t = j.txn;
  t.view.id = q.Int(0);
  t.view.component = q.Text(1);
  t.channel = q.Text(2);
  t.view.from_version = q.Text(3);
  t.from_dir = q.Text(4);
  t.prev_dir = q.Text(5);
  t.view.to_version = q.Text(6);
  t.to_dir = q.Text(7);
  t.manifest = q.Text(8);
  j.state_name = q.Text(10);
  const auto state = TxnStateFromName(j.state_name);
  const auto sigs = json::parse(q.Text(9), nullptr, false);
  j.readable = state.has_value() && sigs.is_array();
  for (const auto& s : sigs.is_array() ? sigs : json::array()) {
    if (s.is_string()) {
      t.signatures.push_back(s.get<std::string>());
    } else {
      j.readable = false;
    }
  }
  t.view.state = state.value_or(TxnState::failed);
  t.view.healthy = std::chrono::milliseconds(q.Int(11));
  t.view.result = UpdateResultFromName(q.Text(12));
  t.view.error_code = q.Text(13);
  t.view.error = q.Text(14);
  t.swaps = q.Int(15);
  t.view.superseded = q.Text(16);
  t.view.download = q.Text(17);
  return j;
}

std::int64_t Millis(Duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

}  // namespace

UpdateReport TxnView::Report() const {
  return UpdateReport{from_version, to_version, result, error_code, error, superseded, download};
}

Result<std::int64_t> Journal::Begin(const TxnRecord& t, WallTime now) {
  auto ins = db_.db().Prepare(
      "INSERT INTO txn(component, channel, from_version, from_dir, prev_dir, to_version, "
      "to_dir, manifest, signatures, state, started_at_ms, updated_at_ms, superseded) "
      "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11, ?12)");
  if (!ins) return std::unexpected(ins.error());
  ins->Bind(1, t.view.component)
      .Bind(2, t.channel)
      .Bind(3, t.view.from_version)
      .Bind(4, t.from_dir)
      .Bind(5, t.prev_dir)
      .Bind(6, t.view.to_version)
      .Bind(7, t.to_dir)
      .Bind(8, t.manifest)
      .Bind(9, json(t.signatures).dump())
      .Bind(10, TxnStateName(t.view.state))
      .Bind(11, ToMillis(now))
      .Bind(12, t.view.superseded);
  if (auto r = ins->Run(); !r) return std::unexpected(r.error());
  return db_.db().LastInsertRowid();
}

Result<void> Journal::Save(const TxnRecord& t, WallTime now) {
  auto q = db_.db().Prepare(
      "UPDATE txn SET state = ?2, result = ?3, error_code = ?4, error = ?5, healthy_ms = ?6, "
      "updated_at_ms = ?7, swaps = ?8, download = ?9 WHERE id = ?1");
  if (!q) return std::unexpected(q.error());
  return q->Bind(1, t.view.id)
      .Bind(2, TxnStateName(t.view.state))
      .Bind(3, t.view.result ? UpdateResultName(*t.view.result) : "")
      .Bind(4, t.view.error_code)
      .Bind(5, t.view.error)
      .Bind(6, Millis(t.view.healthy))
      .Bind(7, ToMillis(now))
      .Bind(8, t.swaps)
      .Bind(9, t.view.download)
      .Run();
}

Result<void> Journal::Close(std::int64_t id) {
  auto q = db_.db().Prepare("UPDATE txn SET closed = 1 WHERE id = ?1");
  if (!q) return std::unexpected(q.error());
  return q->Bind(1, id).Run();
}

Result<void> Journal::Trim(std::string_view component, std::int64_t kept) {
  auto q = db_.db().Prepare(
      "DELETE FROM txn WHERE component = ?1 AND closed = 1 AND id <= (SELECT id FROM txn WHERE "
      "component = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)");
  if (!q) return std::unexpected(q.error());
  return q->Bind(1, component).Bind(2, kept).Run();
}

Result<std::vector<JournaledTxn>> Journal::Unfinished() const {
  auto q = db_.db().Prepare("SELECT " + std::string(kTxnColumns) +
                            " FROM txn WHERE closed = 0 ORDER BY id");
  if (!q) return std::unexpected(q.error());
  std::vector<JournaledTxn> out;
  for (;;) {
    auto row = q->Step();
    if (!row) return std::unexpected(row.error());
    if (!*row) return out;
    out.push_back(ReadTxn(*q));
  }
}

Result<std::optional<TxnView>> Journal::Last(std::string_view component) const {
  auto q = db_.db().Prepare("SELECT " + std::string(kTxnColumns) +
                            " FROM txn WHERE component = ?1 ORDER BY id DESC LIMIT 1");
  if (!q) return std::unexpected(q.error());
  q->Bind(1, component);
  auto row = q->Step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return std::optional<TxnView>{};
  return std::optional<TxnView>(ReadTxn(*q).txn.view);
}

Result<trust::Floor> Journal::Floor(std::string_view component, std::string_view channel) const {
  trust::Floor floor;
  auto q = db_.db().Prepare(
      "SELECT root_version, sequence, manifest_sha256, time_floor_ms FROM trust_floor "
      "WHERE component = ?1 AND channel = ?2");
  if (!q) return std::unexpected(q.error());
  q->Bind(1, component).Bind(2, channel);
  auto row = q->Step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return floor;
  floor.root_version = static_cast<std::uint64_t>(q->Int(0));
  floor.sequence = static_cast<std::uint64_t>(q->Int(1));
  if (auto d = HexDecode(q->Text(2)); d && d->size() == floor.manifest_sha256.emplace().size()) {
    std::copy(d->begin(), d->end(), floor.manifest_sha256->begin());
  } else {
    floor.manifest_sha256.reset();
  }
  floor.time_floor = FromMillis(q->Int(3));
  return floor;
}

Result<void> Journal::RaiseFloor(std::string_view component, std::string_view channel,
                                 const trust::VerifiedRelease& accepted) {
  const trust::Manifest& m = accepted.manifest;
  auto q = db_.db().Prepare(
      "INSERT INTO trust_floor(component, channel, root_version, sequence, manifest_sha256, "
      "time_floor_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(component, channel) DO UPDATE "
      "SET root_version = ?3, sequence = ?4, manifest_sha256 = ?5, "
      "time_floor_ms = max(time_floor_ms, ?6)");
  if (!q) return std::unexpected(q.error());
  return q->Bind(1, component)
      .Bind(2, channel)
      .Bind(3, static_cast<std::int64_t>(m.root_version))
      .Bind(4, static_cast<std::int64_t>(m.sequence))
      .Bind(5, HexEncode(accepted.manifest_sha256))
      .Bind(6, ToMillis(m.issued_at))  // never lowered: max() in the upsert
      .Run();
}

Result<std::optional<std::string>> Journal::BadReason(std::string_view component,
                                                      std::string_view version) const {
  auto q = db_.db().Prepare("SELECT reason FROM bad_version WHERE component = ?1 AND version = ?2");
  if (!q) return std::unexpected(q.error());
  q->Bind(1, component).Bind(2, version);
  auto row = q->Step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return std::optional<std::string>{};
  return std::optional<std::string>(q->Text(0));
}

Result<void> Journal::MarkBad(std::string_view component, std::string_view version,
                              std::string_view reason, WallTime at) {
  auto q = db_.db().Prepare(
      "INSERT INTO bad_version(component, version, reason, at_ms) VALUES(?1, ?2, ?3, ?4) "
      "ON CONFLICT(component, version) DO NOTHING");
  if (!q) return std::unexpected(q.error());
  return q->Bind(1, component).Bind(2, version).Bind(3, reason).Bind(4, ToMillis(at)).Run();
}

Result<bool> Journal::ClearBad(std::string_view component, std::string_view version) {
  auto q = db_.db().Prepare("DELETE FROM bad_version WHERE component = ?1 AND version = ?2");
  if (!q) return std::unexpected(q.error());
  if (auto r = q->Bind(1, component).Bind(2, version).Run(); !r) return std::unexpected(r.error());
  return sqlite3_changes(db_.db().Raw()) != 0;
}

}  // namespace steward::updater
