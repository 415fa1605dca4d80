"""The hostile inputs of tests/test_fuzz_inputs.py, and the process that feeds them to the CLI.

Usage: fuzz_worker.py intake|pack WORK_DIR PACK_DIR

Runs every input through ``tsunagu route`` (intake files) or ``tsunagu validate`` and then
``tsunagu route`` on the mutated pack (pack mutations), each within 10 s of CPU time, inside this
one process, and prints one JSON object: the outcome of each input and the process's peak
resident memory (``VmHWM`` of its own memory map). A separate process, so the peak is the
inputs' alone and not the test runner's (``ru_maxrss`` is not: Linux carries the parent's
resident size at the fork over the exec, and a long test run's pytest passed 500 MB); its address space is capped (``RLIMIT_AS``) so a bomb that got
through fails the run instead of taking the machine down.
"""
from __future__ import annotations

import contextlib
import io
import json
import random
import re
import resource
import shutil
import signal
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import yaml  # noqa: E402

ADDRESS_SPACE_CAP = 3 * 1024 ** 3     # a safety net only; the test asserts on peak RSS (< 500 MB)
SECONDS = 10


def valid_case(pack_dir: Path) -> dict:
    """A case the pack routes: the first scenario's (the pack's own vocabulary and form)."""
    first = sorted((pack_dir / "scenarios").glob("*.yaml"))[0]
    return yaml.safe_load(first.read_text(encoding="utf-8"))["case"]


def _bomb(levels: int = 9) -> str:
    text = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for i in range(1, levels):
        prev, name = chr(ord("a") + i - 1), chr(ord("a") + i)
        text += f"{name}: &{name} [{', '.join(['*' + prev] * 9)}]\n"
    return text


