"""The seed answer on the embedded default (the rules) and on the embedded model (per_statement):
first, again and cached; cold start, warm server and cached; and the completion tokens of
quote-first next to a model that writes its quotes out. Run in a fresh process.

    .venv/bin/python benchmarks/bench_answer.py [--json] [--skip-written]

The seed articles (../shared/seed/*.txt) go into a fresh temporary data dir, then the seed question is
asked three times per strategy through the public facade (`open_service(settings).ask`), so this
measures whatever the chain is. With the model: cold (the model server not running: its start is part
of the wall time), warm (the same question again, answer cache off), and cached. The llama.cpp
server runs verbose into a log of its own, from which the prompt tokens it did not have to evaluate
(its prompt cache) are counted: llama-cpp-python's `usage` reports no cached tokens, but its
per-request timings give the prompt tokens it evaluated. Peak RSS is this process's plus the
server's (each one's high-water mark).

The written-quotes comparison sends the answer's candidate statements (the same for both) to the
same model twice, one call each: the quote-first prompt (`batch`, whose schema cites ids) and
`bench_written_quotes`, whose schema asks for every quote as text. Both schemas oblige an answer
(two points or more, an account per side), so that neither abstains in a few tokens.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from pydantic import BaseModel, Field

from service.chain.draft import Citation, DraftSide, Kind
from service.core import open_service
from service.library import load_file
from service.llm import Usage, local, structured
from service.models import Comparison, Statement
from service.settings import Settings

SEED_DIR = Path(__file__).resolve().parents[2] / "shared" / "seed"
QUESTION = "Why did the Istanbul talks between Afghanistan and Pakistan fail, and how does each side tell it?"
MAX_STATEMENTS = 32  # both prompts and up to 2,000 output tokens must fit the 4,096-token context
MAX_TOKENS = 2000
# llama.cpp's per-request timing line: "prompt eval time = 812.34 ms / 57 tokens (...)".
PROMPT_EVAL = re.compile(r"prompt eval time\s*=\s*[\d.]+ ms /\s*(\d+) tokens")


# The two answers of the comparison, alike but for the quotes. Both must answer (a small model may
# otherwise abstain in a few tokens, which measures nothing): at least two points, two accounts each.
class CitedAccount(BaseModel):
    side: str = Field(description="One of the side names.")
    claim: str = Field(description="The side's claim on this point, at most 25 words.")
    citations: list[Citation] = Field(min_length=1, description="The statements that carry the claim.")


class WrittenAccount(BaseModel):
    side: str = Field(description="One of the side names.")
    claim: str = Field(description="The side's claim on this point, at most 25 words.")
    quotes: list[str] = Field(min_length=1, description="The statements that carry it, copied word for word.")


class CitedPoint(BaseModel):
    topic: str = Field(description="The point, in a few words.")
    kind: Kind
    accounts: list[CitedAccount] = Field(min_length=2)


class WrittenPoint(BaseModel):
    topic: str = Field(description="The point, in a few words.")
    kind: Kind
    accounts: list[WrittenAccount] = Field(min_length=2)


class CitedDraft(BaseModel):
    """A Draft (quote-first: statements cited by id) that must answer."""

    answerable: Literal[True]
    reason: str = ""
    sides: list[DraftSide] = Field(min_length=2)
    points: list[CitedPoint] = Field(min_length=2)


class WrittenDraft(BaseModel):
    """The same answer with every quote written out instead of cited by id."""

    answerable: Literal[True]
    reason: str = ""
    sides: list[DraftSide] = Field(min_length=2)
    points: list[WrittenPoint] = Field(min_length=2)


def peak_rss_mb(pid: int | str = "self") -> float:
    """A process's peak resident set (VmHWM), in MB; 0 when it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    found = re.search(r"^VmHWM:\s+(\d+) kB", status, flags=re.MULTILINE)
    return int(found.group(1)) / 1024 if found else 0.0


def running_server() -> local.LocalServer | None:
    """The embedded model server this process started, if any."""
    return next((s for s in local._servers.values() if s.process is not None), None)


