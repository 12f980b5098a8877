// Small named values kept durably in a directory: the positions of durable
// subscriptions and forward-to links, the forwarder's producer table. Each is
// one file, replaced atomically (written to NAME.tmp, fdatasync'd, renamed
// over NAME, directory fsync'd), so after a crash a value is either the old
// one or the new one, never a mix. Each file carries an XXH3 checksum.
//
// Not thread-safe; one process per directory (the journal's lock covers it
// when the store lives inside a journal directory).
//
// Example:
//   zmqkit::cursor_store cursors(journal_dir + "/cursors");
//   cursors.save_fseq("billing", 1042);
//   std::uint64_t at = cursors.load_fseq("billing").value_or(0);
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace zmqkit {

class cursor_store {
 public:
  // Creates dir when missing; throws zmqkit::error when it cannot.
  explicit cursor_store(std::string dir);

  // Names are 1 to 200 characters of [A-Za-z0-9._-], not starting with '.'
  // nor ending with ".tmp" or ".corrupt" (the store's own files): room for
  // an owner's prefix on a 128-character name of its own (the forwarder's
  // "sub." + a subscription's name).
  static constexpr std::size_t max_name = 200;
  static bool valid_name(std::string_view name) noexcept;

  // Throws std::invalid_argument for a bad name, zmqkit::error for I/O.
  void save(std::string_view name, std::string_view value);
  // nullopt when absent; throws decode_error when the file is damaged.
  std::optional<std::string> load(std::string_view name) const;
  void remove(std::string_view name);
  // The names present, sorted.
  std::vector<std::string> names() const;

  // Keeps a damaged file (one load() refused) for someone to look at:
  // renames NAME to NAME.corrupt, replacing an older one, so that the next
  // save() of NAME does not destroy it. Returns the new path; throws
  // zmqkit::error when the rename fails.
  std::string set_aside(std::string_view name);
  // The files set aside (NAME.corrupt), sorted.
  std::vector<std::string> set_aside_files() const;

  void save_fseq(std::string_view name, std::uint64_t fseq);
  std::optional<std::uint64_t> load_fseq(std::string_view name) const;

  const std::string& directory() const noexcept { return dir_; }

 private:
  std::string path(std::string_view name) const;
  std::string dir_;
};

}  // namespace zmqkit
