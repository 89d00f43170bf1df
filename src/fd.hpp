// SPDX-License-Identifier: MIT
//
// Temporary forwarding header (moved to os/fd.hpp).
#pragma once
#include "os/fd.hpp"
