"""Desk endpoints through gradio_client: summarize-all reports progress, is resumable; search finds hits."""

from __future__ import annotations

import time


def _progress_seen(job, timeout_s: float = 180.0) -> list:
    """Every progress update the client saw while the job ran."""
    seen, deadline = [], time.monotonic() + timeout_s
    while not job.done() and time.monotonic() < deadline:
        status = job.status()
        if status.progress_data:
            seen.append([(p.index, p.length, p.desc) for p in status.progress_data])
        time.sleep(0.05)
    return seen


def test_summarize_all_reports_progress_and_resumes(running, client, make_fast):
    studio = running.studio
    project = studio.library.create_project("摘要全书", language="zh")
    make_fast(project.id)
    ids = []
    for i, text in enumerate(["少年下山。", "", "师姐来信。", "大雪封山。"]):
        chapter = studio.chapters.add_chapter(project.id, title=f"第{i + 1}章")
        if text:
            studio.chapters.save_chapter(chapter.id, text, 0)
        ids.append(chapter.id)
    studio.chapters.update_chapter_meta(ids[3], summary="已有的摘要")  # kept, not redone

    job = client.submit(project.id, api_name="/summarize_all")
    seen = _progress_seen(job)
    said = job.result(timeout=60)
    assert seen and any(step and step[0][1] == 2 for step in seen)  # two chapters to do (text, no summary)
    summaries = [studio.chapters.get_chapter(i).summary for i in ids]
    assert summaries[0].strip() and summaries[2].strip() and summaries[1] == "" and summaries[3] == "已有的摘要"
    assert "2" in said

    again = client.predict(project.id, api_name="/summarize_all")  # resumable: nothing left to do
    assert "0" in again and [studio.chapters.get_chapter(i).summary for i in ids] == summaries


def test_search_book_endpoint_marks_the_query(running, client):
    studio = running.studio
    project = studio.library.create_project("Lamps", language="en")
    chapter = studio.chapters.add_chapter(project.id, title="Three")
    studio.chapters.save_chapter(chapter.id, "The <b>bronze lamp</b> woke at midnight.", 0)
    shown, hits = client.predict(project.id, "bronze lamp", api_name="/search_book")
    assert "<mark>bronze</mark> <mark>lamp</mark>" in shown and "&lt;b&gt;" in shown  # the book's text is escaped
    assert hits["choices"] and hits["choices"][0][1].startswith(f"{chapter.id}:")


def _big_manuscript(tmp_path, chapters: int = 800) -> str:
    body = "".join(f"第{n}章 山门\n\n" + "风从山谷吹来，松涛阵阵，少年站在石阶下。" * 120 + "\n\n" for n in range(1, chapters + 1))
    path = tmp_path / "长篇.txt"
    path.write_text(body, encoding="utf-8")
    return str(path)


def test_manuscript_import_and_book_export_report_their_stages(running, client, tmp_path):
    from gradio_client import handle_file

    studio = running.studio
    project = studio.library.create_project("长篇", language="zh")
    job = client.submit(project.id, handle_file(_big_manuscript(tmp_path)), "append", api_name="/import_manuscript")
    seen = _progress_seen(job)
    said = job.result(timeout=180)
    assert len(studio.chapters.list_chapters(project.id)) == 800 and "800" in said[0]
    assert seen and all(0 <= step[0][0] < step[0][1] for step in seen if step[0][0] is not None)

    job = client.submit(project.id, None, "book", "epub", True, True, api_name="/export_book")
    seen = _progress_seen(job)
    assert job.result(timeout=180).endswith(".epub")
    assert seen and {step[0][1] for step in seen} == {2}  # gathering, then writing the file
