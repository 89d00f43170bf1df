# SPDX-License-Identifier: MIT
"""Task functions for the pool tests: importable by name in the workers (the parent's sys.path goes with them)."""

import os
import signal
import time

STATE = {}


def square(x):
    return x * x


def add(a, b=0):
    return a + b


def divide(a, b):
    return a / b


def whoami(x=None):
    return os.getpid(), x


def sleep_pid(seconds, value):
    time.sleep(seconds)
    return os.getpid(), value


def process_group():
    return os.getpid(), os.getpgid(0)


def environment(name):
    return os.environ.get(name)


def sleep(seconds, value=None):
    time.sleep(seconds)
    return value


def die(signo=signal.SIGKILL):
    os.kill(os.getpid(), signo)
    time.sleep(10)


def exit_now(code):
    os._exit(code)


def remember(key, value):
    STATE[key] = value


def recall(key):
    return STATE.get(key)


def fail_init():
    raise RuntimeError("this initializer fails")


def grow(mib):
    STATE.setdefault("ballast", []).append(bytearray(mib << 20))
    return os.getpid()


class Unpicklable(Exception):
    def __init__(self, a, b):
        super().__init__(a)  # args is (a,): unpickling calls Unpicklable(a), which fails


def raise_unpicklable():
    raise Unpicklable(1, 2)


def return_lambda():
    return lambda: 1
