// The staging directory (<state_dir>/staging, layout.hpp): where downloads are written before
// they are installed by one rename. Checked before each download (ours, 0700, on the same
// filesystem as the versions), and pruned of what no open transaction still wants. The files
// of one artifact are named after its staging key: <key>.partial, <key>.resume.json (the
// record of fetch_record.hpp) and <key>.install while it is being installed.
#pragma once

#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/hash.hpp"

namespace steward::updater {

// "<component>-<sha256 hex>": the prefix of one artifact's staging files.
std::string StagingKey(std::string_view component, const Sha256Digest& sha256);

// Creates `staging` if needed; refuses one that is not a directory or not ours; makes it 0700.
Result<void> PrepareStaging(const std::filesystem::path& staging);
// unsupported when `staging` and `versions` are on different filesystems (an install is one
// rename).
Result<void> SameFilesystem(const std::filesystem::path& staging,
                            const std::filesystem::path& versions);
// Removes the temporary files of a resume-record write a kill interrupted (".<key>…tmp-…").
void RemoveTempSiblings(const std::filesystem::path& staging, const std::string& key);

// Removes staging entries that do not belong to the staging keys in `keep` (partials of
// artifacts still wanted). Returns the names removed.
Result<std::vector<std::string>> PruneStaging(const std::filesystem::path& state_dir,
                                              std::span<const std::string> keep = {});

}  // namespace steward::updater
