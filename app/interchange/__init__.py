"""Every file format Inkstone reads or writes, as pure bytes ↔ plain-data functions.

A leaf package used by the studio (app.studio.exchange): it imports nothing of Inkstone's other
layers (no store, no UI, no engine, no Gradio or SQL), so each format can be tested on its own.
- `cards`: Character Card V1/V2/V3 (SillyTavern), JSON or PNG;
- `lorebooks`: SillyTavern World Info, NovelAI `.lorebook`, a card's `character_book`;
- `manuscript`: a .md/.txt manuscript → chapters;
- `exports`: Markdown / EPUB / plain-text book exports and safe export file names.
"""
