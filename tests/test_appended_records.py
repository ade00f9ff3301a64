"""What is appended to a record file is read alone, and gives exactly what a whole read gives.

An issuer's CI mostly appends a few awards to a big CSV or JSON Lines export; the record
cache then reads only the bytes after the version it cached. Here random files are grown,
edited and cut, version after version, and each version loaded through the cache is
compared with a whole read of the same bytes: the same credentials, record digests and
problems (file, line, field, message), in the same order. Pieces that would break a
careless tail reader are among the random ones: cells over several lines, a quoted cell
left open at the end of a version, a version that does not end a line, CRLF and CR line
ends (and "\\r" then "\\n" across the cut), a byte order mark, bytes that are not UTF-8,
a NUL, duplicate IDs across the old part and the new, rows with the wrong number of cells.
"""

from __future__ import annotations

import json
import random

import pytest

from sitegen.load import record_cache
from sitegen.load.config import load_site
from sitegen.load.record_cache import load_credentials
from test_records_load import record

VERSIONS = 5  # per random file: the first, then four changes


def csv_row(fields: dict) -> str:
    return ",".join(_csv_cell(value) for value in fields.values()) + "\n"


def _csv_cell(value: str) -> str:
    if any(c in value for c in ',"\n\r'):
        return '"' + value.replace('"', '""') + '"'
    return value


HEADER = ",".join(record(0)) + "\n"


def csv_piece(rng: random.Random, n: int) -> tuple[str, bool | None]:
    """Some text of a CSV file, and whether a reader is at the start of a record after it
    (None: not known from here on, a quote may be open)."""
    kind = rng.randrange(12)
    if kind == 0:
        return csv_row(record(n, status="gone")), True
    if kind == 1:
        return csv_row(record(rng.randrange(n + 1))), True  # often an ID already used
    if kind == 2:
        return csv_row(record(n, full_name=rng.choice(["Ana\nLee", "Ana\r\nLee", "Ana\rLee"]))), True
    if kind == 3:
        return csv_row(record(n, full_name='Ana "Lee", Jr')), True
    if kind == 4:
        return rng.choice(["\n", ",,,,,,,\n", "  \n"]), True
    if kind == 5:
        return "a,b\n", True  # too few cells
    if kind == 6:
        return csv_row(record(n, full_name='Ana"Lee')), True  # a quote inside a cell not quoted
    if kind == 7:  # a quoted cell left open: what follows is inside it
        return csv_row(record(n)).rstrip("\n") + ',"Ana\n', None
    if kind == 8:  # a row whose line is not ended
        return csv_row(record(n)).rstrip("\n"), False
    if kind == 9:
        return f'{record(n)["uuid"]},a"b,"c\n', None  # the stray quote is a character, the second opens a cell
    return csv_row(record(n)), True


def jsonl_piece(rng: random.Random, n: int) -> tuple[str, bool | None]:
    kind = rng.randrange(10)
    if kind == 0:
        return json.dumps(record(n, status="gone")) + "\n", True
    if kind == 1:
        return json.dumps(record(rng.randrange(n + 1))) + "\n", True
    if kind == 2:
        return json.dumps(record(n, full_name="Ana\u2028Lee"), ensure_ascii=False) + "\n", True
    if kind == 3:
        return '{"uuid": \n', True
    if kind == 4:
        return rng.choice(["\n", "  \t\n", "[1, 2]\n"]), True
    if kind == 5:
        return json.dumps(record(n)), False  # a line not ended
    return json.dumps(record(n), ensure_ascii=False) + "\n", True


FORMATS = {"csv": (HEADER, csv_piece), "jsonl": ("", jsonl_piece)}


