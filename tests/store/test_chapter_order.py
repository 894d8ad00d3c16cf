"""Property test: any sequence of create / move / trash / restore keeps chapters numbered 1..n in
the order a simple list model predicts."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from story_store import Store

position = st.integers(min_value=1, max_value=8)
operation = st.one_of(
    st.tuples(st.just("create"), st.none() | position),
    st.tuples(st.just("move"), st.integers(0, 20), position),
    st.tuples(st.just("delete"), st.integers(0, 20)),
    st.tuples(st.just("restore"), st.integers(0, 20)),
)


class OrderModel:
    """The expected live order and, for trashed chapters, the place they left."""

    def __init__(self) -> None:
        self.live: list[int] = []
        self.trashed: dict[int, int] = {}

    def create(self, chapter_id: int, ordinal: int | None) -> None:
        place = len(self.live) + 1 if ordinal is None else min(ordinal, len(self.live) + 1)
        self.live.insert(place - 1, chapter_id)

    def move(self, chapter_id: int, ordinal: int) -> None:
        self.live.remove(chapter_id)
        self.live.insert(min(ordinal, len(self.live) + 1) - 1, chapter_id)

    def delete(self, chapter_id: int) -> None:
        self.trashed[chapter_id] = self.live.index(chapter_id) + 1
        self.live.remove(chapter_id)

    def restore(self, chapter_id: int) -> None:
        place = self.trashed.pop(chapter_id)
        self.live.insert(min(place, len(self.live) + 1) - 1, chapter_id)


def _apply(store: Store, project_id: int, model: OrderModel, op: tuple) -> None:
    kind = op[0]
    if kind == "create":
        model.create(store.create_chapter(project_id, ordinal=op[1]).id, op[1])
    elif kind == "move" and model.live:
        chapter_id = model.live[op[1] % len(model.live)]
        store.move_chapter(chapter_id, op[2])
        model.move(chapter_id, op[2])
    elif kind == "delete" and model.live:
        chapter_id = model.live[op[1] % len(model.live)]
        store.delete_chapter(chapter_id)
        model.delete(chapter_id)
    elif kind == "restore" and model.trashed:
        chapter_id = sorted(model.trashed)[op[1] % len(model.trashed)]
        store.restore_chapter(chapter_id)
        model.restore(chapter_id)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=st.lists(operation, max_size=15))
def test_chapter_order_matches_model(store: Store, operations: list[tuple]) -> None:
    project_id = store.create_project("order").id  # a fresh project per example
    model = OrderModel()
    for op in operations:
        _apply(store, project_id, model, op)
        chapters = store.list_chapters(project_id)
        assert [c.id for c in chapters] == model.live
        assert [c.ordinal for c in chapters] == list(range(1, len(model.live) + 1))
    trashed = {c.id for c in store.list_chapters(project_id, include_deleted=True) if c.deleted_at}
    assert trashed == set(model.trashed)
