// SPDX-License-Identifier: MIT
//
// Temporary forwarding header (moved to os/child_watch.hpp).
#pragma once
#include "os/child_watch.hpp"
