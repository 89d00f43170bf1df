# SPDX-License-Identifier: MIT
"""Text mode (text, encoding, errors, universal_newlines), next to subprocess.run's."""

import subprocess

import pytest

import procreact

MIXED = ["sh", "-c", r"printf 'a\r\nb\rc\n\303\251\n'; printf 'err\r\n' >&2"]


def both(command, **keywords):
    """procreact.run and subprocess.run of @command, both capturing."""
    return procreact.run(command, **keywords), subprocess.run(command, capture_output=True, **keywords)


@pytest.mark.parametrize("keywords", [{"text": True}, {"universal_newlines": True}, {"encoding": "utf-8"},
                                      {"errors": "strict"}, {"encoding": "latin-1"},
                                      {"encoding": "ascii", "errors": "replace"}])
def test_text_mode_as_subprocess(keywords):
    ours, theirs = both(MIXED, **keywords)
    assert isinstance(ours.stdout, str) and isinstance(ours.stderr, str)
    assert (ours.stdout, ours.stderr) == (theirs.stdout, theirs.stderr)
    assert "\r" not in ours.stdout  # universal newlines, as subprocess


def test_bytes_mode_by_default_and_with_text_false():
    for keywords in ({}, {"text": False}, {"universal_newlines": False}):
        ours, theirs = both(MIXED, **keywords)
        assert ours.stdout == theirs.stdout == b"a\r\nb\rc\n\xc3\xa9\n"


def test_str_input_in_text_mode():
    ours, theirs = both(["cat"], input="h\u00e9llo\n", text=True)
    assert ours.stdout == theirs.stdout == "h\u00e9llo\n"
    ours, theirs = both(["od", "-An", "-tx1"], input="\u00e9", encoding="latin-1")
    assert ours.stdout == theirs.stdout and ours.stdout.split() == ["e9"]


def test_input_type_must_match_the_mode():
    with pytest.raises(TypeError, match="str"):
        procreact.run(["cat"], input=b"bytes", text=True)
    with pytest.raises(TypeError, match="bytes"):
        procreact.run(["cat"], input="str")
    with pytest.raises(TypeError):
        subprocess.run(["cat"], input="str")


def test_text_and_universal_newlines_disagreeing():
    for run in (procreact.run, subprocess.run):
        with pytest.raises(subprocess.SubprocessError, match="disambiguate"):
            run(["true"], text=True, universal_newlines=False)


def test_unknown_encoding_before_anything_runs(tmp_path):
    with pytest.raises(LookupError):
        procreact.run(["touch", str(tmp_path / "ran")], encoding="no-such-encoding")
    assert not (tmp_path / "ran").exists()


def test_undecodable_output_raises_as_subprocess():
    command = ["printf", r"\377"]
    with pytest.raises(UnicodeDecodeError):
        subprocess.run(command, capture_output=True, encoding="utf-8")
    with pytest.raises(UnicodeDecodeError):
        procreact.run(command, encoding="utf-8")
    ours, theirs = both(command, encoding="utf-8", errors="surrogateescape")
    assert ours.stdout == theirs.stdout == "\udcff"


def test_text_mode_in_run_many_and_asyncio(drive):
    for function in ("run_many", "run_async", "run_many_async"):
        r = drive(function, ["sh", "-c", r"printf 'x\r\n'"], text=True)
        assert r.stdout == "x\n", function


def test_text_mode_in_exceptions():
    with pytest.raises(procreact.CalledProcessError) as info:
        procreact.run(["sh", "-c", "echo out; echo err >&2; exit 1"], text=True, check=True)
    assert (info.value.stdout, info.value.stderr) == ("out\n", "err\n")
