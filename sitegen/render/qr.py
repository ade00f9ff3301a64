"""QR codes of credential URLs, fast: the qrcode package's codes, module for module.

    qr_matrix(text) -> rows of booleans (True: dark), quiet zone included
    qr_svg_path(text) -> the same code as one SVG path of horizontal runs

The qrcode package (pure Python) spends about 2.5 ms on each code: Reed-Solomon
arithmetic with polynomial objects, a bit buffer filled one bit at a time, and the fixed
patterns of the symbol drawn again for every code. Here the fixed patterns, and the order
and mask of the data cells, are worked out once per QR version (from qrcode's own pattern
code and tables), error correction uses log tables, and the data is placed in one pass: the
same matrix as `qrcode.QRCode(...).get_matrix()` for the same settings, about ten times
faster (tests/test_pdf_stamp.py compares them). Text that qrcode would split into numeric
or alphanumeric chunks (20 digits in a row, say) goes through qrcode itself.
"""

from __future__ import annotations

import functools

import qrcode
from qrcode import base, util

ERROR_CORRECTION = qrcode.constants.ERROR_CORRECT_M
# A fixed mask: searching the best of the eight costs ~12 ms per code in pure Python,
# and any mask is valid and decodes (the URL is printed beside every code anyway).
MASK = 4
QUIET_ZONE = 4  # modules of light margin around the code, as the QR standard asks
OPTIMIZE = 20  # qrcode.QRCode.add_data's default: chunks of other modes from 20 characters


def qr_matrix(text: str, border: int = QUIET_ZONE, mask: int = MASK,
              error_correction: int = ERROR_CORRECTION) -> list[list[bool]]:
    """The QR code of `text` (byte mode), as qrcode.QRCode(error_correction, border,
    mask_pattern=mask) with add_data(text) and make(fit=True) draws it."""
    data = text.encode("utf-8")
    chunks = list(util.optimal_data_chunks(data, minimum=OPTIMIZE))
    if len(chunks) != 1 or chunks[0].mode != util.MODE_8BIT_BYTE:
        return _by_qrcode(text, border, mask, error_correction)
    version = _version(len(data), error_correction)
    blank, cells, mask_bits, size = _symbol(version, error_correction, mask)
    codewords = _codewords(data, version, error_correction)
    # The data bits, then zeros for the cells left over, each cell's bit flipped by the mask.
    data_bits = int.from_bytes(bytes(codewords), "big") << (len(cells) - 8 * len(codewords))
    bits = f"{data_bits ^ mask_bits:0{len(cells)}b}"
    modules = blank[:]
    for cell, bit in zip(cells, bits):
        modules[cell] = bit == "1"
    width = size + 2 * border
    rows = [[False] * width for _ in range(border)]
    quiet = [False] * border
    rows += [quiet + modules[start:start + size] + quiet for start in range(0, size * size, size)]
    rows += [[False] * width for _ in range(border)]
    return rows


def qr_svg_path(text: str) -> tuple[int, str]:
    """The QR code of `text` as (size in modules, quiet zone included; an SVG path's `d`):
    one `M x,y H x2 V y2 H x z` rectangle per horizontal run of dark modules, so a code is
    a few hundred rectangles instead of a thousand squares."""
    rows = qr_matrix(text)
    rectangles = []
    for y, row in enumerate(rows):
        x = 0
        while x < len(row):
            if not row[x]:
                x += 1
                continue
            start = x
            while x < len(row) and row[x]:
                x += 1
            rectangles.append(f"M{start},{y}H{x}V{y + 1}H{start}z")
    return len(rows), "".join(rectangles)


def _by_qrcode(text: str, border: int, mask: int, error_correction: int) -> list[list[bool]]:
    code = qrcode.QRCode(error_correction=error_correction, border=border, mask_pattern=mask)
    code.add_data(text)
    code.make(fit=True)
    return code.get_matrix()


@functools.cache
def _version(length: int, error_correction: int) -> int:
    """The smallest version that holds `length` bytes: qrcode's best_fit."""
    code = qrcode.QRCode(error_correction=error_correction)
    code.add_data(util.QRData(b"\0" * length, mode=util.MODE_8BIT_BYTE, check_data=False))
    return code.best_fit()


