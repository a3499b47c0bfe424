"""Summarise a py-spy ``--format raw`` profile (collapsed stacks): the share of samples
spent under each stage of the write path, and the hottest frames.

``python -m bench.profile_summary /tmp/profile-batch.txt``
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

#: (label, substring of a frame): the first match from the leaf upwards... no: any frame
#: in the stack; a sample counts once per label.
STAGES = (
    ("HTTP request parsing (json.loads of the body)", "read_json (api/service/http.py"),
    ("validation (marshmallow Schema.load: envelope, invalid items)", "Schema.load (marshmallow"),
    (
        "validation (compiled item loader, api/service/fast_completion_items.py)",
        "(api/service/fast_completion_items.py",
    ),
    ("batch handler (api/service/writes.py _post_batch, validation included)", "_post_batch (api/service/writes.py"),
    ("answer JSON (json.dumps of 1,000 results)", "answer (api/service/http.py"),
    ("writer: record_completions (whole)", "record_completions (ledger/application.py"),
    ("writer: get_many (providers, existing completions, accounts)", "get_many (ledger/application.py"),
    ("writer: _registered_learners (id set, ids-only query)", "_registered_learners (ledger/application.py"),
    ("writer: _save_new_completions (events.put)", "_save_new_completions (ledger/application.py"),
    ("writer: Application.save (other writes)", "save (eventsourcing/application.py"),
    ("writer: fast_completion.record (aggregate creation)", "record (ledger/fast_completion.py"),
    ("writer: mapper.to_stored_event (JSON encoding of events)", "to_stored_event (eventsourcing"),
    ("writer: LedgerTranscoder.encode (orjson)", "encode (ledger/fast_transcoder.py"),
    ("writer: insert_events (ledger/store.py, binary unnest INSERT)", "insert_events (ledger/store.py"),
    ("writer: insert_events (library's, eventsourcing/postgres.py)", "insert_events (eventsourcing/postgres.py"),
    ("writer: uuid5 ids", "uuid5 (uuid.py"),
    ("projections: decode", "decode (projections/events.py"),
    ("projections: apply_batch", "apply_batch (projections/apply.py"),
    ("projections: hash chain", "link (projections/chain.py"),
    ("projections: whole runner", "projections/runner.py"),
    ("aiohttp server internals", "aiohttp/web_protocol.py"),
    ("auth middleware (token verify)", "verify (api/auth.py"),
    ("event loop idle (select)", "select (selectors.py"),
)


def _function(frame: str) -> str:
    """``name (path:line)`` -> ``name (path)``: one entry per function, not per line."""
    return re.sub(r":\d+\)$", ")", frame)


def main(path: str) -> int:
    total = 0
    stage_counts: Counter[str] = Counter()
    leaf: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for line in Path(path).read_text().splitlines():
        stack, _, count_s = line.rpartition(" ")
        try:
            count = int(count_s)
        except ValueError:
            continue
        total += count
        frames = stack.split(";")
        leaf[frames[-1]] += count
        project = {_function(f) for f in frames if any(f"({d}/" in f for d in ("api", "ledger", "projections"))}
        for frame in project:
            inclusive[frame] += count
        for label, needle in STAGES:
            if any(needle in f for f in frames):
                stage_counts[label] += count
    print(f"{total} samples")
    print("\nshare of samples by stage (a sample may count under several stages):")
    for label, _ in STAGES:
        print(f"  {100 * stage_counts[label] / max(total, 1):5.1f}%  {label}")
    print("\nhottest project frames, inclusive (api/, ledger/, projections/; once per sample):")
    for frame, count in inclusive.most_common(30):
        print(f"  {100 * count / max(total, 1):5.1f}%  {frame}")
    print("\nhottest leaf frames:")
    for frame, count in leaf.most_common(25):
        print(f"  {100 * count / max(total, 1):5.1f}%  {frame}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
