// SPDX-License-Identifier: MIT
//
// Temporary forwarding header (moved to engine/boundary.hpp).
#pragma once
#include "engine/boundary.hpp"
