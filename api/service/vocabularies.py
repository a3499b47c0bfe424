"""Vocabulary endpoints: publish a jurisdiction's vocabulary version, list the codes in
force in a jurisdiction.

Invariants:
- publishing runs on the writer thread and decides on the documents loaded there
  (``ledger.vocabulary_commands``); the same content again answers 200 ``duplicate``;
- the listing is the read model's, at the position it answers for, computed by the same
  rule the ledger checks codes with; ``as_of=D`` answers the vocabulary in force on D as
  known at the end of D (``on`` defaults to that day);
- beside the ledger's codes it lists the words the service answers in: ``problem`` (every
  problem code's title, ``api.service.problem_labels``) and ``column`` (the headers of the
  CSV and xlsx exports, ``api.service.spreadsheet``) and the codes of its own the exports
  write in cells (``spreadsheet.CELLS``: ``posting_status``, ``audit_section``), so a client
  labels everything from one answer.
"""

from __future__ import annotations

from aiohttp import web

from api.service import spreadsheet
from api.service.context import services
from api.service.http import answer, load_body, load_query, resolve_position, run_in_writer
from api.service.problem_labels import problem_labels
from api.service.vocabulary_schemas import vocabulary_doc_schema, vocabulary_query_schema
from api.service.writes import answer_written
from ledger.vocabulary import NATIONAL
from ledger.vocabulary_commands import publish_vocabulary
from projections.vocabularies import vocabulary_in_force


async def post_vocabulary(request: web.Request) -> web.Response:
    data = await load_body(request, vocabulary_doc_schema)
    result = await run_in_writer(request, lambda bank: publish_vocabulary(bank, data))
    return answer_written(result)


async def get_vocabulary(request: web.Request) -> web.Response:
    query = load_query(request, vocabulary_query_schema)
    on = query.get("on") or query.get("as_of") or services(request).today()
    async with services(request).reads.acquire() as conn:
        position = await resolve_position(conn, request, query)
        codes = await vocabulary_in_force(conn, query["jurisdiction"], on, position)
    words = (("problem", problem_labels()), ("column", spreadsheet.COLUMNS), *spreadsheet.CELLS.items())
    for field, labels in words:
        codes[field] = {code: {"zh": lab.zh, "en": lab.en, "source": NATIONAL} for code, lab in labels.items()}
    return answer({"jurisdiction": query["jurisdiction"], "on": on.isoformat(), "codes": codes, "position": position})
