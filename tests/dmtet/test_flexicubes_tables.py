"""``dmtet.flexicubes_tables`` derives FlexiCubes' tables from rules; pin them to kaolin's."""

from __future__ import annotations

import torch

from dmtet import flexicubes_tables as T

from . import flexicubes_published as P


def _published_dmc() -> list[list[list[int]]]:
    out = []
    for text in P.DMC:
        groups = [[int(e) for e in g.split(",")] for g in text.split("|")] if text else []
        rows = [g + [-1] * (7 - len(g)) for g in groups]
        out.append(rows + [[-1] * 7] * (4 - len(rows)))
    return out


def test_dmc_table_matches_kaolin_entry_for_entry():
    table = T.dmc_table()
    assert table.shape == (256, 4, 7) and table.dtype == torch.int64
    assert table.tolist() == _published_dmc()


def test_num_vd_table_matches_kaolin():
    assert T.num_vd_table().tolist() == list(P.NUM_VD)
    assert T.num_vd_table().tolist() == [sum(1 for r in rows if r[0] >= 0) for rows in _published_dmc()]


def test_check_table_matches_kaolin():
    expected = [list(P.CHECK.get(case, (0, 0, 0, 0, 0))) for case in range(256)]
    assert T.check_table().tolist() == expected
    assert len(P.CHECK) == 36


def test_tet_table_matches_kaolin():
    assert T.tet_table().tolist() == [list(r) for r in P.TET]


def test_groups_partition_the_crossing_edges():
    """Every crossing edge belongs to exactly one dual vertex; no other edge appears."""
    table = T.dmc_table().tolist()
    for case in range(256):
        crossing = sorted(
            e for e, (a, b) in enumerate(T.CUBE_EDGES) if ((case >> a) & 1) != ((case >> b) & 1)
        )
        listed = sorted(e for row in table[case] for e in row if e >= 0)
        assert listed == crossing, case


def test_complement_cases_have_the_same_crossing_edges_and_check_rows_are_symmetric():
    check = T.check_table().tolist()
    for case, row in enumerate(check):
        if row[0]:
            assert row[4] == 255 - case
            assert sum(abs(v) for v in row[1:4]) == 1


def test_tables_follow_the_device_argument():
    assert T.dmc_table("cpu").device.type == "cpu"
    assert T.tet_table(torch.device("cpu")).shape == (256, 6)
