// SPDX-License-Identifier: MIT
//
// The spawn window: while one launcher thread of a fill waits for its child
// to reach exec, the fill's other threads may run `has_next` and `next`.
//
// A fill from several threads (drivers/spawn_threads.*) runs the
// iterator's callbacks, and everything that touches its collection, under
// one mutex per fill, and sets it as the thread's gate. launch() opens a
// SpawnWindow around the one call that blocks (the clone, or posix_spawn()):
// the gate is released there, so the callbacks are never run two at a time
// while the waits for children overlap. Outside a fill there is no gate and
// the window does nothing.
#pragma once

#include <mutex>

namespace procreact
{

/// The calling thread's fill gate, or null outside a fill from several threads.
inline thread_local std::mutex *t_spawn_gate = nullptr;

class SpawnWindow
{
  public:
    SpawnWindow() noexcept : gate_(t_spawn_gate)
    {
        if (gate_ != nullptr)
            gate_->unlock();
    }
    ~SpawnWindow()
    {
        if (gate_ != nullptr)
            gate_->lock();
    }
    SpawnWindow(const SpawnWindow &) = delete;
    SpawnWindow &operator=(const SpawnWindow &) = delete;

  private:
    std::mutex *gate_;
};

} // namespace procreact