def hostile_intakes(valid: dict) -> list[tuple[str, bytes]]:
    """(file name, bytes): every one must be refused cleanly or routed correctly."""
    valid_json = json.dumps(valid, ensure_ascii=False)
    person_key = next((k for k, v in valid.items() if isinstance(v, dict)), "person")
    person = valid.get(person_key) or {}
    files = [
        ("deep.json", b"[" * 100_000 + b"]" * 100_000),
        ("deep_obj.json", b'{"a":' * 50_000 + b"1" + b"}" * 50_000),
        ("deep.yaml", b"a: " + b"[" * 10_000 + b"]" * 10_000),
        ("deep_block.yaml", "".join(f"{' ' * i}k{i}:\n" for i in range(200)).encode()),
        ("digits.yaml", f"{person_key}: {{age: ".encode() + b"9" * 5000 + b"}\n"),
        ("digits.json", f'{{"{person_key}": {{"age": '.encode() + b"9" * 5000 + b"}}"),
        ("float_digits.json", f'{{"{person_key}": {{"age": 1.'.encode() + b"0" * 5000 + b"}}"),
        ("exponent.yaml", f"{person_key}: {{age: 1e999999}}\n".encode()),
        ("bomb.yaml", _bomb().encode()),
        ("bomb_in_case.yaml", (_bomb(6) + yaml.safe_dump(valid, allow_unicode=True)).encode()),
        ("anchor_only.yaml", f"{person_key}: &p {{age: 80}}\n".encode()),
        ("merge_key.yaml", f"base: &b {{age: 1}}\n{person_key}:\n  <<: *b\n".encode()),
        ("huge.yaml", b"summary: '" + b"x" * 1_200_000 + b"'\n"),
        ("huge_lines.json", b"\n" * 2_000_000),
        ("bom.json", b"\xef\xbb\xbf" + valid_json.encode()),
        ("bom.yaml", b"\xef\xbb\xbf" + yaml.safe_dump(valid, allow_unicode=True).encode()),
        ("latin1.yaml", "summary: 'caf\xe9'\n".encode("latin-1")),
        ("invalid_utf8.json", b'{"summary": "\xff\xfe"}'),
        ("utf16.json", valid_json.encode("utf-16")),
        ("empty.yaml", b""),
        ("empty.json", b""),
        ("null.yaml", b"null\n"),
        ("list.yaml", b"- 1\n- 2\n"),
        ("scalar.json", b"42"),
        ("string.json", b'"case"'),
        ("braces.json", b"{}"),
        ("braces.yaml", b"{}\n"),
        ("tabs.yaml", f"{person_key}:\n\tage: 3\n".encode()),
        ("unclosed.yaml", f"{person_key}: {{age: 3\n".encode()),
        ("unclosed.json", f'{{"{person_key}": {{"age": 3}}'.encode()),
        ("python_tag.yaml", f"{person_key}: !!python/object/apply:os.system ['echo hi']\n".encode()),
        ("binary_tag.yaml", f"{person_key}: !!binary aGVsbG8=\n".encode()),
        ("set_tag.yaml", f"{person_key}: !!set {{a, b}}\n".encode()),
        ("timestamp.yaml", b"received_on: 2026-13-45T99:99:99\n"),
        ("nan.json", f'{{"{person_key}": {{"age": NaN}}}}'.encode()),
        ("infinity.json", f'{{"{person_key}": {{"age": Infinity}}}}'.encode()),
        ("nul_bytes.yaml", b"summary: \x00\x00\n"),
        ("control.yaml", b"summary: \"\\x07\\x1b[31m\"\n"),
        ("surrogate.json", b'{"summary": "\\ud800"}'),
        ("dup_keys.json", f'{{"{person_key}": 1, "{person_key}": 2}}'.encode()),
        ("dup_keys.yaml", f"{person_key}: 1\n{person_key}: 2\n".encode()),
        ("bool_keys.yaml", b"true: 1\n1: 2\n"),
        ("many_rows.yaml", ("household:\n" + "  - {relation: 長男, age: 52}\n" * 500).encode()),
        ("long_list.json", json.dumps({**valid, "household": [{"relation": "長男"}] * 20_000}).encode()),
        ("many_keys.json", json.dumps({**valid, **{f"k{i}": i for i in range(50_000)}}).encode()),
    ]
    # Wrong types and values in every top-level field of a valid case.
    for key in dict.fromkeys([*valid, "household", "summary"]):
        for bad in (None, [], {}, "x" * 300, -1, 10**15, True, [[[]]], {"a": {"b": {}}}):
            files.append((f"bad_{key}_{type(bad).__name__}_{len(files)}.json",
                          json.dumps({**valid, key: bad}, ensure_ascii=False).encode()))
    for key, value in (("age", -5), ("age", 500), ("age", "八十"), ("age", 1.5), ("concerns", ["nope"]),
                       ("concerns", "care_need"), ("name", {"$ne": 1}), ("age", None), ("age", "9" * 30), ("age", "9" * 5000)):
        files.append((f"person_{key}_{len(files)}.json",
                      json.dumps({**valid, person_key: {**person, key: value}}, ensure_ascii=False).encode()))
    rng = random.Random(2026)
    base = valid_json.encode()
    for i in range(12):                      # random byte flips of a valid file
        raw = bytearray(base)
        for _ in range(rng.randint(1, 4)):
            raw[rng.randrange(len(raw))] = rng.randrange(256)
        files.append((f"flipped_{i}.json", bytes(raw)))
    return files


