"""Images in the lab, at the registry level: names, sources, registries, pushing, versions.

One entry point per use case:
- `sources.choose` / `sources.for_deck`: the image source of a run (mirror, hub or a URL);
- `push.push_saved` / `store`: images every lab can pull by name (the verb is verbs/catalog.py);
- `registry` / `versions`: what a registry holds now (the verb `outdated` is verbs/outdated.py).
"""