class RandomFile:
    """Versions of one record file, each made from the last by a random change."""

    def __init__(self, suffix: str, seed: int):
        self.rng = random.Random(seed)
        self.start, self.piece = FORMATS[suffix]
        self.line_end = self.rng.choice(["\n", "\r\n", "\r"] if suffix == "csv" else ["\n", "\r\n"])
        self.n = 0
        self.known = True  # the reader's state at the end of the file can be told from its pieces
        bom = "\ufeff" if self.rng.random() < 0.2 else ""
        self.data, self.at_a_record = (bom + self.start).encode(), True
        self.data += self.pieces(self.rng.randrange(4))

    def pieces(self, count: int) -> bytes:
        text = ""
        for _ in range(count):
            self.n += 1
            piece, clean = self.piece(self.rng, self.n)
            line_end = self.line_end if self.rng.random() < 0.8 else self.rng.choice(["\n", "\r\n", "\r"])
            if self.start == "":  # JSON Lines ends lines at "\n" only: a "\r" alone is inside a line
                line_end = line_end if line_end != "\r" else "\n"
            text += piece.replace("\n", line_end)
            self.known = self.known and clean is not None
            self.at_a_record = bool(clean)
        data = text.encode()
        if self.rng.random() < 0.1:
            odd = self.rng.choice([b"\xff\xfe", b"\x00", "\ufeff".encode()])
            self.known = self.known and odd != b"\xff\xfe"  # a whole read stops there
            data = odd + data
        return data

    def change(self) -> tuple[bytes, bool]:
        """The next version, and whether its new bytes must be read alone."""
        before = self.data
        resumable = self.known and self.at_a_record and self._ends_a_line(before)
        kind = self.rng.randrange(6)
        if kind <= 1 and before:  # cut anywhere, even inside a character; then perhaps a line added
            self.data = before[:self.rng.randrange(len(before))] + (self.pieces(1) if kind else b"")
            self.known = False
        else:
            self.data = before + self.pieces(self.rng.randrange(1, 4))
        added = self.data[len(before):]
        alone = (resumable and self.data.startswith(before) and len(added) > 0 and _utf8(added)
                 and not (before.endswith(b"\r") and added.startswith(b"\n")))
        return self.data, alone

    def _ends_a_line(self, data: bytes) -> bool:
        return data.endswith(b"\n") or (self.start != "" and data.endswith(b"\r"))


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def loaded_facts(loaded) -> tuple:
    problems = [(p.file, p.line, p.field, p.message) for p in loaded.problems]
    return loaded.credentials, loaded.record_digests, problems


@pytest.mark.parametrize("suffix", FORMATS)
def test_what_is_appended_is_read_alone_and_as_a_whole_read_reads_it(sample_site, tmp_path, monkeypatch, suffix):
    site = load_site(sample_site)
    path = sample_site / "credentials_data" / f"stream.{suffix}"
    whole_reads = []  # the files the cache reads whole
    read_records = record_cache.read_records
    monkeypatch.setattr(record_cache, "read_records", lambda p, *args: whole_reads.append(p.name) or
                        read_records(p, *args))
    read_alone = 0
    for seed in range(100):
        out = tmp_path / f"out-{seed}"
        file = RandomFile(suffix, seed)
        versions = [file.data]
        for version in range(VERSIONS):
            data, alone = (file.data, False) if version == 0 else file.change()
            versions.append(data)
            path.write_bytes(data)
            whole_reads.clear()
            through_cache = load_credentials(site, out)
            through_cache.save_cache()
            if alone:
                assert path.name not in whole_reads, (seed, versions)
                read_alone += 1
            assert loaded_facts(through_cache) == loaded_facts(load_credentials(site, None)), (seed, versions)
    assert read_alone > 50  # the random changes did append, many times


ROW_1, ROW_2 = csv_row(record(1)), csv_row(record(2))

TOO_LONG = csv_row(record(3, full_name="x" * 200_000))  # past the csv module's limit: the reading stops

# name: (the cached version, the bytes appended to it, whether they can be read alone)
EDGES = {
    "CSV: rows appended": (HEADER + ROW_1, ROW_2, True),
    "CSV: CR line ends, then a line feed first (with the CR, one line end)": (
        (HEADER + ROW_1).replace("\n", "\r"), "\n" + ROW_2, False),
    "CSV: CR line ends, rows appended": ((HEADER + ROW_1).replace("\n", "\r"), ROW_2.replace("\n", "\r"), True),
    "CSV: CRLF, a cell over lines appended": (
        (HEADER + ROW_1).replace("\n", "\r\n"), csv_row(record(2, full_name="Ana\r\nLee")) + ROW_2, True),
    "CSV: a quoted cell left open, closed by what is appended": (
        HEADER + ROW_1.rstrip("\n") + ',"Ana\n', 'Lee"\n' + ROW_2, False),
    "CSV: a line not ended, then the rest of it": (HEADER + ROW_1.rstrip("\n"), ",x\n" + ROW_2, False),
    "CSV: the old part's IDs again, a row too short": (HEADER + ROW_1 + ROW_2, ROW_1 + "a,b\n" + ROW_2, True),
    "CSV: a byte order mark first in the file, and first in what is appended": (
        "\ufeff" + HEADER + ROW_1, "\ufeff" + ROW_2, True),
    "CSV: the header only, then rows": (HEADER, ROW_1 + ROW_2, True),
    "CSV: NULs": (HEADER + ROW_1.replace("Ana", "A\0na"), ROW_2.replace("Ana", "A\0na"), True),
    "CSV: a cell too long in the old part": (HEADER + ROW_1 + TOO_LONG, ROW_2, False),
    "CSV: a cell too long in what is appended": (HEADER + ROW_1, ROW_2 + TOO_LONG + ROW_1, True),
    "JSON Lines: CRLF, a line appended": (json.dumps(record(1)) + "\r\n", json.dumps(record(2)) + "\r\n", True),
    "JSON Lines: a line not ended, then the rest of it": (json.dumps(record(1))[:-1], "}\n", False),
}