def pack_mutations(source: Path) -> list[tuple[str, str, bytes]]:
    """(label, file, new bytes): one change of one file of the pack (its configuration files;
    scenarios only test the pack and are left alone)."""
    rng = random.Random(14)
    names = sorted(p.relative_to(source).as_posix() for p in source.rglob("*.yaml")
                   if not p.relative_to(source).as_posix().startswith("scenarios/"))
    out = []
    for name in names:
        text = (source / name).read_bytes()
        lines = text.split(b"\n")
        out += [
            (f"{name}: emptied", name, b""),
            (f"{name}: alias bomb appended", name, text + b"\n" + _bomb().encode()),
            (f"{name}: cut in half", name, text[: len(text) // 2]),
            (f"{name}: BOM", name, b"\xef\xbb\xbf" + text),
            (f"{name}: invalid UTF-8", name, text + b"\n# \xff\xfe\n"),
        ]
        for _ in range(2):
            i = rng.randrange(len(lines))
            out.append((f"{name}: line {i + 1} deleted", name, b"\n".join(lines[:i] + lines[i + 1:])))
        i = rng.randrange(len(lines))
        out.append((f"{name}: line {i + 1} doubled", name, b"\n".join(lines[: i + 1] + lines[i:])))
        out.append((f"{name}: tab in line {i + 1}", name, b"\n".join(lines[:i] + [b"\t" + lines[i]] + lines[i + 1:])))
    rules = (source / "rules.yaml").read_bytes()
    deep_not = b"".join([b"not: {"] * 800) + b"fact: resident, op: '=', value: true" + b"}" * 800
    out += [
        ("rules.yaml: a not nested 800 deep", "rules.yaml", rules + b"\n# deep\nextra: {" + deep_not + b"}\n"),
        ("rules.yaml: a 5000-digit value", "rules.yaml", _first_number(rules, b"9" * 5000)),
        ("rules.yaml: over 1 MB", "rules.yaml", rules + b"\n" + b"#" * 1_100_000 + b"\n"),
        ("rules.yaml: anchor reused", "rules.yaml", rules + b"\nx: &a [1]\ny: *a\n"),
        ("pack.yaml: a 30-digit number", "pack.yaml", (source / "pack.yaml").read_bytes() + b"\nextra: " + b"1" * 30 + b"\n"),
    ]
    return out


def _first_number(text: bytes, digits: bytes) -> bytes:
    """``text`` with the first number a rule compares with (outside comments) replaced by ``digits``."""
    lines = text.split(b"\n")
    for i, line in enumerate(lines):
        if not line.lstrip().startswith(b"#") and re.search(rb"value: \d+", line):
            lines[i] = re.sub(rb"value: \d+", b"value: " + digits, line, count=1)
            return b"\n".join(lines)
    raise AssertionError("no rule compares with a number")


@contextlib.contextmanager
def deadline(seconds: int, what: str):
    """At most ``seconds`` of this process's CPU time (a loop that never ends), and a wall-clock
    backstop six times longer (a wait that never ends). CPU time, not wall time, is the measure:
    on a loaded machine an input that needs 2 s of CPU can take 20 s of wall time, and is no hang."""
    def expired(*_):
        raise TimeoutError(f"{what}: no answer within {seconds} s")
    old = {sig: signal.signal(sig, expired) for sig in (signal.SIGALRM, signal.SIGVTALRM)}
    signal.setitimer(signal.ITIMER_VIRTUAL, seconds)
    signal.alarm(seconds * 6)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_VIRTUAL, 0)
        signal.alarm(0)
        for sig, handler in old.items():
            signal.signal(sig, handler)


def run_cli(argv: list[str], what: str) -> dict:
    """Exit code and output of ``tsunagu ARGV`` in this process; an exception is a traceback.
    ``seconds`` is the CPU time it took (see ``deadline``)."""
    from engine.cli import main
    out, err = io.StringIO(), io.StringIO()
    start = time.process_time()
    try:
        with deadline(SECONDS, what), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    except BaseException:                  # noqa: BLE001 - any escape is what the test reports
        code, err = None, io.StringIO(err.getvalue() + traceback.format_exc())
    return {"code": code, "out": out.getvalue(), "err": err.getvalue(), "seconds": round(time.process_time() - start, 2)}


def intake(work: Path, pack_dir: Path) -> list[dict]:
    results = []
    for name, raw in hostile_intakes(valid_case(pack_dir)):
        path = work / name
        path.write_bytes(raw)
        results.append({"name": name, **run_cli(["route", str(path), "--config", str(pack_dir)], name)})
        path.unlink()
    return results


def pack(work: Path, pack_dir: Path) -> list[dict]:
    case = work / "case.json"
    case.write_text(json.dumps(valid_case(pack_dir), ensure_ascii=False), encoding="utf-8")
    results = []
    for i, (label, name, raw) in enumerate(pack_mutations(pack_dir)):
        target = work / f"m{i}"
        shutil.copytree(pack_dir, target)
        (target / name).write_bytes(raw)
        result = {"name": label, **run_cli(["validate", "--config", str(target)], label)}
        if result["code"] == 0:           # a pack that loads must also route
            result["route"] = run_cli(["route", str(case), "--config", str(target)], label + " (route)")
        results.append(result)
        shutil.rmtree(target)
    return results


def _own_peak_kb() -> int:
    """The peak resident size of this process's memory map since the exec, in kB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise SystemExit("/proc/self/status has no VmHWM: the peak memory cannot be measured here")


def main() -> None:
    mode, work, pack_dir = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_CAP, ADDRESS_SPACE_CAP))
    results = {"intake": intake, "pack": pack}[mode](work, pack_dir)
    peak = _own_peak_kb() / 1024
    print(json.dumps({"results": results, "peak_mb": round(peak, 1)}, ensure_ascii=False))


if __name__ == "__main__":
    main()
