// SPDX-License-Identifier: MIT
//
// Channel framing: header encoding and the incremental frame parser.
#include "channel_frame.hpp"

#include <cerrno>
#include <cstring>
#include <new>

namespace procreact
{
namespace
{

constexpr std::uint64_t kEscape = 0x7fffffffu; // longest length the 4-byte header holds

std::uint64_t load_be(const unsigned char *p, std::size_t n) noexcept
{
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i)
        v = (v << 8) | p[i];
    return v;
}

void store_be(std::uint64_t v, unsigned char *p, std::size_t n) noexcept
{
    for (std::size_t i = n; i-- > 0; v >>= 8)
        p[i] = static_cast<unsigned char>(v & 0xff);
}

// A message of @p size bytes with nothing in it yet, or null (out of memory).
MessagePtr make_message(std::uint64_t size) noexcept
{
    return MessagePtr(ProcReact_Message::make(size));
}

} // namespace
} // namespace procreact

ProcReact_Message *ProcReact_Message::make(std::uint64_t size) noexcept
{
    if (size >= SIZE_MAX - sizeof(ProcReact_Message) - 1)
        return nullptr;
    void *block = ::operator new(sizeof(ProcReact_Message) + static_cast<std::size_t>(size) + 1, std::nothrow);
    if (block == nullptr)
        return nullptr;
    auto *m = new (block) ProcReact_Message();
    m->data = reinterpret_cast<char *>(m + 1);
    m->size = size;
    // Not zero-filled: every byte is written by the read that follows.
    m->data[size] = '\0';
    return m;
}

namespace procreact
{

std::size_t encode_header(std::uint64_t size, unsigned char out[kMaxHeader]) noexcept
{
    if (size <= kEscape) {
        store_be(size, out, 4);
        return 4;
    }
    std::memset(out, 0xff, 4);
    store_be(size, out + 4, 8);
    return kMaxHeader;
}

bool FrameParser::at_boundary() const noexcept
{
    if (mode_ == PROCREACT_CHANNEL_LINES)
        return line_.empty();
    return state_ == State::Header && head_len_ == 0;
}

int FrameParser::start_body(std::uint64_t size) noexcept
{
    // The maximum is checked before anything is allocated.
    if (size > max_)
        return EMSGSIZE;
    current_ = make_message(size);
    if (!current_)
        return ENOMEM;
    // Descriptors that came with this message's first bytes, in an earlier read.
    current_->fds = std::move(carry_fds_); // moving a vector allocates nothing
    carry_fds_.clear();
    current_->fds_truncated = carry_truncated_;
    carry_truncated_ = false;
    filled_ = 0;
    state_ = State::Body;
    return 0;
}

// Throws std::bad_alloc (the message stays in current_).
void FrameParser::complete(MessageQueue &out, std::size_t &out_bytes)
{
    out_bytes += static_cast<std::size_t>(current_->size);
    out.push_back(std::move(current_));
    state_ = State::Header;
    head_len_ = 0;
}

int FrameParser::feed(const char *p, std::size_t n, std::vector<UniqueFd> &fds, bool truncated, MessageQueue &out,
                      std::size_t &out_bytes) noexcept
{
    if (mode_ == PROCREACT_CHANNEL_LINES)
        return feed_lines(p, n, fds, truncated, out, out_bytes);
    // Descriptors arrive with their message's first byte, and the kernel
    // ends a read with the write that carried them (it may join earlier
    // writes in front of it, never later ones), which holds that one
    // message: they belong to the last message that begins in this chunk.
    ProcReact_Message *last = nullptr; // the last message begun here, once its header is read
    bool begun = false;                // a message begun here still reads its header
    try {
        while (n > 0) {
            switch (state_) {
            case State::Header:
            case State::Extended: {
                if (state_ == State::Header && head_len_ == 0) {
                    last = nullptr;
                    begun = true;
                }
                const std::size_t want = state_ == State::Header ? 4 : 8;
                const std::size_t take = std::min(want - head_len_, n);
                std::memcpy(head_ + head_len_, p, take);
                head_len_ += take;
                p += take;
                n -= take;
                if (head_len_ < want)
                    break;
                if (state_ == State::Header) {
                    const std::uint64_t raw = load_be(head_, 4);
                    if (raw == 0xffffffffu) { // -1: the 8-byte length follows
                        state_ = State::Extended;
                        head_len_ = 0;
                        break;
                    }
                    if (raw > kEscape)
                        return EPROTO; // a negative length
                    if (const int e = start_body(raw))
                        return e;
                } else {
                    const std::uint64_t raw = load_be(head_, 8);
                    if (raw > static_cast<std::uint64_t>(INT64_MAX))
                        return EPROTO;
                    if (const int e = start_body(raw))
                        return e;
                }
                if (begun) {
                    last = current_.get(); // stays valid in @p out once complete
                    begun = false;
                }
                if (current_->size == 0)
                    complete(out, out_bytes);
                break;
            }
            case State::Body: {
                const std::uint64_t left = current_->size - filled_;
                const std::size_t take = left < n ? static_cast<std::size_t>(left) : n;
                std::memcpy(current_->data + filled_, p, take);
                filled_ += take;
                p += take;
                n -= take;
                if (filled_ == current_->size)
                    complete(out, out_bytes);
                break;
            }
            }
        }
    } catch (...) {
        return ENOMEM;
    }
    if (fds.empty() && !truncated)
        return 0;
    if (last != nullptr) {
        last->fds = std::move(fds);
        last->fds_truncated = truncated;
    } else if (begun) {
        carry_fds_ = std::move(fds); // its header ends in a later read
        carry_truncated_ = truncated;
    } else if (!fds.empty()) {
        return EPROTO; // descriptors with no message beginning here
    }
    fds.clear();
    return 0;
}

char *FrameParser::body_target(std::size_t at_least, std::size_t &room) noexcept
{
    if (mode_ != PROCREACT_CHANNEL_FRAMED || state_ != State::Body)
        return nullptr;
    const std::uint64_t left = current_->size - filled_;
    if (left < at_least)
        return nullptr;
    room = left > SIZE_MAX / 2 ? SIZE_MAX / 2 : static_cast<std::size_t>(left);
    return current_->data + filled_;
}

int FrameParser::body_filled(std::size_t n, MessageQueue &out, std::size_t &out_bytes) noexcept
{
    filled_ += n;
    if (filled_ == current_->size) {
        try {
            complete(out, out_bytes);
        } catch (...) {
            return ENOMEM;
        }
    }
    return 0;
}

int FrameParser::feed_lines(const char *p, std::size_t n, std::vector<UniqueFd> &fds, bool truncated,
                            MessageQueue &out, std::size_t &out_bytes) noexcept
{
    if (!fds.empty())
        return EPROTO; // line mode carries no descriptors
    (void)truncated;
    try {
        while (n > 0) {
            const char *nl = static_cast<const char *>(std::memchr(p, '\n', n));
            const std::size_t piece = nl != nullptr ? static_cast<std::size_t>(nl - p) : n;
            if (line_.size() + piece > max_)
                return EMSGSIZE;
            line_.append(p, piece);
            p += piece;
            n -= piece;
            if (nl == nullptr)
                break;
            ++p; // the newline
            --n;
            MessagePtr m = make_message(line_.size());
            if (!m)
                return ENOMEM;
            if (!line_.empty())
                std::memcpy(m->data, line_.data(), line_.size());
            line_.clear();
            out_bytes += static_cast<std::size_t>(m->size);
            out.push_back(std::move(m));
        }
    } catch (...) {
        return ENOMEM;
    }
    return 0;
}

} // namespace procreact
