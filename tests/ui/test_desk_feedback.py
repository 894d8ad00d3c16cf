"""Generation feedback: rate, ETA from the token limit, and finish lines without jargon, in both languages."""

from __future__ import annotations

from app.ui.desk.feedback import RunClock, figures, finish_line, progress_line


def test_rate_and_eta_come_from_the_tokens_and_the_limit():
    fig = figures(tokens=40, elapsed_s=4.0, max_tokens=200)
    assert fig.rate == 10.0 and fig.eta_s == 16.0
    assert figures(0, 0.0, 200).eta_s is None and figures(0, 2.0, 200).rate == 0.0
    assert RunClock(max_tokens=100, started=10.0).figures(50, now=15.0).eta_s == 5.0


def test_lines_say_what_happened_in_the_writers_language():
    fig = figures(tokens=40, elapsed_s=4.0, max_tokens=200)
    assert "40 / 200" in progress_line("en", fig, 200) and "16s" in progress_line("en", fig, 200)
    assert "词元/秒" in progress_line("zh", fig, 200)
    for reason in ("stop", "length", "cancelled", "error"):
        for language in ("en", "zh"):
            line = finish_line(language, reason, fig, error="boom")
            assert "length" not in line and "(stop)" not in line and "40" in line
    assert "boom" in finish_line("en", "error", fig, error="boom")
    assert "续写" in finish_line("zh", "length", fig)
