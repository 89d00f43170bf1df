# SPDX-License-Identifier: MIT
"""ChannelProcess: a program with a message channel, from Python."""

import asyncio
import select
import sys

import pytest

import procreact

ECHO = (
    "import os\n"
    "from multiprocessing.connection import Connection\n"
    "c = Connection(int(os.environ['PROCREACT_CHANNEL_FD']))\n"
    "while True:\n"
    "    try:\n"
    "        m = c.recv_bytes()\n"
    "    except EOFError:\n"
    "        break\n"
    "    c.send_bytes(m[::-1])\n"
)


def test_send_recv_and_end():
    with procreact.ChannelProcess([sys.executable, "-c", ECHO]) as p:
        for size in (0, 1, 100, 70000, 3 << 20):
            data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
            p.send(data)
            assert p.recv(timeout=10) == data[::-1]
        p.close_send()  # the echo loop reads the end and exits
        with pytest.raises(EOFError):
            p.recv(timeout=10)
        assert p.wait() == 0


def test_fileno_select_and_timeout():
    with procreact.ChannelProcess([sys.executable, "-c", ECHO]) as p:
        assert isinstance(p.fileno(), int)
        with pytest.raises(TimeoutError):
            p.recv(timeout=0.05)
        assert select.select([p.fileno()], [], [], 0.05)[0] == []
        p.send(b"ping")
        assert select.select([p.fileno()], [], [], 10)[0] == [p.fileno()]
        assert p.recv() == b"gnip"


def test_pickle_helpers_with_child_connection():
    script = (
        "import procreact\n"
        "c = procreact.child_connection()\n"
        "c.send({'got': c.recv()})\n"
    )
    with procreact.ChannelProcess([sys.executable, "-c", script]) as p:
        p.send_obj([1, "two", 3.0])
        assert p.recv_obj(timeout=10) == {"got": [1, "two", 3.0]}
        with pytest.raises(EOFError):
            p.recv(timeout=10)
    assert p.returncode == 0


def test_line_mode_shell():
    script = 'fd=$PROCREACT_CHANNEL_FD; read l <&$fd; echo "re:$l" >&$fd; exit 3'
    with procreact.ChannelProcess(script, shell=True, lines=True) as p:
        p.send(b"hello")
        assert p.recv(timeout=10) == b"re:hello"
        assert p.wait() == 3


def test_messages_sent_before_exit_are_kept():
    script = (
        "import os\n"
        "from multiprocessing.connection import Connection\n"
        "c = Connection(int(os.environ['PROCREACT_CHANNEL_FD']))\n"
        "for i in range(200):\n"
        "    c.send_bytes(b'%d' % i)\n"
    )
    p = procreact.ChannelProcess([sys.executable, "-c", script])
    assert p.wait() == 0  # exited: every message is already read
    assert [p.recv(timeout=0) for _ in range(200)] == [b"%d" % i for i in range(200)]
    with pytest.raises(EOFError):
        p.recv(timeout=0)
    p.close()


def test_asyncio_variants():
    async def main():
        with procreact.ChannelProcess([sys.executable, "-c", ECHO]) as p:
            await p.send_async(b"abc")
            assert await asyncio.wait_for(p.recv_async(), 10) == b"cba"
            p.close_send()
            with pytest.raises(EOFError):
                await asyncio.wait_for(p.recv_async(), 10)
    asyncio.run(main())


def test_missing_program_and_close_kills():
    with pytest.raises(OSError):
        procreact.ChannelProcess(["procreact-no-such-program-xyz"])
    p = procreact.ChannelProcess(["sleep", "30"])
    p.close()  # killed and reaped
    assert p.returncode == -9
    with pytest.raises(ValueError):
        p.recv()
