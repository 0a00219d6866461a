#include "controller/pg_schema.hpp"

namespace steward::controller {
namespace {

constexpr std::string_view kMigrations[] = {
    R"sql(
CREATE TABLE nodes (
  id TEXT PRIMARY KEY,
  token_hash TEXT NOT NULL,
  hostname TEXT NOT NULL,
  machine_id TEXT NOT NULL,
  platform TEXT NOT NULL,
  enrolled_at BIGINT NOT NULL,
  last_seen BIGINT NOT NULL,
  report TEXT NOT NULL
);
CREATE TABLE releases (
  component TEXT NOT NULL,
  channel TEXT NOT NULL,
  version TEXT NOT NULL,
  sequence BIGINT NOT NULL,
  root_version BIGINT NOT NULL,
  manifest BYTEA NOT NULL,
  signatures TEXT NOT NULL,
  manifest_sha256 TEXT NOT NULL,
  published_at BIGINT NOT NULL,
  expires BIGINT NOT NULL,
  PRIMARY KEY (component, channel, version),
  UNIQUE (component, channel, sequence)
);
CREATE TABLE rollouts (
  component TEXT NOT NULL,
  channel TEXT NOT NULL,
  version TEXT NOT NULL,
  minimum TEXT NOT NULL,
  percent DOUBLE PRECISION NOT NULL,
  paused BOOLEAN NOT NULL,
  halt_reason TEXT NOT NULL,
  seed TEXT NOT NULL,
  updated_at BIGINT NOT NULL,
  canary BIGINT NOT NULL,
  max_in_flight BIGINT NOT NULL,
  bake_s BIGINT NOT NULL,
  immediate BOOLEAN NOT NULL,
  wave BIGINT NOT NULL,
  wave_started_at BIGINT NOT NULL,
  PRIMARY KEY (component, channel)
);
CREATE TABLE update_results (
  seed TEXT NOT NULL,
  node_id TEXT NOT NULL,
  component TEXT NOT NULL,
  from_version TEXT NOT NULL,
  to_version TEXT NOT NULL,
  result TEXT NOT NULL,
  error_code TEXT NOT NULL,
  at BIGINT NOT NULL,
  PRIMARY KEY (seed, node_id, component)
);
CREATE INDEX update_results_by_node ON update_results (node_id, at);
CREATE TABLE rollout_offers (
  seed TEXT NOT NULL,
  component TEXT NOT NULL,
  node_id TEXT NOT NULL,
  wave BIGINT NOT NULL,
  offered_at BIGINT NOT NULL,
  made BIGINT GENERATED ALWAYS AS IDENTITY,  -- the order offers were made in
  PRIMARY KEY (seed, component, node_id)
);
CREATE TABLE flags (
  channel TEXT NOT NULL,
  name TEXT NOT NULL,
  value TEXT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (channel, name)
);
CREATE TABLE members (
  url TEXT PRIMARY KEY,
  heartbeat BIGINT NOT NULL
);
-- Replicas see each other's changes by this number (Store::Generation).
CREATE TABLE generation (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  value BIGINT NOT NULL
);
INSERT INTO generation (id, value) VALUES (1, 0);
CREATE FUNCTION steward_bump_generation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE generation SET value = value + 1 WHERE id = 1;
  RETURN NULL;
END $$;
CREATE TRIGGER releases_generation AFTER INSERT ON releases
  FOR EACH ROW EXECUTE FUNCTION steward_bump_generation();
CREATE TRIGGER rollouts_generation AFTER INSERT OR UPDATE ON rollouts
  FOR EACH ROW EXECUTE FUNCTION steward_bump_generation();
CREATE TRIGGER flags_generation AFTER INSERT OR UPDATE OR DELETE ON flags
  FOR EACH ROW EXECUTE FUNCTION steward_bump_generation();
)sql",
    // Maintenance windows per channel: their texts joined by newlines (a text has none).
    R"sql(
CREATE TABLE windows (
  channel TEXT PRIMARY KEY,
  windows TEXT NOT NULL,
  max_wait_s BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE TRIGGER windows_generation AFTER INSERT OR UPDATE OR DELETE ON windows
  FOR EACH ROW EXECUTE FUNCTION steward_bump_generation();
)sql",
};

}  // namespace

std::span<const std::string_view> PgMigrations() { return kMigrations; }

}  // namespace steward::controller
