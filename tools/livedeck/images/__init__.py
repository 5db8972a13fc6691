"""Images in the lab: where `docker pull` gets them, adding images, and which records are outdated.

One entry point per use case:
- `sources.choose` / `sources.for_deck`: the image source of a run (mirror, hub or a URL);
- `catalog.add_images` / `catalog.list_images`: images every lab can pull by name;
- `outdated.outdated`: decks whose recorded images changed upstream, without pulling.
"""