def server_pid() -> int | None:
    server = running_server()
    return server.process.pid if server is not None and server.process is not None else None


def evaluated_tokens(log: Path, offset: int) -> tuple[int, int]:
    """(prompt tokens the server evaluated, requests timed) in its log after `offset`."""
    if not log.exists():
        return 0, 0
    with log.open("rb") as f:
        f.seek(offset)
        text = f.read().decode("utf-8", "replace")
    counts = [int(n) for n in PROMPT_EVAL.findall(text)]
    return sum(counts), len(counts)


def private_model_dir(root: Path, settings: Settings) -> Path:
    """A model dir of our own (so the server log is ours alone) that links to the joined model."""
    spec = local.MODELS[settings.local_model]
    source = local.ensure_model(settings, spec)
    root.mkdir(parents=True, exist_ok=True)
    for name in (spec.filename, spec.filename + ".verified"):
        (root / name).symlink_to(source.with_name(name))
    return root


def one_answer(service: Any, label: str, use_cache: bool, log: Path) -> dict[str, Any]:
    """Ask the seed question once; wall time, calls, tokens and the server's prompt-cache hits."""
    offset = log.stat().st_size if log.exists() else 0
    started = time.perf_counter()
    answer: Comparison = service.ask(QUESTION, use_cache=use_cache)
    wall = time.perf_counter() - started
    evaluated, timed = evaluated_tokens(log, offset)
    s = answer.stats
    spent = not s.cached  # a cached answer carries the stats of the run that made it
    pid = server_pid()
    return {
        "label": label,
        "wall_s": wall,
        "calls": s.llm_calls if spent else 0,
        "prompt_tokens": s.prompt_tokens if spent else 0,
        "cached_prompt_tokens": max(s.prompt_tokens - evaluated, 0) if timed and spent else None,
        "completion_tokens": s.completion_tokens if spent else 0,
        "peak_rss_mb": peak_rss_mb() + (peak_rss_mb(pid) if pid else 0.0),
        "cached_answer": s.cached,
        "points": len(answer.points),
        "sides": [side.name for side in answer.sides],
        "answer": answer,
    }


def statements_of(service: Any, answer: Comparison) -> list[Statement]:
    """The answer's candidate statements, numbered as the chain numbers them."""
    texts = {d: service.document(d).text for d in {c.doc for c in answer.candidates}}
    picked = answer.candidates[:MAX_STATEMENTS]
    return [
        Statement(sid=f"S{i}", doc_id=c.doc, start=c.start, end=c.end, text=texts[c.doc][c.start : c.end])
        for i, c in enumerate(picked, 1)
    ]


def written_vs_cited(service: Any, statements: list[Statement]) -> dict[str, Any]:
    """Completion tokens of the same one-call task, quotes cited by id vs written out, and how many
    points and quotes each answer holds (the model decides: the two answers are not the same size)."""
    out: dict[str, Any] = {"statements": len(statements)}
    backend = service.backend()
    pairs = (("cited", CitedDraft, "batch"), ("written", WrittenDraft, "bench_written_quotes"))
    for name, schema, prompt in pairs:
        usage = Usage()
        started = time.perf_counter()
        got = structured(
            backend, schema, prompt, usage, max_tokens=MAX_TOKENS, question=QUESTION, statements=statements
        )
        accounts = [a for p in got.points for a in p.accounts]
        quotes = sum(len(getattr(a, "citations", None) or getattr(a, "quotes", [])) for a in accounts)
        out[name] = {"calls": usage.calls, "completion_tokens": usage.completion_tokens,
                     "prompt_tokens": usage.prompt_tokens, "wall_s": time.perf_counter() - started,
                     "points": len(got.points), "quotes": quotes}  # fmt: skip
    return out


