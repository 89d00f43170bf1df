// SPDX-License-Identifier: MIT
//
// Channel framing: a received message, header encoding and the incremental frame parser.
//
// Framed mode: a 4-byte big-endian signed length, then the bytes; a length
// of 2^31 or more is written as -1 and an 8-byte big-endian length (as
// Python's multiprocessing.connection). Line mode: one message per line.
// The parser takes bytes in any split (one at a time included), checks an
// announced length against the maximum before allocating anything, and
// reads a large body straight into one buffer of the announced size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "../os/fd.hpp"
#include "procreact_channel.h"

/// A received message: its bytes and its descriptors, in one allocation
/// (the bytes follow the struct), so a small message costs one malloc.
struct ProcReact_Message {
    /// A message with room for @p size bytes (not yet written) and a NUL
    /// after them; null when out of memory or too big to address.
    static ProcReact_Message *make(std::uint64_t size) noexcept;
    static void operator delete(void *p) noexcept { ::operator delete(p); }

    char *data = nullptr; // never null: the bytes, then one NUL
    std::uint64_t size = 0;
    std::vector<procreact::UniqueFd> fds;
    bool fds_truncated = false;

  private:
    ProcReact_Message() noexcept = default;
};

namespace procreact
{

using MessagePtr = std::unique_ptr<ProcReact_Message>;
using MessageQueue = std::deque<MessagePtr>;

/// The largest framed header: the -1 escape and an 8-byte length.
constexpr std::size_t kMaxHeader = 12;

/// Writes the header for a @p size bytes message into @p out; returns its length (4 or 12).
std::size_t encode_header(std::uint64_t size, unsigned char out[kMaxHeader]) noexcept;

class FrameParser
{
  public:
    FrameParser(ProcReact_ChannelMode mode, std::uint64_t max) noexcept : mode_(mode), max_(max) {}

    void set_max(std::uint64_t max) noexcept { max_ = max; }
    std::uint64_t max() const noexcept { return max_; }

    /// Feeds @p n bytes. Complete messages go to @p out (with their sizes
    /// added to @p out_bytes). @p fds (may be empty) and @p truncated belong
    /// to the last message that begins within these bytes (a read ends with
    /// the write that carried them, and such a write holds one message).
    /// Returns 0, or an errno value
    /// after which the parser is unusable: EMSGSIZE, EPROTO, ENOMEM.
    int feed(const char *p, std::size_t n, std::vector<UniqueFd> &fds, bool truncated, MessageQueue &out,
             std::size_t &out_bytes) noexcept;

    /// Where a read may go straight into the body of the message in
    /// progress (only when at least @p at_least bytes of it remain): the
    /// pointer, with the room in @p room; else null.
    char *body_target(std::size_t at_least, std::size_t &room) noexcept;
    /// @p n bytes were read into body_target().
    /// Returns 0 or ENOMEM.
    int body_filled(std::size_t n, MessageQueue &out, std::size_t &out_bytes) noexcept;

    /// Whether the stream is at a message boundary (nothing partial held).
    bool at_boundary() const noexcept;

  private:
    enum class State { Header, Extended, Body };
    int start_body(std::uint64_t size) noexcept;
    void complete(MessageQueue &out, std::size_t &out_bytes);
    int feed_lines(const char *p, std::size_t n, std::vector<UniqueFd> &fds, bool truncated, MessageQueue &out,
                   std::size_t &out_bytes) noexcept;

    ProcReact_ChannelMode mode_;
    std::uint64_t max_;
    State state_ = State::Header;
    unsigned char head_[8] = {};
    std::size_t head_len_ = 0;
    MessagePtr current_; // the message whose body is being read
    std::uint64_t filled_ = 0;
    std::vector<UniqueFd> carry_fds_; // for the message whose header is still read
    bool carry_truncated_ = false;
    std::string line_; // line mode: the line so far
};

} // namespace procreact