@functools.cache
def _symbol(version: int, error_correction: int, mask: int):
    """The symbol before its data: the fixed patterns (row after row, None where data goes),
    the data cells in placement order, their mask bits (first cell highest) and the size;
    as QRCode.makeImpl and map_data lay them out."""
    code = qrcode.QRCode(version=version, error_correction=error_correction, mask_pattern=mask)
    size = code.modules_count = version * 4 + 17
    code.modules = [[None] * size for _ in range(size)]
    code.setup_position_probe_pattern(0, 0)
    code.setup_position_probe_pattern(size - 7, 0)
    code.setup_position_probe_pattern(0, size - 7)
    code.setup_position_adjust_pattern()
    code.setup_timing_pattern()
    code.setup_type_info(False, mask)
    if version >= 7:
        code.setup_type_number(False)
    mask_func = util.mask_func(mask)
    cells, mask_bits = [], 0
    row, step = size - 1, -1
    for column in range(size - 1, 0, -2):
        if column <= 6:
            column -= 1
        while True:
            for cell in (column, column - 1):
                if code.modules[row][cell] is None:
                    cells.append(row * size + cell)
                    mask_bits = (mask_bits << 1) | bool(mask_func(row, cell))
            row += step
            if row < 0 or row >= size:
                row -= step
                step = -step
                break
    return [module for row in code.modules for module in row], cells, mask_bits, size


def _codewords(data: bytes, version: int, error_correction: int) -> list[int]:
    """Data and error correction codewords, interleaved: util.create_data's."""
    blocks = base.rs_blocks(version, error_correction)
    limit = sum(block.data_count for block in blocks) * 8
    count_bits = util.length_in_bits(util.MODE_8BIT_BYTE, version)
    value = (util.MODE_8BIT_BYTE << count_bits) | len(data)
    value = (value << (8 * len(data))) | int.from_bytes(data, "big")
    length = 4 + count_bits + 8 * len(data)
    terminator = min(limit - length, 4)
    value, length = value << terminator, length + terminator
    padding = -length % 8
    value, length = value << padding, length + padding
    stream = list(value.to_bytes(length // 8, "big"))
    stream += [(util.PAD0, util.PAD1)[i % 2] for i in range((limit - length) // 8)]
    data_blocks, error_blocks, offset = [], [], 0
    for block in blocks:
        chunk = stream[offset:offset + block.data_count]
        offset += block.data_count
        data_blocks.append(chunk)
        error_blocks.append(_error_correction(chunk, block.total_count - block.data_count))
    interleaved = []
    for blocks_of_kind in (data_blocks, error_blocks):
        for i in range(max(len(b) for b in blocks_of_kind)):
            interleaved += [b[i] for b in blocks_of_kind if i < len(b)]
    return interleaved


def _error_correction(data: list[int], count: int) -> list[int]:
    """The remainder of data(x) * x^count divided by the generator: Reed-Solomon over
    GF(256), with the remainder as one integer of `count` bytes."""
    products = _generator_products(count)
    top = 8 * (count - 1)
    keep = (1 << top) - 1
    remainder = 0
    for codeword in data:
        factor = codeword ^ (remainder >> top)
        remainder = ((remainder & keep) << 8) ^ products[factor]
    return list(remainder.to_bytes(count, "big"))


@functools.cache
def _generator_products(count: int) -> tuple[int, ...]:
    """For each byte f, f times the generator's coefficients after the leading 1, as one
    integer (the generator is the product of (x - a^i) for i < count)."""
    polynomial = [1]
    for i in range(count):
        root = base.gexp(i)
        product = polynomial + [0]
        for j, coefficient in enumerate(polynomial):
            if coefficient:
                product[j + 1] ^= base.gexp(base.glog(coefficient) + base.glog(root))
        polynomial = product
    coefficients = polynomial[1:]
    return tuple(
        int.from_bytes(bytes(base.gexp(base.glog(factor) + base.glog(c)) if factor and c else 0
                             for c in coefficients), "big")
        for factor in range(256))