def written_out(service: Any, answer: Comparison) -> dict[str, Any]:
    """The chain's own answer (quote-first) and the same answer with each quote written out as a JSON
    string: its completion tokens plus the quotes' tokens, counted by the model server's tokenizer."""
    server = running_server()
    if server is None:  # another backend: no tokenizer to ask
        return {"completion_tokens": answer.stats.completion_tokens, "quotes": len(answer.quotes())}
    base = server.base_url.removesuffix("/v1")
    count = 0
    for quote in answer.quotes():
        reply = httpx.post(
            f"{base}/extras/tokenize/count", json={"input": json.dumps(quote.text)}, timeout=60
        )
        count += int(reply.json()["count"])
    return {"completion_tokens": answer.stats.completion_tokens, "quotes": len(answer.quotes()),
            "quote_tokens": count}  # fmt: skip


def guarded(failed: dict[str, str], part: str, run: Callable[[], None]) -> None:
    """Run one part of the measurement; a failure is noted under `part` (its row says why) and the
    parts after it still run, so one failed model call does not lose the numbers already taken."""
    try:
        run()
    except Exception as exc:  # any failure of a part is reported in the table, never the whole run's end
        traceback.print_exc(file=sys.stderr)
        failed[part] = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]


def quotes(service: Any, answer: Comparison) -> dict[str, Any]:
    """Quote-first next to written-out quotes, one call each, and the chain's answer written out."""
    out = written_vs_cited(service, statements_of(service, answer))
    out["chain"] = written_out(service, answer)
    return out


def measure(skip_written: bool = False, backend: str = "local") -> dict[str, Any]:
    """The whole measurement, in this process (run it in a fresh one); failed parts are in "failed"."""
    seeds = sorted(SEED_DIR.glob("*.txt"))
    if not seeds:
        raise SystemExit(f"no seed articles in {SEED_DIR}")
    local.SERVER_VERBOSE = True
    with tempfile.TemporaryDirectory(prefix="cp-bench-answer-") as tmp:
        root = Path(tmp)
        base = Settings(backend=backend, data_dir=root / "data", chroma_host=None)
        settings = base.model_copy(update={"model_dir": private_model_dir(root / "models", base)})
        log = settings.model_dir / "llama-server.log"
        failed: dict[str, str] = {}
        result: dict[str, Any] = {"seeds": len(seeds), "backend": backend, "failed": failed}
        runs: list[dict[str, Any]] = []
        # The default first (the rules, no model), then the model's wording (per_statement).
        default = settings.model_copy(update={"strategy": "auto"})
        with open_service(default) as service:
            started = time.perf_counter()
            for path in seeds:
                service.ingest(load_file(path, settings))
            result["ingest_s"] = time.perf_counter() - started
            result["default_strategy"] = service.backend_info().strategy

            def default_runs() -> None:
                runs.append(one_answer(service, "default, first", False, log))
                runs.append(one_answer(service, "default, again", False, log))
                runs.append(one_answer(service, "default, cached", True, log))

            guarded(failed, "default", default_runs)
        model = settings.model_copy(update={"strategy": "per_statement"})
        with open_service(model) as service:

            def model_runs() -> None:
                assert service.model_state() in ("off", ""), "the model server must not be running yet"
                runs.append(one_answer(service, "model, cold", False, log))
                runs.append(one_answer(service, "model, warm", False, log))
                runs.append(one_answer(service, "model, cached", True, log))

            guarded(failed, "model", model_runs)
            warm = next((r["answer"] for r in runs if r["label"] == "model, warm"), None)
            if not skip_written and warm is not None:
                guarded(failed, "quotes", lambda: result.update(quotes=quotes(service, warm)))
            pid = server_pid()
            result["peak_rss_mb"] = peak_rss_mb() + (peak_rss_mb(pid) if pid else 0.0)
            result["server_rss_mb"] = peak_rss_mb(pid) if pid else 0.0
        for run in runs:
            run.pop("answer")
        result["runs"] = runs
    return result


def main() -> None:
    """Print the measurement (JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--skip-written", action="store_true", help="skip the written-quotes comparison")
    parser.add_argument("--backend", default="local", help="local (default), openai, compatible or fake")
    args = parser.parse_args()
    result = measure(args.skip_written, args.backend)
    if args.json:
        print(json.dumps(result))
        return
    for run in result["runs"]:
        print({k: v for k, v in run.items()})
    print({k: v for k, v in result.items() if k != "runs"})


if __name__ == "__main__":
    main()