@pytest.mark.parametrize("case", EDGES.values(), ids=EDGES.keys())
def test_an_append_at_an_edge_is_read_as_a_whole_read_reads_it(sample_site, tmp_path, monkeypatch, case):
    before, added, alone = case
    site = load_site(sample_site)
    path = sample_site / "credentials_data" / ("stream.jsonl" if before.startswith("{") else "stream.csv")
    path.write_bytes(before.encode())
    load_credentials(site, tmp_path).save_cache()
    path.write_bytes((before + added).encode())
    whole_reads = []
    read_records = record_cache.read_records
    monkeypatch.setattr(record_cache, "read_records", lambda p, *args: whole_reads.append(p.name) or
                        read_records(p, *args))
    through_cache = load_credentials(site, tmp_path)
    assert (path.name not in whole_reads) == alone
    monkeypatch.undo()
    assert loaded_facts(through_cache) == loaded_facts(load_credentials(site, None))


def test_a_crafted_index_only_makes_the_file_read_whole(sample_site, tmp_path):
    site = load_site(sample_site)
    path = sample_site / "credentials_data" / "stream.csv"
    path.write_text(HEADER + csv_row(record(1)) + csv_row(record(2)), encoding="utf-8")
    load_credentials(site, tmp_path).save_cache()
    index = tmp_path / ".sitegen/records" / record_cache.INDEX_FILE
    lengths = json.loads(index.read_text(encoding="utf-8"))
    assert lengths["credentials_data/stream.csv"] == path.stat().st_size
    mallory = "Mallory Mallorysson"  # as many bytes as the name it replaces: the first bytes end a line as before
    assert len(mallory.encode()) == len(record(1)["full_name"].encode())
    path.write_text(HEADER + csv_row(record(1, full_name=mallory)) + csv_row(record(2)) + csv_row(record(3)),
                    encoding="utf-8")  # not an append: the first bytes are others
    for crafted in (lengths, {"credentials_data/stream.csv": -1}, {"credentials_data/stream.csv": True},
                    {"credentials_data/stream.csv": 10**12}, ["not", "a", "mapping"]):
        index.write_text(json.dumps(crafted), encoding="utf-8")
        loaded = load_credentials(site, tmp_path)
        assert loaded_facts(loaded) == loaded_facts(load_credentials(site, None))
        assert mallory in [c.full_name for c in loaded.credentials]


def test_a_file_appended_to_many_times_is_read_from_a_chain_of_entries_never_too_long(sample_site, tmp_path):
    site = load_site(sample_site)
    path = sample_site / "credentials_data" / "stream.csv"
    path.write_text(HEADER + ROW_1, encoding="utf-8")
    cache = tmp_path / ".sitegen/records"
    others = len(list((sample_site / "credentials_data").iterdir())) - 1
    chain_lengths = []
    for n in range(2, 2 * record_cache.MAX_LINKS + 5):
        with path.open("a", encoding="utf-8") as handle:
            handle.write(csv_row(record(n, status="gone" if n % 5 == 0 else "awarded")))
        loaded = load_credentials(site, tmp_path)
        loaded.save_cache()
        assert loaded_facts(loaded) == loaded_facts(load_credentials(site, None))
        again = load_credentials(site, tmp_path)  # every entry of the chain kept: nothing read again
        assert not again.new_entries and loaded_facts(again) == loaded_facts(loaded)
        entries = [entry for entry in cache.iterdir() if entry.name != record_cache.INDEX_FILE]
        chain_lengths.append(len(entries) - others)
    # The first version read whole; each append one more entry; at the limit, the whole file's entry again.
    assert chain_lengths == [1 + n % record_cache.MAX_LINKS for n in range(len(chain_lengths))]


@pytest.mark.parametrize("appended_to", ["a path up", "a path from the root", "itself", 7, "f" * 64])
def test_a_crafted_chain_of_entries_only_makes_the_file_read_whole(sample_site, tmp_path, appended_to):
    site = load_site(sample_site)
    path = sample_site / "credentials_data" / "stream.csv"
    path.write_text(HEADER + ROW_1, encoding="utf-8")
    first = load_credentials(site, tmp_path)
    first.save_cache()
    path.write_text(HEADER + ROW_1 + ROW_2, encoding="utf-8")
    grown = load_credentials(site, tmp_path)
    grown.save_cache()
    [(key, stored)] = grown.new_entries.items()
    outside = tmp_path / "outside"  # the entry it was appended to, as good as it is, but not in the cache
    outside.write_bytes(first.new_entries[json.loads(stored)["appended_to"]])
    entry = json.loads(stored)
    entry["appended_to"] = {"a path up": "../../outside", "a path from the root": str(outside),
                            "itself": key}.get(appended_to, appended_to)
    (tmp_path / ".sitegen/records" / key).write_text(json.dumps(entry), encoding="utf-8")
    again = load_credentials(site, tmp_path)
    assert list(again.new_entries) == [key]  # read whole
    assert loaded_facts(again) == loaded_facts(load_credentials(site, None))
