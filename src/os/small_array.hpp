// SPDX-License-Identifier: MIT
//
// SmallArray: an array of a capacity fixed when it is made, on the stack up
// to N elements and on the heap beyond (a spawn's argv pointers and kept
// descriptors: no allocation per spawn for the usual few).
#pragma once

#include <cstddef>
#include <memory>

namespace procreact
{

template <typename T, std::size_t N> class SmallArray
{
  public:
    /// Room for @p capacity elements. Throws std::bad_alloc beyond N.
    explicit SmallArray(std::size_t capacity)
    {
        if (capacity > N) {
            heap_.reset(new T[capacity]);
            data_ = heap_.get();
        }
    }
    SmallArray(const SmallArray &) = delete;
    SmallArray &operator=(const SmallArray &) = delete;

    /// Appends @p value; the capacity given at construction must allow it.
    void push_back(const T &value) noexcept { data_[size_++] = value; }

    T *data() noexcept { return data_; }
    T *begin() noexcept { return data_; }
    T *end() noexcept { return data_ + size_; }
    std::size_t size() const noexcept { return size_; }

  private:
    T inline_[N];
    std::unique_ptr<T[]> heap_;
    T *data_ = inline_;
    std::size_t size_ = 0;
};

} // namespace procreact
