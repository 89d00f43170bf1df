/* SPDX-License-Identifier: MIT */
/**
 * @file procreact.h
 * @brief Umbrella header: includes every procreact module.
 */
#ifndef PROCREACT_H
#define PROCREACT_H

#include "procreact_util.h"
#include "procreact_pid.h"
#include "procreact_types.h"
#include "procreact_future.h"
#include "procreact_future_iterator.h"
#include "procreact_pid_iterator.h"
#include "procreact_signal.h"
#include "procreact_exit.h"
#include "procreact_spawn.h"
#include "procreact_control.h"
#include "procreact_channel.h"
#include "procreact_pool.h"

#endif /* PROCREACT_H */
